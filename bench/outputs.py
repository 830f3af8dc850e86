"""Live outputs: CPU added per output, HLS under 200 clients, and HLS segment latency.

1. A 720p30 program of two studios (textured, moving 1280x720 frames fed at 30 fps, silent
   sound; no WebRTC) runs in this process. CPU seconds per second (this process plus the
   outputs' children, ffmpeg or srt-live-transmit; never the destination's nginx or ffmpeg)
   are measured for the program alone and with one RTMP output (to nginx-rtmp), one SRT
   caller output (to an ffmpeg listener) and one HLS output (into a temporary directory).
   Baselines alternate with the outputs (baseline, rtmp, baseline, srt, baseline, hls,
   baseline) and each output's figure is its phase minus the mean of the two baselines around
   it: the machine is noisy.
2. A real server (`telebridge serve --demo`) with a public booking, two aiortc studios joined
   and its HLS output on air; 200 clients (in a separate process) each reload the playlist every
   second: first the playlist only (what the app itself serves when a CDN or the nginx cache of
   deploy/nginx.conf carries the segments: the issue's goal, loop lag < 50 ms), then as full
   players that also fetch every new segment from the app. Printed: requests served per second,
   playlist response times, and the server's event-loop lag from its /metrics, before and
   during each.
3. Meanwhile, for every new segment: how long after its #EXT-X-PROGRAM-DATE-TIME (its first
   frame) it appears in the playlist, i.e. how far behind live it is when a player can get it
   (hls.js holds ~3 s more on top, liveSyncDuration 3).

    .venv/bin/python bench/outputs.py [--seconds 15] [--clients 200] [--load-seconds 20]
        [--load-only | --cpu-only]
    (as root: part 2 runs WebRTC inside a private network namespace; needs Debian's ffmpeg,
    nginx-light and libnginx-mod-rtmp)
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import resource
import statistics
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import av
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.netns import ensure_netns  # noqa: E402
from bridge.outputs.base import ProgramSource  # noqa: E402
from bridge.outputs.manager import Outputs  # noqa: E402
from bridge.outputs.ts_pipe import TsPipe  # noqa: E402
from bridge.program.engine import ProgramFormat  # noqa: E402
from bridge.program.production import Production  # noqa: E402
from bridge.spec import OutputKind, OutputState, OutputTarget  # noqa: E402
from harness.api import api  # noqa: E402
from harness.peer_close import close_peer  # noqa: E402
from harness.rtmp_server import Receiver, RtmpServer, available, udp_taken  # noqa: E402
from harness.server import free_port, producer_token, running_server  # noqa: E402

W, H, FPS = 1280, 720, 30
LOOP_FRAMES = 60
GOAL_CPU = 0.02  # CPU-s/s per output
METRICS_TIMEOUT_S = 10.0
GOAL_LAG_MS = 50.0
TICK = os.sysconf("SC_CLK_TCK")

# --- 1. CPU per output ------------------------------------------------------------------


def _frames(count: int) -> list[list[av.VideoFrame]]:
    """`count` studios' 2-second loops of textured, moving 720p frames (yuv420p)."""
    rng = np.random.default_rng(11)
    studios = []
    for s in range(count):
        base = rng.integers(0, 255, (H // 8, W // 8, 3), dtype=np.uint8)
        frames = []
        for i in range(LOOP_FRAMES):
            rgb = np.roll(base, i + s * 7, axis=1).repeat(8, axis=0).repeat(8, axis=1)
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            frames.append(frame.reformat(format="yuv420p"))
        studios.append(frames)
    return studios


def _cpu_self() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


# The outputs' child processes: ffmpeg for RTMP, srt-live-transmit for SRT (as /proc's comm
# has it: 15 characters).
OUTPUT_CHILDREN = ("ffmpeg", "srt-live-transmit"[:15])


def _output_children(exclude: set[int]) -> dict[int, float]:
    """CPU seconds so far of every output child whose parent is this process (bar `exclude`)."""
    me, found = os.getpid(), {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) in exclude:
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:  # it exited meanwhile
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        # After the comm: state, ppid, ... utime is field 14 of stat, stime 15 (1-based).
        if comm in OUTPUT_CHILDREN and int(fields[1]) == me:
            found[int(entry)] = (int(fields[11]) + int(fields[12])) / TICK
    return found


# The threads an output runs in this process: the HLS output's segment writer (a recorder). A
# push output's MPEG-TS writer runs on the event loop and counts its own CPU (TsPipe.cpu_seconds).
OUTPUT_THREADS = ("recorder-",)


def _output_threads() -> dict[int, float]:
    """CPU seconds so far of this process's output threads, by native thread id (Python's
    thread names are not the kernel's before 3.14: they are matched here, the CPU read from
    /proc by the thread's native id)."""
    found = {}
    for thread in threading.enumerate():
        if not thread.name.startswith(OUTPUT_THREADS) or thread.native_id is None:
            continue
        try:
            stat = Path(f"/proc/self/task/{thread.native_id}/stat").read_text()
        except OSError:  # it ended meanwhile
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        found[thread.native_id] = (int(fields[11]) + int(fields[12])) / TICK
    return found


class Meter:
    """CPU of this process plus its outputs' children over a stretch; and what of it
    the outputs' own threads and children spent (their share, measured, not subtracted)."""

    def __init__(self, exclude: set[int]) -> None:
        self.exclude = exclude

    async def measure(self, seconds: float) -> tuple[float, float, float]:
        cpu0, kids0, t0 = _cpu_self(), _output_children(self.exclude), time.monotonic()
        threads0, muxing0 = _output_threads(), TsPipe.cpu_seconds
        await asyncio.sleep(seconds)
        cpu1, kids1, t1 = _cpu_self(), _output_children(self.exclude), time.monotonic()
        threads1, muxing1 = _output_threads(), TsPipe.cpu_seconds
        # A child or thread that started during the stretch counts from 0; one that ended is
        # lost (the outputs are live throughout a measured stretch, so none should).
        kids = sum(end - kids0.get(pid, 0.0) for pid, end in kids1.items())
        threads = sum(end - threads0.get(tid, 0.0) for tid, end in threads1.items())
        threads += muxing1 - muxing0
        span = t1 - t0
        return (cpu1 - cpu0 + kids) / span, kids / span, threads / span


async def _feed(production: Production, studios: list[list[av.VideoFrame]]) -> None:
    """Each studio's picture at 30 fps, as a decoded WebRTC track would bring it."""
    start, n = time.monotonic(), 0
    while True:
        for i, frames in enumerate(studios):
            production.engine.update(i, frames[n % LOOP_FRAMES])
        n += 1
        await asyncio.sleep(max(0.0, start + n / FPS - time.monotonic()))


async def _live(outputs: Outputs, output_id: str, within: float = 20.0) -> None:
    end = time.monotonic() + within
    while time.monotonic() < end:
        for f in outputs.figures():
            if f.id == output_id and f.state is OutputState.LIVE:
                return
        await asyncio.sleep(0.2)
    print(f"  (output {output_id} not live after {within:.0f} s: {outputs.figures()})")


async def cpu_per_output(seconds: float, tmp: Path) -> None:
    studios = _frames(2)
    holder: dict[str, Outputs] = {}

    def make(engine: Any, audio: Any) -> Outputs:
        holder["o"] = Outputs(ProgramSource(engine, audio))
        return holder["o"]

    labels = ["Studio 1 · Baku", "Studio 2 · Istanbul"]
    production = Production(["a", "b"], labels, ProgramFormat(W, H, FPS), make)
    outputs = holder["o"]
    production.start()
    # The program is composed only while used (bridge.program.demand): the baselines hold it.
    composed = production.engine.demand.claim("the bench's baseline")
    feeder = asyncio.ensure_future(_feed(production, studios))
    rtmp = RtmpServer(tmp / "nginx")
    rtmp.start()
    srt_port = free_port()
    receiver = Receiver(f"srt://127.0.0.1:{srt_port}?mode=listener", tmp / "srt.ts")
    receiver.launch()
    for _ in range(100):  # the listener bound its port
        if udp_taken(srt_port):
            break
        await asyncio.sleep(0.1)
    assert receiver._process is not None
    meter = Meter({receiver._process.pid})
    targets = {
        "rtmp": OutputTarget("rtmp", OutputKind.RTMP, rtmp.url, key="bench"),
        "srt": OutputTarget("srt", OutputKind.SRT, f"srt://127.0.0.1:{srt_port}"),
        "hls": OutputTarget("hls", OutputKind.HLS),
    }
    baselines: list[float] = []
    results: dict[str, tuple[float, float, float, Any]] = {}
    try:
        await asyncio.sleep(3.0)  # the program settled
        baselines.append((await meter.measure(seconds))[0])
        for name, target in targets.items():
            await outputs.start(target, tmp / "hls")
            await _live(outputs, name)
            await asyncio.sleep(2.0)  # past the start's keyframe and connection
            cpu, child, threads = await meter.measure(seconds)
            figures = next(f for f in outputs.figures() if f.id == name)
            results[name] = (cpu, child, threads, figures)
            await outputs.stop(name)
            await asyncio.sleep(2.0)
            baselines.append((await meter.measure(seconds))[0])
    finally:
        feeder.cancel()
        composed.release()
        await production.close()
        receiver.stop()
        rtmp.stop()
    print(f"1. CPU per output, 720p30 program of 2 studios, {seconds:.0f} s per phase")
    print("   added: the phase less its baselines (noisy); own: what the output's threads and")
    print("   child process spent, measured (a push output's muxing and writing on the event loop")
    print("   included, the taps' hand-over of packets not)")
    print(
        f"   {'phase':<18}{'CPU-s/s':>9}{'added':>9}{'own':>8}  {'goal':>7}  state, bitrate at end"
    )
    print(
        f"   {'program alone':<18}{statistics.mean(baselines):9.3f}{'':>17}  {'':>7}  "
        f"baselines {', '.join(f'{b:.3f}' for b in baselines)}"
    )
    for i, (name, (cpu, child, threads, f)) in enumerate(results.items()):
        added = cpu - (baselines[i] + baselines[i + 1]) / 2
        own = child + threads
        verdict = "ok" if own <= GOAL_CPU else "OVER"
        rate = f"{f.bitrate_kbps:.0f} kbps" if f.bitrate_kbps is not None else "no bitrate"
        print(
            f"   {'+ ' + name.upper():<18}{cpu:9.3f}{added:+9.3f}{own:8.3f}  <={GOAL_CPU:.2f} "
            f"{verdict:<4} {f.state.value}, {rate}, live {f.live_seconds:.0f} s, "
            f"retries {f.retries}; own = child {child:.3f} + ours {threads:.3f}"
        )


# --- 2. and 3. HLS under load -----------------------------------------------------------


def _clients(url: str, count: int, seconds: float, segments: bool, out: Any) -> None:
    """Runs in its own process: `count` clients reloading the playlist `url` every second for
    `seconds`; with `segments`, each also fetches every new segment, as a player does."""

    async def run() -> None:
        import aiohttp

        playlist_ms: list[float] = []
        errors = [0]
        requests = [0]
        got_bytes = [0]

        async def one(http: aiohttp.ClientSession, end: float) -> None:
            await asyncio.sleep(random.random())
            seen: set[str] = set()
            while time.monotonic() < end:
                t0 = time.monotonic()
                try:
                    async with http.get(url) as r:
                        text = await r.text()
                        ok = r.status == 200
                except aiohttp.ClientError:
                    ok, text = False, ""
                requests[0] += 1
                if not ok:
                    errors[0] += 1
                else:
                    playlist_ms.append((time.monotonic() - t0) * 1000)
                    names = [x for x in text.splitlines() if x and not x.startswith("#")]
                    names = names if segments else []
                    new = [n for n in names if n not in seen]
                    if not seen:
                        new = new[-1:]  # a player starts near live
                    seen.update(names)
                    for name in new:
                        try:
                            async with http.get(url.rsplit("/", 1)[0] + "/" + name) as r:
                                got_bytes[0] += len(await r.read())
                                requests[0] += 1
                                errors[0] += r.status != 200
                        except aiohttp.ClientError:
                            errors[0] += 1
                await asyncio.sleep(max(0.0, t0 + 1.0 - time.monotonic()))

        connector = aiohttp.TCPConnector(limit=0)
        timeout = aiohttp.ClientTimeout(total=30)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
            t0 = time.monotonic()
            end = t0 + seconds
            await asyncio.gather(*(one(http, end) for _ in range(count)))
            elapsed = time.monotonic() - t0
        out.put(
            {
                "playlist_ms": playlist_ms,
                "requests": requests[0],
                "errors": errors[0],
                "bytes": got_bytes[0],
                "elapsed": elapsed,
            }
        )

    asyncio.run(run())


def _metrics(base: str, token: str) -> dict[str, float]:
    req = urllib.request.Request(base + "/metrics", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=METRICS_TIMEOUT_S) as r:
        text = r.read().decode()
    found = {}
    for line in text.splitlines():
        for name in ("telebridge_event_loop_lag_seconds", "telebridge_event_loop_lag_max_seconds"):
            if line.startswith(name + " "):
                found[name] = float(line.split()[1]) * 1000
    return found


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read().decode()
    except OSError:
        return 0, ""


async def _watch(base: str, token: str, url: str, seconds: float) -> dict[str, list[float]]:
    """Per second the server's loop lag; every 0.1 s the playlist, for new segments' delay."""
    loop = asyncio.get_running_loop()
    lags: list[float] = []
    delays: list[float] = []
    answered: list[float] = []
    known: set[str] = set()
    first = True
    end, next_metrics = time.monotonic() + seconds, time.monotonic() + 1.0
    while time.monotonic() < end:
        # The playlist was asked for at `sent` and answered at `now`: the segment was listed
        # in between (a slow answer under load widens the gap).
        sent = datetime.now().astimezone()
        status, text = await loop.run_in_executor(None, _get, url)
        now = datetime.now().astimezone()
        if status == 200:
            date = None
            for line in text.splitlines():
                if line.startswith("#EXT-X-PROGRAM-DATE-TIME:"):
                    date = datetime.fromisoformat(line.split(":", 1)[1].replace("Z", "+00:00"))
                elif line and not line.startswith("#"):
                    if line not in known and not first and date is not None:
                        delays.append((sent - date).total_seconds())
                        answered.append((now - date).total_seconds())
                    known.add(line)
            first = False
        if time.monotonic() >= next_metrics:
            next_metrics += 1.0
            try:
                m = await loop.run_in_executor(None, _metrics, base, token)
            except OSError:  # no answer within 10 s: the loop lagged at least that much
                m = {"telebridge_event_loop_lag_seconds": METRICS_TIMEOUT_S * 1000}
            lags.append(m.get("telebridge_event_loop_lag_seconds", 0.0))
        await asyncio.sleep(0.1)
    return {"lag_ms": lags, "delay_s": delays, "answered_s": answered}


async def _on_air(base: str, token: str) -> tuple[str, list[Any]]:
    """A public booking in its line check, two aiortc studios joined, its HLS output live."""
    from bench.monitor_load import _join  # the console's signalling, as in that bench

    start = datetime.now().astimezone() + timedelta(minutes=5)
    booking = api(
        base,
        token,
        "POST",
        "/api/bookings",
        {
            "title": "HLS load",
            "studios": ["trend", "dha"],
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=1)).isoformat(),
            "setup_minutes": 15,
            "stream": "public",
        },
    )["booking"]
    bid = booking["id"]
    links = {
        link["studio"]: link["url"]
        for link in api(base, token, "GET", f"/api/bookings/{bid}/join-links")["links"]
    }
    output = api(base, token, "POST", f"/api/bookings/{bid}/outputs", {"kind": "hls", "name": "W"})
    output_id = output["output"]["id"]
    peers = []
    for studio, shade in (("trend", 60), ("dha", 190)):
        pc, _track = await _join(base, links[studio], shade)
        peers.append(pc)
    loop = asyncio.get_running_loop()
    path = f"/api/bookings/{bid}/outputs/{output_id}/start"
    for _ in range(60):  # 409 while the room is not open yet
        try:
            await loop.run_in_executor(None, api, base, token, "POST", path)
            break
        except urllib.error.HTTPError as exc:
            if exc.code != 409:
                raise
            await asyncio.sleep(0.5)
    url = f"{base}/live/{bid}/index.m3u8"
    for _ in range(120):
        if (await loop.run_in_executor(None, _get, url))[0] == 200:
            break
        await asyncio.sleep(0.5)
    else:
        raise RuntimeError("the playlist never answered 200")
    return url, peers


async def hls_load(base: str, token: str, clients: int, seconds: float) -> dict[str, Any]:
    """Loop lag and segment delay with no clients, with `clients` reloading the playlist only
    (what the app serves behind a CDN or deploy/nginx.conf's cache, and the issue's goal), and
    with `clients` full players fetching every segment from the app itself too."""
    url, peers = await _on_air(base, token)
    loop = asyncio.get_running_loop()
    out: dict[str, Any] = {}
    try:
        await asyncio.sleep(4.0)
        out["before"] = await loop.run_in_executor(None, _metrics, base, token)
        out["quiet"] = await _watch(base, token, url, 12.0)
        for phase, segments in (("playlist", False), ("players", True)):
            queue: Any = multiprocessing.Queue()
            proc = multiprocessing.Process(
                target=_clients, args=(url, clients, seconds, segments, queue)
            )
            proc.start()
            await asyncio.sleep(1.5)  # every client started
            out[phase] = await _watch(base, token, url, seconds - 2.0)
            out[f"{phase}_clients"] = await loop.run_in_executor(None, queue.get, True, 60)
            proc.join(timeout=30)
        out["after"] = await loop.run_in_executor(None, _metrics, base, token)
    finally:
        for pc in peers:
            await close_peer(pc)
    return out


PHASES = {
    "quiet": "no clients",
    "playlist": "playlist only",
    "players": "full players",
}


def _report_load(out: dict[str, Any], clients: int, seconds: float) -> None:
    print(f"2. HLS under {clients} clients for {seconds:.0f} s each (the playlist every 1 s)")
    for phase in ("playlist", "players"):
        c = out[f"{phase}_clients"]
        ms = sorted(c["playlist_ms"]) or [0.0]
        p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
        print(
            f"   {PHASES[phase]:<13} served {c['requests'] / c['elapsed']:.0f} requests/s"
            f" ({c['errors']} errors), {c['bytes'] / c['elapsed'] / 1e6:.1f} MB/s of segments;"
            f" playlist p50 {statistics.median(ms):.1f} ms, p95 {p95:.1f} ms"
        )
    for phase, label in PHASES.items():
        lag = out[phase]["lag_ms"] or [0.0]
        verdict = "ok" if max(lag) < GOAL_LAG_MS else "OVER"
        print(
            f"   server loop lag, {label:<13} median {statistics.median(lag):5.1f} ms,"
            f" max {max(lag):5.1f} ms (goal < {GOAL_LAG_MS:.0f} ms: {verdict})"
        )
    key = "telebridge_event_loop_lag_max_seconds"
    print(
        f"   worst loop lag since server start: {out['before'].get(key, 0):.1f} ms before the"
        f" clients, {out['after'].get(key, 0):.1f} ms after"
    )
    print(
        "3. HLS segment latency: wall clock when first seen listed minus its"
        " PROGRAM-DATE-TIME (at the request; at its answer)"
    )
    for phase, label in PHASES.items():
        d = out[phase]["delay_s"]
        if d:
            print(
                f"   {label:<13} {len(d)} segments: median {statistics.median(d):.2f} s,"
                f" min {min(d):.2f} s, max {max(d):.2f} s; at the answer median"
                f" {statistics.median(out[phase]['answered_s']):.2f} s"
            )
        else:
            print(f"   {label:<13} no new segment seen")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=15.0, help="per CPU phase")
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--load-seconds", type=float, default=20.0)
    parser.add_argument("--load-only", action="store_true", help="only parts 2 and 3")
    parser.add_argument("--cpu-only", action="store_true", help="only part 1")
    args = parser.parse_args()
    why = available()
    if why is not None:
        sys.exit(why)
    ensure_netns()
    if not args.load_only:
        with tempfile.TemporaryDirectory() as tmp:
            asyncio.run(cpu_per_output(args.seconds, Path(tmp)))
    if args.cpu_only:
        return
    with tempfile.TemporaryDirectory() as tmp, running_server(Path(tmp)) as server:
        token = producer_token(server.data)
        out = asyncio.run(hls_load(server.base, token, args.clients, args.load_seconds))
    _report_load(out, args.clients, args.load_seconds)


if __name__ == "__main__":
    main()
