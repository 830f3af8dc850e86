"""The program pushed live over RTMP and SRT: real rooms, real aiortc studios, real servers.

The destinations are Debian's: nginx with its RTMP module (recording what it is sent), and
ffmpeg receiving SRT as listener or caller. What they received is read back with PyAV.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import os
import statistics
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import pytest
from bridge_peers import StudioClient, spec_for

from bridge.outputs import destination as destinations
from bridge.outputs import ffmpeg, push, srt_transmit
from bridge.outputs.base import ProgramSource
from bridge.outputs.destination import FFMPEG_CHILD, SRT_CHILD, destination
from bridge.outputs.push import PushOutput
from bridge.outputs.sender import Progress
from bridge.program.production import Production
from bridge.room import Room
from bridge.spec import EventKind, OutputFigures, OutputKind, OutputState, OutputTarget, RoomEvent
from harness.avsync import FlashBeepStudio, SharedStart, beep_onsets, flash_onsets, pair
from harness.rtmp_server import Receiver, RtmpServer, StalledServer, available, udp_taken
from harness.server import free_port
from harness.waiting import eventually

pytestmark = [
    pytest.mark.usefixtures("test_network"),  # WebRTC on the test veth pair
    # Without nginx-rtmp or ffmpeg a laptop skips these; CI installs them (.ci/run) and fails.
    pytest.mark.skipif(
        available() is not None and not os.environ.get("CI"), reason=str(available())
    ),
]

KEY = "live_8472_Zq9sEcRetKey"  # a stream key (a secret)
PASSPHRASE = "correct horse battery"  # an SRT passphrase (a secret)
SECRETS = (KEY, PASSPHRASE)
LIVE_TIMEOUT = 30.0  # a loaded 2-core machine: ffmpeg starts slowly, the program too


@dataclass
class Show:
    """A room composing the program of its studios, and what it reported."""

    room: Room
    events: list[RoomEvent]

    async def output(self, output_id: str) -> OutputFigures | None:
        snapshot = await self.room.live_snapshot()
        return next((o for o in snapshot.outputs if o.id == output_id), None)

    async def state_is(self, output_id: str, *states: OutputState) -> OutputFigures | None:
        """The output's figures once it is in one of `states` (for eventually)."""
        figures = await self.output(output_id)
        return figures if figures is not None and figures.state in states else None

    def states(self, output_id: str) -> list[str]:
        """The states the room reported for an output, in order."""
        return [
            str(e.details["state"])
            for e in self.events
            if e.kind is EventKind.OUTPUT_CHANGED and e.details.get("output_id") == output_id
        ]


@pytest.fixture
async def show() -> AsyncIterator[Show]:
    events: list[RoomEvent] = []
    room = Room(dataclasses.replace(spec_for("baku"), program=True), events.append)
    studio = StudioClient("baku", 0, shade=60)
    try:
        await studio.join(room)
        await eventually(
            lambda: room.thumbnail("baku"), timeout=20, message="the studio in the program"
        )
        yield Show(room, events)
    finally:
        await studio.close()
        await room.close()


@pytest.fixture
def rtmp(tmp_path: Path) -> Iterator[RtmpServer]:
    with RtmpServer(tmp_path / "nginx") as server:
        yield server


@pytest.fixture(autouse=True)
def all_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG, logger="telebridge")
    return caplog


def assert_no_secret(show: Show, caplog: pytest.LogCaptureFixture) -> None:
    """No key or passphrase in the figures, the events or the logs (and no error logged:
    every process and thread ended in time)."""
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, errors
    said = [repr(e.details) for e in show.events] + [caplog.text]
    said += [repr(o) for o in show.room.output_figures()]
    for secret in SECRETS:
        assert not [s for s in said if secret in s], f"{secret!r} leaked"


# SRT's latency for the tests' connections. Its default (120 ms) is what a receiver may stall
# before SRT drops what comes too late; a process on a loaded two-core machine stalls longer,
# and a dropped key frame starts the received picture a GOP after the sound.
LOADED_LATENCY_MS = 1000


@dataclass(frozen=True)
class Media:
    """What a received file holds."""

    video: tuple[str, int, int]  # codec, width, height
    audio: tuple[str, int, int]  # codec, rate, channels
    video_seconds: float
    audio_seconds: float
    video_packets: int
    decoded_frames: int


def read_back(path: Path) -> Media:
    """Demux and decode a received file (FLV or MPEG-TS)."""
    with av.open(str(path)) as container:
        v, a = container.streams.video[0], container.streams.audio[0]
        media = (
            (v.codec_context.name, v.codec_context.width, v.codec_context.height),
            (a.codec_context.name, a.codec_context.sample_rate, len(a.layout.channels)),
        )
        spans: dict[str, list[Fraction]] = {"video": [], "audio": []}
        for packet in container.demux(v, a):
            if packet.pts is not None and packet.time_base is not None:
                spans[packet.stream.type].append(packet.pts * packet.time_base)
    with av.open(str(path)) as container:
        frames = sum(1 for _ in container.decode(video=0))
    video, audio = spans["video"], spans["audio"]
    return Media(
        *media,
        video_seconds=float(max(video) - min(video)),
        audio_seconds=float(max(audio) - min(audio)),
        video_packets=len(video),
        decoded_frames=frames,
    )


def assert_program(media: Media, seconds: float) -> None:
    """The program as it was sent: H.264 720p and AAC 48 kHz stereo, `seconds` of both."""
    assert media.video == ("h264", 1280, 720)
    assert media.audio == ("aac", 48000, 2)
    assert media.video_seconds >= seconds, media
    assert abs(media.audio_seconds - media.video_seconds) < 1.0, media
    # Every frame received decodes (the program's 30 fps, less what a busy machine skipped).
    assert media.decoded_frames == media.video_packets >= seconds * 3, media


# --- targets and errors, without a room -------------------------------------------------------


def test_secrets_reach_the_child_as_it_takes_them_and_are_redacted() -> None:
    rtmp = destination(OutputTarget("a", OutputKind.RTMP, "rtmps://x.example/app/", key=KEY))
    assert rtmp.args[-1] == "rtmps://x.example/app" and rtmp.where == "x.example:443"
    assert rtmp.args[rtmp.args.index("-rtmp_playpath") + 1] == KEY  # byte for byte
    assert rtmp.child == FFMPEG_CHILD
    # SRT: our TS as it is, through srt-live-transmit; latency in ms, the passphrase verbatim
    # (it decodes nothing in its URI).
    srt = destination(
        OutputTarget(
            "b", OutputKind.SRT, "srt://10.0.0.5:9000", passphrase=PASSPHRASE, latency_ms=250
        )
    )
    assert srt.child == SRT_CHILD
    assert srt.args == (
        f"srt://10.0.0.5:9000?mode=caller&latency=250&passphrase={PASSPHRASE}&pbkeylen=16",
    )
    listener = destination(OutputTarget("c", OutputKind.SRT, "srt://:9001", listener=True))
    assert listener.args == ("srt://:9001?mode=listener",) and listener.listener
    # An & would end the passphrase in that URI: such a target goes through ffmpeg, whose
    # option takes it whole (latency in microseconds there).
    ampersand = "amp&ersand-secret"
    via_ffmpeg = destination(
        OutputTarget(
            "e", OutputKind.SRT, "srt://10.0.0.5:9000", passphrase=ampersand, latency_ms=250
        )
    )
    assert via_ffmpeg.child == FFMPEG_CHILD
    assert via_ffmpeg.args[-1] == "srt://10.0.0.5:9000?mode=caller&latency=250000"
    assert via_ffmpeg.args[via_ffmpeg.args.index("-passphrase") + 1] == ampersand
    for bad in ("http://x/app", "rtmp://x", "rtmp:///app"):
        with pytest.raises(ValueError):
            destination(OutputTarget("d", OutputKind.RTMP, bad, key=KEY))
    lines = [f"[tcp @ 0x55d] Connection to tcp://1.2.3.4:1935 failed: Connection refused {KEY}"]
    assert ffmpeg.explain(lines, rtmp, 1) == "connection refused by x.example:443"
    assert KEY not in destinations.redact(f"rtmp://h/app/{KEY} and {PASSPHRASE}", SECRETS)
    for form in ("correct%20horse%20battery", "correct+horse+battery"):
        assert "horse" not in destinations.redact(f"pass={form}", SECRETS)


def test_the_bitrate_is_timed_by_the_senders_clock_when_reports_come_in_bursts() -> None:
    """srt-live-transmit's reports reach us through a pipe, three or four at once: timed by
    their arrival, a steady 2 Mb/s read as several times that."""
    progress = Progress(0.0)
    for burst in range(8):  # every 0.5 s, the four reports of the last half second
        arrival = 0.5 * (burst + 1)
        for i in range(4):
            sender_clock = 0.5 * burst + 0.125 * (i + 1)
            progress.sent(int(sender_clock * 250_000), arrival, sender_clock)
    assert progress.kbps(4.0) == pytest.approx(2000, rel=0.01)
    steady = Progress(0.0)  # ffmpeg's reports carry no clock: their arrival times them
    for tick in range(1, 9):
        steady.sent(tick * 125_000, tick * 0.5)
    assert steady.kbps(4.0) == pytest.approx(2000, rel=0.01)


def test_srt_live_transmit_is_understood() -> None:
    """Its command line, its statistics and its words (as srt-live-transmit 1.5 says them)."""
    srt = destination(OutputTarget("b", OutputKind.SRT, "srt://10.0.0.5:9000"))
    listener = destination(OutputTarget("c", OutputKind.SRT, "srt://:9001", listener=True))
    args = srt_transmit.transmit_args(srt_transmit.SRT_LIVE_TRANSMIT, srt)
    assert args[-2:] == ["file://con", "srt://10.0.0.5:9000?mode=caller"] and "-a:no" in args
    report = '{"sid":1,"time":11885,"send":{"bytes":130560,"bytesUnique":122400},"recv":{}}'
    assert srt_transmit.bytes_sent(report) == (122400, 11.885)  # what was resent is not counted
    assert srt_transmit.bytes_sent("Media path: 'file://con' --> 'srt://...'") is None
    assert srt_transmit.bytes_sent('{"sid":1}') is None
    path = "Media path: 'file://con' --> 'srt://10.0.0.5:9000?mode=caller'"
    refused = "09:10:56.062015/SRT:RcvQ:w1!W:SRT.cn: processAsyncConnectRequest: REJECT reported"
    refused += " from HS processing: Incorrect passphrase - not processing further"
    explain = srt_transmit.explain
    assert explain([path], srt, 0) == "no SRT listener answered at 10.0.0.5:9000"
    assert explain([path, refused], srt, 0) == (
        "the SRT passphrase does not match the destination's"
    )
    assert explain([path, "SRT target connected"], srt, 0) == (
        "the SRT connection with 10.0.0.5:9000 broke"
    )
    taken = "ERROR: error: srt_bind: Connection setup failure: unable to create/configure SRT"
    assert explain([path, taken], listener, 255) == "port 9001 is already in use on this server"


async def test_without_their_tool_outputs_fail_at_once(tmp_path: Path) -> None:
    production = Production(["a"], ["A"])
    production.start()
    changes: list[OutputFigures] = []
    target = OutputTarget("o", OutputKind.RTMP, "rtmp://127.0.0.1:1/live", key=KEY)
    source = ProgramSource(production.engine, production.audio)
    srt = OutputTarget("s", OutputKind.SRT, "srt://127.0.0.1:1")
    missing = tmp_path / "missing"
    outputs = [
        PushOutput(target, source, changes.append, ffmpeg=missing / "ffmpeg"),
        PushOutput(srt, source, changes.append, srt_live_transmit=missing / "srt-live-transmit"),
    ]
    try:
        for output, tool in zip(outputs, ("ffmpeg", "srt-live-transmit"), strict=True):
            await output.start()
            figures = output.figures()
            assert figures.state is OutputState.FAILED
            assert figures.last_error == f"{tool} is not installed ({missing / tool} is missing)"
        assert [c.state for c in changes] == [OutputState.FAILED] * 2
    finally:
        for output in outputs:
            await output.stop()
        await production.close()


# --- live ---------------------------------------------------------------------------------------


async def test_rtmp_push_reaches_the_server_as_the_program(
    show: Show, rtmp: RtmpServer, all_logs: pytest.LogCaptureFixture
) -> None:
    await show.room.start_output(OutputTarget("yt", OutputKind.RTMP, rtmp.url, key=KEY))
    await show.room.start_output(OutputTarget("yt", OutputKind.RTMP, rtmp.url, key=KEY))  # no-op
    live = await eventually(
        lambda: show.state_is("yt", OutputState.LIVE), timeout=LIVE_TIMEOUT, message="RTMP live"
    )
    assert live.retries == 0 and live.last_error is None
    measured = await eventually(
        lambda: _live_for(show, "yt", 4.0), timeout=20, message="4 s live with a bitrate"
    )
    assert measured.bitrate_kbps is not None and measured.bitrate_kbps > 10
    assert await show.room.stop_output("yt")
    assert not await show.room.stop_output("nosuch")
    stopped = await show.output("yt")
    assert stopped is not None and stopped.state is OutputState.STOPPED  # still listed
    assert show.states("yt") == ["connecting", "live", "stopped"]

    assert_program(read_back(rtmp.recorded(KEY)), seconds=3.0)
    assert_no_secret(show, all_logs)


async def _live_for(show: Show, output_id: str, seconds: float) -> OutputFigures | None:
    figures = await show.state_is(output_id, OutputState.LIVE)
    ok = figures is not None and figures.live_seconds >= seconds and figures.bitrate_kbps
    return figures if ok else None


async def test_srt_as_caller_with_a_passphrase_and_as_listener(
    show: Show, tmp_path: Path, all_logs: pytest.LogCaptureFixture
) -> None:
    caller_port, listener_port = free_port(), free_port()
    # The far end of our caller: ffmpeg listening, with the same passphrase.
    far_listener = Receiver(
        f"srt://127.0.0.1:{caller_port}?mode=listener",
        tmp_path / "from-caller.ts",
        ("-passphrase", PASSPHRASE),
    )
    far_caller = Receiver(f"srt://127.0.0.1:{listener_port}?mode=caller", tmp_path / "called.ts")
    with far_listener:
        try:
            await show.room.start_output(
                OutputTarget(
                    "playout",
                    OutputKind.SRT,
                    f"srt://127.0.0.1:{caller_port}",
                    passphrase=PASSPHRASE,
                    latency_ms=LOADED_LATENCY_MS,
                )
            )
            await show.room.start_output(
                OutputTarget(
                    "pickup",
                    OutputKind.SRT,
                    f"srt://:{listener_port}",
                    listener=True,
                    latency_ms=LOADED_LATENCY_MS,
                )
            )

            # Our srt-live-transmit listens at once: then the far end calls.
            await eventually(
                lambda: udp_taken(listener_port), timeout=LIVE_TIMEOUT, message="listen"
            )
            far_caller.launch()

            async def called() -> OutputFigures | None:
                if not far_caller.running:
                    far_caller.launch()  # it came too early and gave up: call again
                return await show.state_is("pickup", OutputState.LIVE)

            await eventually(called, timeout=LIVE_TIMEOUT, interval=0.5, message="SRT called")
            for output_id in ("playout", "pickup"):
                await eventually(
                    functools.partial(_live_for, show, output_id, 4.0),
                    timeout=LIVE_TIMEOUT,
                    message=f"{output_id} live 4 s",
                )
            await show.room.stop_output("playout")
            await show.room.stop_output("pickup")
        finally:
            far_caller.stop()
    assert_program(read_back(tmp_path / "from-caller.ts"), seconds=3.0)
    assert_program(read_back(tmp_path / "called.ts"), seconds=3.0)
    assert show.states("playout") == ["connecting", "live", "stopped"]
    assert show.states("pickup") == ["connecting", "live", "stopped"]
    assert_no_secret(show, all_logs)


async def test_a_dropped_destination_is_retried_and_nothing_else_notices(
    show: Show, rtmp: RtmpServer, tmp_path: Path, all_logs: pytest.LogCaptureFixture
) -> None:
    port = free_port()
    with Receiver(f"srt://127.0.0.1:{port}?mode=listener", tmp_path / "second.ts"):
        room = show.room
        loop = asyncio.get_running_loop()
        room.start_recording(tmp_path / "rec")
        recording_from = loop.time()
        await room.start_output(OutputTarget("yt", OutputKind.RTMP, rtmp.url, key=KEY))
        await room.start_output(
            OutputTarget(
                "srt", OutputKind.SRT, f"srt://127.0.0.1:{port}", latency_ms=LOADED_LATENCY_MS
            )
        )
        for output_id in ("yt", "srt"):
            await eventually(
                functools.partial(show.state_is, output_id, OutputState.LIVE),
                timeout=LIVE_TIMEOUT,
                message=f"{output_id} live",
            )

        rtmp.kill()  # the platform's server goes down mid-show
        dropped = await eventually(
            lambda: show.state_is("yt", OutputState.RETRYING), timeout=15, message="retrying"
        )
        assert dropped.last_error and "closed the connection" in dropped.last_error, dropped
        rtmp.restart()
        await eventually(rtmp.ready, timeout=10, message="nginx back")
        again = await eventually(
            lambda: show.state_is("yt", OutputState.LIVE), timeout=LIVE_TIMEOUT, message="again"
        )
        assert again.retries >= 1
        await eventually(lambda: _live_for(show, "yt", 1.0), timeout=15, message="live again")
        files = await room.stop_recording()
        recorded_for = loop.time() - recording_from
        srt = await show.output("srt")
        assert srt is not None and srt.state is OutputState.LIVE and srt.retries == 0
        assert show.states("srt") == ["connecting", "live"]  # it never noticed
        await room.stop_output("srt")
    yt = show.states("yt")
    assert yt[:3] == ["connecting", "live", "retrying"] and yt[-1] == "live", yt
    program = next(f for f in files if f.kind == "program")
    # The whole time (a program engine short of CPU may still owe its last second or two).
    assert recorded_for - 2.5 < program.duration_s < recorded_for + 0.5, (program, recorded_for)
    assert_program(read_back(tmp_path / "second.ts"), seconds=recorded_for - 3.0)
    assert_no_secret(show, all_logs)


async def test_refused_and_stalled_destinations_never_hold_the_program_up(
    show: Show, all_logs: pytest.LogCaptureFixture
) -> None:
    room = show.room
    refused_port = free_port()  # nothing listens there
    with StalledServer() as stalled:
        await room.start_output(
            OutputTarget("refused", OutputKind.RTMP, f"rtmp://127.0.0.1:{refused_port}/live", KEY)
        )
        await room.start_output(
            OutputTarget("stalled", OutputKind.RTMP, f"rtmp://127.0.0.1:{stalled.port}/live", KEY)
        )
        snapshot = await room.live_snapshot()
        assert snapshot.program is not None
        before = snapshot.program
        loop = asyncio.get_running_loop()
        started = loop.time()
        hung = await eventually(
            lambda: show.state_is("stalled", OutputState.RETRYING),
            timeout=push.STALL_SECONDS + 8,
            message="the stalled destination given up",
        )
        assert loop.time() - started < push.STALL_SECONDS + 8
        wait = f"{push.STALL_SECONDS:g} s"
        assert hung.last_error == f"no answer from 127.0.0.1:{stalled.port} within {wait}"
        refused = await eventually(
            lambda: _retried(show, "refused", 2), timeout=20, message="refused, retried twice"
        )
        assert refused.last_error == f"connection refused by 127.0.0.1:{refused_port}"
        snapshot = await room.live_snapshot()
        assert snapshot.program is not None
        # The program went on meanwhile: 30 frames and 47 blocks of sound a second, less what
        # a busy machine skips (its CPU, not the outputs: they wait off the event loop).
        elapsed, after = loop.time() - started, snapshot.program
        assert after.frames - before.frames > 2 * elapsed, (before, after)
        assert after.audio_blocks - before.audio_blocks > 20 * elapsed, (before, after)
        await room.stop_output("refused")
        await room.stop_output("stalled")
    failed = await show.output("refused")
    assert failed is not None and failed.state is OutputState.FAILED
    assert failed.last_error == f"connection refused by 127.0.0.1:{refused_port}"
    assert show.states("refused")[-1] == "failed"
    assert_no_secret(show, all_logs)


async def _retried(show: Show, output_id: str, times: int) -> OutputFigures | None:
    figures = await show.state_is(output_id, OutputState.RETRYING, OutputState.CONNECTING)
    return figures if figures is not None and figures.retries >= times else None


# --- lip sync through RTMP -----------------------------------------------------------------------


async def test_rtmp_keeps_the_program_in_lip_sync(rtmp: RtmpServer, tmp_path: Path) -> None:
    """Flashes and beeps through the program and RTMP: the read-back FLV has the program's own
    A/V offset (its recording is measured beside it), within lip-sync tolerance."""
    room = Room(dataclasses.replace(spec_for("baku"), program=True))
    studio = FlashBeepStudio("baku", 0, SharedStart(), 0.0)
    try:
        await studio.join(room)
        await eventually(lambda: room.thumbnail("baku"), timeout=20, message="in the program")
        await room.start_output(OutputTarget("yt", OutputKind.RTMP, rtmp.url, key=KEY))
        room.start_recording(tmp_path / "rec")
        start = (await room.live_snapshot()).program
        assert start is not None
        # 8 s and 200 composed frames: a busy machine skips ticks, and the flashes in them.
        await eventually(
            lambda: _live_and_composed(room, 8.0, start.frames + 200),
            timeout=LIVE_TIMEOUT + 30,
            message="8 s live, 200 frames composed",
        )
        composed = (await room.live_snapshot()).program  # a busy machine skips flashes
        await room.stop_output("yt")
        files = await room.stop_recording()
    finally:
        await studio.close()
        await room.close()
    program = next(f for f in files if f.kind == "program")
    sent, recorded = _offsets(rtmp.recorded(KEY)), _offsets(program.path)
    assert len(sent) >= 5 and len(recorded) >= 5, (sent, recorded, composed)
    sent_ms = statistics.median(sent) * 1000
    recorded_ms = statistics.median(recorded) * 1000
    print(
        f"A/V offset, median: RTMP read back {sent_ms:+.1f} ms, program MP4 {recorded_ms:+.1f} ms"
    )
    # What RTMP adds: nothing but FLV's millisecond timestamps. (Each flash's offset is one of
    # two values about an AAC block apart, by where its beep fell between blocks; the two files
    # span different stretches, so their medians may take different ones: every offset RTMP
    # shows must be one the recording shows too.)
    low, high = min(recorded) - 0.003, max(recorded) + 0.003
    assert all(low <= offset <= high for offset in sent), (sent, recorded)
    # And the program as the platform gets it is in lip sync, by EBU R37's tolerance (sound at
    # most 40 ms early, 60 ms late). The goal of 20 ms is not met every run: the
    # program's own recording is off by up to about one AAC block (21 ms) either way, by where
    # the studio's packets fall between the block and frame clocks (see the README's figures).
    median = statistics.median(sent) * 1000
    assert -40.0 <= median <= 60.0, (
        f"RTMP A/V offset {median:+.1f} ms (the program's own recording: {recorded_ms:+.1f} ms)"
    )


async def _live_and_composed(room: Room, seconds: float, frames: int) -> bool:
    snapshot = await room.live_snapshot()
    live = any(o.state is OutputState.LIVE and o.live_seconds >= seconds for o in snapshot.outputs)
    return live and snapshot.program is not None and snapshot.program.frames >= frames


def _offsets(path: Path) -> list[float]:
    """audio - video of each flash and its beep (seconds), the middle of the frame watched."""
    (flashes,) = flash_onsets(path, [(480, 270, 320, 180)])
    return [a - v for v, a in pair(flashes, beep_onsets(path))]
