"""Rooms per node: how many 2-studio rooms one bridge process carries, relay-only and composed.

A load generator publishes a pre-encoded 720p30 VP8 + Opus file (made once per run by Debian's
ffmpeg, `harness/vp8_file.py`) without encoding anything, and joins N 2-studio rooms, N = 1, 2,
3, ..., until a partner's picture drops (below 28 fps received, or over 1 % of its packets
lost) or the bridge's event loop lags (p95 of a 10 ms probe over 50 ms); with the program, also
when the return feed the consoles receive drops below 28 fps. Each studio is one send-receive
peer connection like a console: it sends the file and receives its partner (and, in composed
rooms, the program back). The bridge (`bridge.room.Room`, as web opens it, with master
control's once-a-second `live_snapshot` of every room; `bench/bridge_process.py`) runs in a
process of its own, the consoles in generator processes beside it (a few rooms each,
`bench/console_generator.py`), so that each one's CPU is read apart from /proc. The consoles
decode nothing: their received RTP is counted as it arrives (the bridge's own receiver tap,
aiortc's decoder stopped), a frame when its last packet (RTP marker) arrives, a loss when a
sequence number never does, retransmissions included (`--decode` has them decode the partner's
picture too, as a browser would: measured here, that more than doubles the generator's CPU,
which shares the cores with the bridge and would then limit N before the bridge does). If
Debian's janus is installed, Janus relays the same file between the same kind of 2-studio rooms
in the same run (each studio a publisher and a subscriber of its partner), and its CPU per
relayed stream is printed next to Telebridge's relay-only one at the same N. `--loss 1` has
each console's link lose 1 % of its video packets each way (`bench/packet_loss.py`), so the
relay's NACKs, retransmissions and, with the program, the reframing and decoding of repaired
pictures run under load too.

    .venv/bin/python bench/rooms_per_node.py [--relay-only | --program] [--max-rooms 16]
        [--from-rooms 1] [--settle 10] [--seconds 10] [--no-janus] [--janus-rooms N]
        [--rooms-per-generator 3] [--file-seconds 20] [--noise 14] [--decode] [--loss 1]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.bridge_process import bridge_main
from bench.console_generator import generator_main
from bench.janus_relay import JanusServer, janus_installed
from bench.netns import ensure_netns
from bench.packet_loss import loss_every

FPS_FLOOR = 28.0  # a partner's (or the program's) received frame rate below this drops
LOSS_LIMIT = 0.01  # of a stream's packets, retransmissions included
LAG_LIMIT_S = 0.050  # the bridge loop's p95 overshoot of a 10 ms sleep
CALL_TIMEOUT_S = 120.0
CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process, all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


# --- the orchestrator ---------------------------------------------------------------------


class Child:
    """A spawned process and the pipe it takes commands on."""

    def __init__(self, target: Any, *args: Any) -> None:
        self.conn, child = mp.Pipe()
        self.process = mp.get_context("spawn").Process(target=target, args=(child, *args))
        self.process.start()
        self._lock = asyncio.Lock()

    @property
    def pid(self) -> int:
        assert self.process.pid is not None
        return self.process.pid

    async def receive(self, timeout: float = CALL_TIMEOUT_S) -> Any:  # noqa: ASYNC109
        def wait() -> Any:
            if not self.conn.poll(timeout):
                raise TimeoutError(f"process {self.pid} did not answer within {timeout:g} s")
            return self.conn.recv()

        return await asyncio.get_running_loop().run_in_executor(None, wait)

    async def call(self, *command: Any) -> Any:
        async with self._lock:
            self.conn.send(command)
            reply = await self.receive()
        if reply[0] == "error":
            raise RuntimeError(reply[1])
        return reply[1] if len(reply) > 1 else None

    def end(self) -> None:
        self.process.join(timeout=15)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout=5)


@dataclass
class Row:
    """One step of a ramp: N rooms measured over one window."""

    rooms: int
    cpu: float  # the relay's process, CPU-s/s
    lag_p95: float | None
    lag_max: float | None
    fps_min: float
    fps_mean: float
    loss_max: float
    gap_max: float
    program_fps_min: float | None
    program_dropped: int | None
    inbound_fps_min: float | None
    generator_cpu: float
    late_p95: float  # the generator's worst studio: how late its packets left (p95)
    late_max: float
    failures: list[str]

    @property
    def per_stream(self) -> float:
        """CPU-s/s per relayed stream: each 2-studio room relays two (VP8 + Opus each)."""
        return self.cpu / (2 * self.rooms)

    @property
    def passed(self) -> bool:
        return not self.failures


LEGEND = """columns: CPU-s/s of the relay's process; the same per relayed stream (a room relays
two: each studio's VP8 + Opus to its partner); the bridge loop's lag; the partner's picture as
the consoles receive it (fps, worst and mean); the worst stream's packet loss; the longest wait
between two partner frames; the program's return feed (worst fps, and the engine's dropped
ticks); the slowest studio's picture as the bridge receives it; the generator processes' CPU-s/s
and how late their packets left (the generator runs on the same cores)"""

HEADER = (
    f"{'N':>3} {'CPU-s/s':>8} {'/stream':>8} {'lag p95/max ms':>15} {'partner fps':>12} "
    f"{'loss %':>7} {'gap ms':>7} {'program fps':>12} {'bridge in':>9} {'gen CPU':>8} "
    f"{'gen late p95/max':>16}  verdict"
)


def format_row(row: Row) -> str:
    lag = (
        f"{row.lag_p95 * 1000:6.1f}/{row.lag_max * 1000:6.1f}"
        if row.lag_p95 is not None and row.lag_max is not None
        else "n/a"
    )
    program = (
        f"{row.program_fps_min:5.1f} ({row.program_dropped} dr)"
        if row.program_fps_min is not None
        else "-"
    )
    inbound = f"{row.inbound_fps_min:5.1f}" if row.inbound_fps_min is not None else "-"
    verdict = "ok" if row.passed else "FAIL: " + ", ".join(row.failures)
    return (
        f"{row.rooms:>3} {row.cpu:8.3f} {row.per_stream:8.4f} {lag:>15} "
        f"{row.fps_min:5.1f}/{row.fps_mean:5.1f} {row.loss_max * 100:7.2f} "
        f"{row.gap_max * 1000:7.0f} {program:>12} {inbound:>9} {row.generator_cpu:8.3f} "
        f"{row.late_p95 * 1000:7.0f}/{row.late_max * 1000:5.0f} ms  {verdict}"
    )


class Ramp:
    """A relay (Telebridge's bridge process or Janus) and the generators feeding it."""

    def __init__(self, args: argparse.Namespace, media: Path, backend: str, url: str) -> None:
        self.args = args
        self.media = media
        self.backend = backend
        self.url = url
        self.generators: list[Child] = []
        self.rooms = 0

    def _generator_for_next_room(self) -> Child:
        if self.rooms % self.args.rooms_per_generator == 0:
            self.generators.append(
                Child(
                    generator_main,
                    str(self.media),
                    self.backend,
                    self.url,
                    self.args.decode,
                    loss_every(self.args.loss),
                )
            )
        return self.generators[-1]

    async def add_room(self, room: str, program: bool) -> float:
        generator = self._generator_for_next_room()
        self.rooms += 1
        took: float = await generator.call("join", room, program)
        return took

    async def measure(
        self, relay_pid: int, seconds: float, bridge_url: str | None, program: bool
    ) -> Row:
        import aiohttp

        async def bridge_figures(http: aiohttp.ClientSession) -> dict[str, Any] | None:
            if bridge_url is None:
                return None
            async with http.get(f"{bridge_url}/figures") as response:
                result: dict[str, Any] = await response.json()
                return result

        async with aiohttp.ClientSession() as http:
            await asyncio.gather(*(g.call("reset") for g in self.generators))
            before = await bridge_figures(http)
            cpu0 = cpu_seconds(relay_pid)
            gen0 = sum(cpu_seconds(g.pid) for g in self.generators)
            t0 = time.monotonic()
            await asyncio.sleep(seconds)
            cpu1 = cpu_seconds(relay_pid)
            gen1 = sum(cpu_seconds(g.pid) for g in self.generators)
            elapsed = time.monotonic() - t0
            reports = [r for g in self.generators for r in await g.call("report")]
            after = await bridge_figures(http)
        partner = [r["partner/video"] for r in reports]
        streams = [v for r in reports for k, v in r.items() if "/" in k]
        failures: list[str] = []
        fps_min = min(p["fps"] for p in partner)
        loss_max = max(s["loss"] for s in streams)
        if fps_min < FPS_FLOOR:
            failures.append(f"partner {fps_min:.1f} fps")
        if loss_max > LOSS_LIMIT:
            failures.append(f"loss {loss_max * 100:.1f} %")
        program_fps: float | None = None
        dropped: int | None = None
        if program:
            program_fps = min(r["program/video"]["fps"] for r in reports)
            if program_fps < FPS_FLOOR:
                failures.append(f"program {program_fps:.1f} fps")
        lag_p95 = lag_max = inbound = None
        if before is not None and after is not None:
            lag_p95, lag_max = after["lag_p95"], after["lag_max"]
            inbound = after["inbound_fps_min"]
            if lag_p95 > LAG_LIMIT_S:
                failures.append(f"loop lag p95 {lag_p95 * 1000:.0f} ms")
            if program:
                dropped = after["program_dropped"] - before["program_dropped"]
        return Row(
            rooms=self.rooms,
            cpu=(cpu1 - cpu0) / elapsed,
            lag_p95=lag_p95,
            lag_max=lag_max,
            fps_min=fps_min,
            fps_mean=statistics.fmean(p["fps"] for p in partner),
            loss_max=loss_max,
            gap_max=max(p["gap"] for p in partner),
            program_fps_min=program_fps,
            program_dropped=dropped,
            inbound_fps_min=inbound,
            generator_cpu=(gen1 - gen0) / elapsed,
            late_p95=max(r["late_p95"] for r in reports),
            late_max=max(r["late_max"] for r in reports),
            failures=failures,
        )

    async def stop(self) -> None:
        for generator in self.generators:
            with contextlib.suppress(Exception):
                await generator.call("stop")
        for generator in self.generators:
            generator.end()


async def telebridge_ramp(args: argparse.Namespace, media: Path, program: bool) -> list[Row]:
    """Open rooms one by one on a fresh bridge process until one step fails."""
    import aiohttp

    name = "composed (program on)" if program else "relay-only"
    print(f"\nTelebridge, {name}: settle {args.settle:g} s, measure {args.seconds:g} s per step")
    print(HEADER, flush=True)
    bridge = Child(bridge_main)
    port = await bridge.receive(60)
    url = f"http://127.0.0.1:{port}"
    ramp = Ramp(args, media, "telebridge", url)
    rows: list[Row] = []
    try:
        async with aiohttp.ClientSession() as http:
            for n in range(1, args.max_rooms + 1):
                room = f"r{n}"
                async with http.post(
                    f"{url}/rooms/{room}", params={"program": "1" if program else "0"}
                ) as response:
                    response.raise_for_status()
                try:
                    await ramp.add_room(room, program)
                except (RuntimeError, TimeoutError) as exc:
                    print(f"{n:>3} could not join: {exc}", flush=True)
                    break
                if n < args.from_rooms:
                    continue  # joined, not measured: the comparison is made at more rooms
                await asyncio.sleep(args.settle)
                row = await ramp.measure(bridge.pid, args.seconds, url, program)
                rows.append(row)
                print(format_row(row), flush=True)
                if not row.passed:
                    break
    finally:
        await ramp.stop()
        bridge.conn.send("stop")
        with contextlib.suppress(Exception):
            await bridge.receive(30)
        bridge.end()
    return rows


async def janus_run(args: argparse.Namespace, media: Path, rooms: int, workdir: Path) -> Row | None:
    """Janus relaying the same file between `rooms` 2-studio rooms, measured once."""
    server = JanusServer(workdir)
    print(
        f"\nJanus ({server.url}), {rooms} rooms: settle {args.settle:g} s, "
        f"measure {args.seconds:g} s"
    )
    print(HEADER, flush=True)
    server.start()
    ramp = Ramp(args, media, "janus", server.url)
    row: Row | None = None
    try:
        for n in range(1, rooms + 1):
            await ramp.add_room(f"j{n}", False)
        await asyncio.sleep(args.settle)
        row = await ramp.measure(server.pid, args.seconds, None, False)
        print(format_row(row), flush=True)
    except (RuntimeError, TimeoutError) as exc:
        print(f"Janus run failed: {exc}")
        print(server.log.read_text(errors="replace")[-2000:])
    finally:
        await ramp.stop()
        server.stop()
    return row


def last_passing(rows: list[Row]) -> int:
    """The largest N of a ramp before its first failure (0 if N = 1 failed)."""
    n = 0
    for row in rows:
        if not row.passed:
            break
        n = row.rooms
    return n


def reached_max(rows: list[Row], args: argparse.Namespace) -> bool:
    """Whether a ramp ended at --max-rooms with every step passing."""
    return bool(rows) and rows[-1].passed and rows[-1].rooms == args.max_rooms


def strict_lag(rows: list[Row]) -> int:
    """The same, with the loop lag's maximum (not its p95) held to the limit."""
    n = 0
    for row in rows:
        if not row.passed or (row.lag_max or 0.0) > LAG_LIMIT_S:
            break
        n = row.rooms
    return n


async def run(args: argparse.Namespace) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from harness.vp8_file import make_vp8_file, read_packets

    # One thread per child waiting on its pipe at once (the default pool has CPUs + 4).
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(64))

    print(
        f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}, "
        f"{os.cpu_count()} CPUs, {time.strftime('%Y-%m-%d %H:%M')}"
    )
    with tempfile.TemporaryDirectory(prefix="rooms-per-node-") as tmp:
        media = make_vp8_file(
            Path(tmp) / "studio.webm", seconds=args.file_seconds, noise=args.noise
        )
        streams = read_packets(media)
        video, audio = streams["video"], streams["audio"]
        print(
            f"file: {video.seconds:.1f} s, VP8 1280x720 30 fps {video.kbps:.0f} kb/s "
            f"(key frame every 2 s, noise {args.noise}), Opus {audio.kbps:.0f} kb/s; "
            f"{args.rooms_per_generator} rooms per generator process"
            + (
                f"; each console's link loses 1 video packet in {loss_every(args.loss)} each way,"
                " repaired by NACK/RTX"
                if args.loss > 0
                else ""
            )
        )
        print(LEGEND)
        relay_rows: list[Row] = []
        program_rows: list[Row] = []
        janus_row: Row | None = None
        if not args.program_only:
            relay_rows = await telebridge_ramp(args, media, program=False)
        if not args.no_janus and not args.program_only:
            if janus_installed():
                rooms = args.janus_rooms or max(1, last_passing(relay_rows))
                janus_row = await janus_run(args, media, rooms, Path(tmp) / "janus")
            else:
                print(
                    "\nJanus: /usr/bin/janus is not installed (apt-get install -y janus): skipped"
                )
        if not args.relay_only:
            program_rows = await telebridge_ramp(args, media, program=True)
    print(
        "\nSummary (a step fails on partner < 28 fps, loss > 1 %, loop lag p95 > 50 ms,"
        " program < 28 fps)"
    )
    if relay_rows:
        print(
            f"  relay-only rooms: {last_passing(relay_rows)} (goal >= 10; "
            f"{strict_lag(relay_rows)} with the loop lag's max held to 50 ms)"
            f"{', the ramp stopped at --max-rooms' if reached_max(relay_rows, args) else ''}"
        )
    if program_rows:
        print(
            f"  composed rooms:   {last_passing(program_rows)} (goal >= 3; "
            f"{strict_lag(program_rows)} with the loop lag's max held to 50 ms)"
            f"{', the ramp stopped at --max-rooms' if reached_max(program_rows, args) else ''}"
        )
    passing = [r for r in relay_rows if r.passed]
    if passing:
        top = passing[-1]
        per_room = top.cpu / top.rooms
        print(
            f"  at N = {top.rooms} relay-only rooms the bridge took {per_room:.3f} CPU-s/s a room "
            f"and the consoles (generator) {top.generator_cpu / top.rooms:.3f} beside it on "
            f"the same cores; the relay is one event loop, so one bridge process holds at "
            f"most about {1 / max(per_room, 1e-9):.0f} such rooms on a core of its own"
        )
    if janus_row is not None:
        same = next((r for r in relay_rows if r.rooms == janus_row.rooms), None)
        if same is not None:
            ratio = same.per_stream / max(janus_row.per_stream, 1e-9)
            print(
                f"  per relayed stream at {janus_row.rooms} rooms: Telebridge "
                f"{same.per_stream:.4f}, Janus {janus_row.per_stream:.4f} CPU-s/s, "
                f"ratio {ratio:.2f} (goal <= 1.2)"
            )
    print(f"load average {os.getloadavg()[0]:.2f} at the end")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--relay-only", action="store_true", help="only rooms without program")
    which.add_argument(
        "--program", dest="program_only", action="store_true", help="only composed rooms"
    )
    parser.add_argument("--max-rooms", type=int, default=16)
    parser.add_argument(
        "--from-rooms",
        type=int,
        default=1,
        help="join the rooms below this at once and measure from it on (the Janus comparison "
        "at --max-rooms without the ramp's time)",
    )
    parser.add_argument("--settle", type=float, default=10.0, help="seconds after each join")
    parser.add_argument("--seconds", type=float, default=10.0, help="measuring window")
    parser.add_argument("--no-janus", action="store_true")
    parser.add_argument(
        "--janus-rooms", type=int, default=0, help="default: the relay-only ramp's last N"
    )
    parser.add_argument("--rooms-per-generator", type=int, default=3)
    parser.add_argument("--file-seconds", type=float, default=20.0)
    parser.add_argument(
        "--noise",
        type=int,
        default=14,
        help="temporal noise over the file's picture (0: none, and a lower bitrate)",
    )
    parser.add_argument(
        "--loss",
        type=float,
        default=0.0,
        help="percent of video packets each console's link loses each way, repaired by NACK/RTX "
        "(bench/packet_loss.py; 0: none)",
    )
    parser.add_argument(
        "--decode",
        action="store_true",
        help="the consoles decode their partner's picture too (costs the generator CPU)",
    )
    args = parser.parse_args()
    ensure_netns()
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
