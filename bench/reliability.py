"""Reliability of a recorded show: what a 10-minute show loses to studios dropping and the
database restarting.

A real server (`telebridge serve --demo`) on a throw-away PostgreSQL records a 2-studio show
(two aiortc studios, 640x360 at 30 fps with a tone, joined as consoles do). Every minute one
studio drops (its peer connection closed without a goodbye, as a cut cable) and joins again
5 s later, the two taking turns; halfway, PostgreSQL is stopped for 10 s and started again.
At the end the recording is stopped by hand and the bench reports what was lost:

- program: seconds of the recording's wall time missing from `program.mp4`, and the worst gap
  between two of its frames (and between two of its audio packets);
- files: the program and each studio's own feed expected in the archive, and those missing;
- audit lines: the studio joins and leaves that happened, and those missing from the booking's
  audit log (written through the database outage by the audit outbox).

Goals (issue 12): 0 s of program, 0 files, 0 audit lines lost.

    .venv/bin/python bench/reliability.py [--minutes 10]   (as root: enters a network namespace)
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
from bench.monitor_load import _join  # noqa: E402
from bench.netns import ensure_netns  # noqa: E402
from harness.api import api, book  # noqa: E402
from harness.peer_close import close_peer  # noqa: E402
from harness.server import producer_token, running_server  # noqa: E402

DROP_EVERY_S = 60.0
AWAY_S = 5.0
DATABASE_DOWN_S = 10.0
SHADES = {"trend": 40, "ansa": 200}


def _gaps(path: Path) -> tuple[float, float, float]:
    """Seconds of video in the file, its worst gap between frames, and between audio packets."""
    import av

    worst = {"video": 0.0, "audio": 0.0}
    first = last = None
    with av.open(str(path)) as container:
        for stream in (container.streams.video[0], *container.streams.audio[:1]):
            base = stream.time_base or Fraction(1, 90000)
            previous = None
            times = sorted(
                float(p.pts * base) for p in container.demux(stream) if p.pts is not None and p.size
            )
            container.seek(0)
            for t in times:
                if previous is not None:
                    worst[stream.type] = max(worst[stream.type], t - previous)
                previous = t
            if stream.type == "video" and times:
                first, last = times[0], times[-1]
    span = (last - first) if first is not None and last is not None else 0.0
    return span, worst["video"], worst["audio"]


async def _show(
    base: str, token: str, links: dict[str, str], pg: Any, minutes: float
) -> dict[str, Any]:
    booking = next(iter(links.values())).split("/join/", 1)[1].split("/", 1)[0]
    peers = {sid: (await _join(base, url, SHADES[sid]))[0] for sid, url in links.items()}
    loop = asyncio.get_running_loop()

    def recording() -> bool:
        doc = api(base, token, "GET", "/api/live")
        rooms = [r for r in doc.get("rooms", []) if r.get("booking_id") == booking]
        return bool(rooms and rooms[0].get("recording"))

    deadline = time.monotonic() + 60
    while not await loop.run_in_executor(None, recording):
        if time.monotonic() > deadline:
            raise SystemExit("the show did not start recording")
        await asyncio.sleep(0.5)
    started = time.monotonic()
    print(f"recording since t=0; {minutes:g} min with a drop every {DROP_EVERY_S:.0f} s")
    drops, studio_ids = 0, list(links)
    half_done = False
    end = started + minutes * 60
    half = started + minutes * 30
    while True:
        next_drop = started + (drops + 1) * DROP_EVERY_S
        if not half_done and half <= min(next_drop, end):
            await asyncio.sleep(max(0.0, half - time.monotonic()))
            half_done = True
            print(f"t={time.monotonic() - started:5.0f} s  database stopped")
            await loop.run_in_executor(None, pg.stop)
            await asyncio.sleep(DATABASE_DOWN_S)
            await loop.run_in_executor(None, pg.start)
            print(f"t={time.monotonic() - started:5.0f} s  database started again")
            continue
        if next_drop >= end:
            break
        await asyncio.sleep(max(0.0, next_drop - time.monotonic()))
        sid = studio_ids[drops % 2]
        drops += 1
        await peers[sid].close()  # no goodbye: the server notices the silence
        print(f"t={time.monotonic() - started:5.0f} s  {sid} dropped")
        await asyncio.sleep(AWAY_S)
        peers[sid] = (await _join(base, links[sid], SHADES[sid]))[0]
        print(f"t={time.monotonic() - started:5.0f} s  {sid} back")
    await asyncio.sleep(max(0.0, end - time.monotonic()))
    wall = time.monotonic() - started
    # Answered once every file is finalized: minutes of program take a while to remux and hash.
    await loop.run_in_executor(
        None, lambda: api(base, token, "POST", f"/api/bookings/{booking}/recording/stop", None, 600)
    )
    for pc in peers.values():
        await close_peer(pc)
    return {"booking": booking, "wall_s": wall, "drops": drops}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=10.0)
    args = parser.parse_args()
    ensure_netns()
    from pg_server import running_pg

    with (
        tempfile.TemporaryDirectory() as tmp,
        running_pg(durable=True) as pg,
    ):
        pg.sql("CREATE DATABASE reliability")
        settings = {"TELEBRIDGE_DATABASE_URL": pg.url("reliability")}
        with running_server(Path(tmp), settings) as server:
            token = producer_token(server.data, settings)
            links = book(
                server.base,
                token,
                list(SHADES),
                timedelta(seconds=20),
                title="Reliability",
            )
            out = asyncio.run(_show(server.base, token, links, pg, args.minutes))
            booking = out["booking"]
            recordings = api(server.base, token, "GET", f"/api/recordings?booking={booking}")
            audit = api(server.base, token, "GET", f"/api/bookings/{booking}/audit")
            (recording,) = recordings["recordings"]
            program = server.data / "recordings" / booking / recording["id"] / "program.mp4"
            found = _gaps(program) if program.exists() else (0.0, 0.0, 0.0)
    span, worst_video, worst_audio = found
    files = {f["name"]: f for f in recording["files"]}
    expected = {"program.mp4", *(f"iso-{sid}.webm" for sid in SHADES)}
    actions = [e["action"] for e in audit["events"]]
    joins = sum(1 for a in actions if a == "studio joined")
    leaves = sum(1 for a in actions if a == "studio left")
    want_joins = len(SHADES) + out["drops"]
    print()
    print(f"reliability of a {out['wall_s'] / 60:.1f}-minute recorded show, {out['drops']} drops,")
    print(f"the database down {DATABASE_DOWN_S:.0f} s once (goals: nothing lost)")
    print(
        f"program  {span:7.1f} s in program.mp4 of {out['wall_s']:.1f} s recorded: "
        f"{max(0.0, out['wall_s'] - span):.1f} s lost; worst gap {worst_video * 1000:.0f} ms "
        f"(video), {worst_audio * 1000:.0f} ms (audio)"
    )
    print(
        f"files    {len(expected & files.keys())} of {len(expected)} listed; missing: "
        f"{sorted(expected - files.keys()) or 'none'}"
    )
    print(
        f"audit    {joins} of {want_joins} joins and {leaves} of at least {out['drops']} leaves "
        f"logged; missing: {max(0, want_joins - joins) + max(0, out['drops'] - leaves)}"
    )


if __name__ == "__main__":
    main()
