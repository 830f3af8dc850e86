"""Booking API figures: latency of a booking (conflict check + insert + audit) and of a refused
conflict, as the number of stored bookings grows. Real app, real SQLite, HTTP over loopback.

    .venv/bin/python bench/booking_api.py [--sizes 0,1000,10000] [--requests 200]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
from aiohttp import web

from schedules.timeutil import utc_now
from web.access.security import new_token, token_digest
from web.app import make_app
from web.demo import PARTNER_STUDIOS, seed_demo
from web.services import ACCOUNTS, BOOKINGS
from web.settings import Settings

STUDIOS = [s["id"] for s in PARTNER_STUDIOS]


def _slot(i: int, base: datetime) -> tuple[str, str]:
    start = base + timedelta(hours=2 * i)
    return start.isoformat(), (start + timedelta(hours=1)).isoformat()


async def _fill(app: web.Application, n: int, base: datetime) -> None:
    """Store n bookings directly through the service (fast set-up, same rows as the API's)."""
    svc = app[BOOKINGS]
    for i in range(n):
        s, e = _slot(i, base)
        pair = [STUDIOS[i % len(STUDIOS)], STUDIOS[(i + 1) % len(STUDIOS)]]
        await svc.create(
            {"title": f"fill {i}", "studios": pair, "starts_at": s, "ends_at": e}, "bench"
        )


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


async def run(size: int, requests: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.load({}, data_dir=Path(tmp), secret="bench")
        app = await make_app(settings)
        await seed_demo(app[BOOKINGS], app[ACCOUNTS], utc_now())
        token = new_token()
        await app[ACCOUNTS].add_token(token_digest(token), "bench", "producer", datetime.now(UTC))
        base = utc_now().replace(minute=0, second=0, microsecond=0) + timedelta(days=2)
        await _fill(app, size, base)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        url = f"http://127.0.0.1:{port}/api/bookings"
        headers = {"Authorization": f"Bearer {token}"}
        ok, refused = [], []
        far = base + timedelta(days=400)
        cpu0 = time.process_time()
        wall0 = time.perf_counter()
        async with aiohttp.ClientSession(headers=headers) as http:
            for i in range(requests):
                s, e = _slot(i, far)
                body = {
                    "title": f"bench {i}",
                    "studios": ["trend", "dha"],
                    "starts_at": s,
                    "ends_at": e,
                }
                t0 = time.perf_counter()
                async with http.post(url, json=body) as r:
                    assert r.status == 201, await r.text()
                ok.append((time.perf_counter() - t0) * 1000)
                t0 = time.perf_counter()
                async with http.post(url, json=body) as r:  # the same slot again: a conflict
                    assert r.status == 409, await r.text()
                refused.append((time.perf_counter() - t0) * 1000)
        wall = time.perf_counter() - wall0
        cpu = time.process_time() - cpu0
        await runner.cleanup()
        print(
            f"stored={size:>6}  booked p50 {statistics.median(ok):6.2f} ms  p95 "
            f"{_pct(ok, 0.95):6.2f} ms | refused p50 {statistics.median(refused):6.2f} ms  p95 "
            f"{_pct(refused, 0.95):6.2f} ms | {2 * requests / wall:6.0f} req/s, "
            f"{cpu / (2 * requests) * 1000:5.2f} CPU-ms/req (client and server in one process)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="0,1000,10000")
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    for size in (int(x) for x in args.sizes.split(",")):
        asyncio.run(run(size, args.requests))


if __name__ == "__main__":
    main()
