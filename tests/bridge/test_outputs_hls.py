"""HLS of the joint program: segments cut on keyframes, a sliding playlist, safe names."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import itertools
import math
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import av
import pytest
from bridge_peers import StudioClient, spec_for

from bridge.outputs.base import ProgramSource
from bridge.outputs.hls import HlsOutput
from bridge.outputs.pacing import Interleaver, KeyframeGuard
from bridge.outputs.playlist import (
    KEEP_WINDOWS,
    PLAYLIST_MEDIA_TYPE,
    SEGMENT_MEDIA_TYPE,
    HlsPlaylist,
    HlsSegment,
    hls_file,
    media_type,
    playlist_text,
)
from bridge.program.engine import ProgramFormat
from bridge.program.production import Production
from bridge.room import Room
from bridge.spec import OutputFigures, OutputKind, OutputState, OutputTarget
from harness.waiting import eventually

pytestmark = pytest.mark.usefixtures("test_network")  # WebRTC on the test veth pair

TARGET = OutputTarget("web", OutputKind.HLS)
T0 = datetime(2025, 3, 1, 12, 0, 0, 250000, tzinfo=UTC)


@dataclasses.dataclass(frozen=True)
class Entry:
    name: str
    seconds: float
    at: datetime
    discontinuity: bool


@dataclasses.dataclass(frozen=True)
class Playlist:
    sequence: int
    discontinuity_sequence: int
    target: int
    entries: list[Entry]
    ended: bool


def _parse(text: str) -> Playlist:
    """The playlist as a player reads it (only the tags we write)."""
    lines = text.splitlines()
    assert lines[:2] == ["#EXTM3U", "#EXT-X-VERSION:3"], lines[:2]
    assert "#EXT-X-INDEPENDENT-SEGMENTS" in lines
    tags = {k: v for k, _, v in (line.partition(":") for line in lines if ":" in line)}
    entries, at, seconds, discontinuity = [], None, None, False
    for line in lines:
        if line == "#EXT-X-DISCONTINUITY":
            discontinuity = True
        elif line.startswith("#EXT-X-PROGRAM-DATE-TIME:"):
            at = datetime.fromisoformat(line.partition(":")[2].replace("Z", "+00:00"))
        elif line.startswith("#EXTINF:"):
            seconds = float(line.partition(":")[2].rstrip(","))
        elif line and not line.startswith("#"):
            assert at is not None and seconds is not None, line
            entries.append(Entry(line, seconds, at, discontinuity))
            at, seconds, discontinuity = None, None, False
    return Playlist(
        sequence=int(tags["#EXT-X-MEDIA-SEQUENCE"]),
        discontinuity_sequence=int(tags.get("#EXT-X-DISCONTINUITY-SEQUENCE", "0")),
        target=int(tags["#EXT-X-TARGETDURATION"]),
        entries=entries,
        ended=lines[-1] == "#EXT-X-ENDLIST",
    )


def _number(name: str) -> int:
    return int(name.removeprefix("seg-").removesuffix(".ts"))


def _recorder_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("recorder-seg")]


# --- without a room ------------------------------------------------------------------------


def test_the_playlist_text_lists_segments_with_their_wall_clock_and_ends() -> None:
    segments = [
        HlsSegment(41, 2.0, T0, discontinuity=True),
        HlsSegment(42, 0.4666666, T0 + timedelta(seconds=2)),
        HlsSegment(43, 2.0333333, T0 + timedelta(seconds=2.4666666)),
    ]
    assert playlist_text(segments, 3, discontinuity_sequence=2) == (
        "#EXTM3U\n"
        "#EXT-X-VERSION:3\n"
        "#EXT-X-TARGETDURATION:3\n"
        "#EXT-X-MEDIA-SEQUENCE:41\n"
        "#EXT-X-DISCONTINUITY-SEQUENCE:2\n"
        "#EXT-X-INDEPENDENT-SEGMENTS\n"
        "#EXT-X-DISCONTINUITY\n"
        "#EXT-X-PROGRAM-DATE-TIME:2025-03-01T12:00:00.250Z\n"
        "#EXTINF:2.000,\n"
        "seg-000041.ts\n"
        "#EXT-X-PROGRAM-DATE-TIME:2025-03-01T12:00:02.250Z\n"
        "#EXTINF:0.467,\n"
        "seg-000042.ts\n"
        "#EXT-X-PROGRAM-DATE-TIME:2025-03-01T12:00:02.716Z\n"
        "#EXTINF:2.033,\n"
        "seg-000043.ts\n"
    )
    ended = playlist_text(segments[1:], 3, ended=True)
    assert ended.endswith("seg-000043.ts\n#EXT-X-ENDLIST\n")
    assert "DISCONTINUITY" not in ended and "#EXT-X-MEDIA-SEQUENCE:42\n" in ended
    with pytest.raises(ValueError):
        playlist_text([segments[0], segments[2]], 3)  # a hole in the sequence


def test_the_window_slides_and_files_go_two_windows_after_they_left() -> None:
    playlist = HlsPlaylist(window=3, discontinuity_sequence=4, retired=["seg-000007.ts"])
    deleted: list[str] = []
    for n in range(10, 20):
        start = T0 + timedelta(seconds=2 * (n - 10))
        seconds = 2.04 if n == 15 else 2.0  # a dropped tick: 2.04 s, which the target covers
        deleted += playlist.add(HlsSegment(n, seconds, start, bytes=500_000, discontinuity=n == 10))
        listed = _parse(playlist.text())
        assert [e.name for e in listed.entries][-1] == f"seg-{n:06d}.ts"
        assert len(listed.entries) == min(3, n - 9) and listed.sequence == max(10, n - 2)
        # The earlier run's segment first, then each one 2 windows after it left the window.
        left = list(range(10, n - 2))
        gone = [7] * (n - 9 >= 2 * 3) + [k for k in left if n - 2 - k > 2 * 3]
        assert deleted == [f"seg-{k:06d}.ts" for k in gone], n
    final = _parse(playlist.text(ended=True))
    assert final.ended and final.discontinuity_sequence == 5  # its discontinuity slid out
    assert final.target == 3 and playlist.target_duration == 3  # ceil(2.04), kept
    assert playlist.bitrate_kbps() == pytest.approx(2000.0)
    # The writer lost segment 20: what was listed goes; 21 starts over, a discontinuity.
    playlist.add(HlsSegment(21, 2.0, T0 + timedelta(seconds=22)))
    after = _parse(playlist.text())
    assert [(e.name, e.discontinuity) for e in after.entries] == [("seg-000021.ts", True)]
    assert after.sequence == 21 and after.discontinuity_sequence == 5


def _packet(pts: int, key: bool = False) -> av.Packet:
    packet = av.Packet(b"\0")
    packet.pts, packet.is_keyframe = pts, key
    return packet


def test_the_keyframe_guard_asks_only_for_gops_that_skipped_ticks() -> None:
    asked: list[int] = []
    guard = KeyframeGuard(gop_ticks=60, margin_ticks=6, force=lambda: asked.append(pts))
    for pts in range(100, 160):  # a GOP of 60 frames on 60 ticks: x264 keeps time by itself
        guard(_packet(pts, key=pts == 100))
    assert asked == []
    for pts in [160, *range(162, 230, 2)]:  # half the ticks skipped from 162 on
        guard(_packet(pts, key=pts == 160))
    assert asked == [214] and guard.forced == 1  # 54 ticks in, once
    for pts in range(230, 300, 3):  # the program's keyframe came; a new GOP, skipping again
        guard(_packet(pts, key=pts == 230))
    assert asked == [214, 284]
    for pts in [300, 301, 302, 315, *range(316, 400)]:  # a stall of 13 ticks
        guard(_packet(pts, key=pts == 300))
    assert asked == [214, 284, 300 + 60 - 26]  # asked 2 x 13 ticks early
    for pts in [400, 401, 440, *range(441, 500)]:  # a stall of 39 ticks: half a GOP early
        guard(_packet(pts, key=pts == 400))
    assert asked[-1] == 440 and guard.forced == 4
    # Packets that come late: the GOP's age is the clock's, not the packet's.
    clock = [0]
    late = KeyframeGuard(
        gop_ticks=60, margin_ticks=6, force=lambda: asked.append(clock[0]), now=lambda: clock[0]
    )
    for pts in [500, *range(502, 520, 2)]:  # skipping; the clock is at 556 when they come
        clock[0] = 556
        late(_packet(pts, key=pts == 500))
    assert asked[-1] == 556 and late.forced == 1


def test_the_interleaver_hands_picture_and_sound_on_in_time_order() -> None:
    out: list[tuple[str, float]] = []
    order = Interleaver(
        lambda p: out.append(("v", p.pts / 30)),
        lambda p: out.append(("a", p.pts / 48000)),
        30,
        48000,
    )
    for n in range(6):  # the sound comes 0.2 s early, a tenth of a second at a time
        for k in range(5):
            order.audio(_packet(4800 * n + 960 * k))
        for k in range(3):
            order.video(_packet(3 * n + k))
    times = [t for _, t in out]
    assert times == sorted(times) and len(out) >= 30  # nothing behind the last video
    order.flush()
    assert len(out) == 48 and [t for _, t in out] == sorted(t for _, t in out)
    # One stream stalls: the other is held no more than a second for it.
    out.clear()
    for k in range(80):
        order.audio(_packet(48000 + 960 * k))  # 1.58 s of sound, no picture
    assert out and out[-1][1] >= 1.5 - 1.0 - 0.02 and max(t for _, t in out) < 1.6


@pytest.mark.parametrize(
    "name",
    ["../x", "index.m3u8.tmp", "/etc/passwd", "", ".", "seg-000001.ts/../../x", "seg-1.ts",
     "seg-000001.mp4", "seg-٠٠٠٠٠١.ts", "index.m3u8\n", "INDEX.M3U8", "sub/seg-000001.ts"],
)  # fmt: skip
def test_hls_file_refuses_anything_but_a_playlist_or_segment_name(
    tmp_path: Path, name: str
) -> None:
    assert hls_file(tmp_path, name) is None
    assert hls_file(tmp_path, str(tmp_path / "index.m3u8")) is None  # an absolute path


def test_hls_file_gives_the_playlist_and_the_segments(tmp_path: Path) -> None:
    assert hls_file(tmp_path, "index.m3u8") == tmp_path / "index.m3u8"
    assert hls_file(tmp_path, "seg-000123.ts") == tmp_path / "seg-000123.ts"
    assert hls_file(tmp_path, "seg-1234567.ts") == tmp_path / "seg-1234567.ts"
    assert media_type("index.m3u8") == PLAYLIST_MEDIA_TYPE == "application/vnd.apple.mpegurl"
    assert media_type("seg-000123.ts") == SEGMENT_MEDIA_TYPE == "video/mp2t"


# --- a real room ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Facts:
    """What PyAV finds in one segment on its own."""

    first_packet_key: bool
    video: tuple[str, int, int]
    audio: tuple[str, int]
    packets: int
    frames: int
    first: float  # first frame's time
    # From the first frame to the end of what it holds: the end of its last frame, or of its
    # sound when frame ticks were skipped at its end (the last picture stays on until then).
    seconds: float
    audio_first: float
    audio_end: float
    audio_pts: list[int]  # in samples
    skipped: list[tuple[float, float]]  # (time, seconds) of the frame ticks skipped


def _facts(data: bytes) -> Facts:
    with av.open(io.BytesIO(data), format="mpegts") as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        shape = (video.codec_context.name, video.codec_context.width, video.codec_context.height)
        sound = (audio.codec_context.name, audio.codec_context.sample_rate)
        packets = [p for p in container.demux(video) if p.size]
    with av.open(io.BytesIO(data), format="mpegts") as container:
        aac = [p for p in container.demux(audio=0) if p.size and p.pts is not None]
    with av.open(io.BytesIO(data), format="mpegts") as container:
        frames = list(container.decode(video=0))
    with av.open(io.BytesIO(data), format="mpegts") as container:
        blocks = list(container.decode(audio=0))
    times = [f.time for f in frames if f.time is not None]
    audio_end = (blocks[-1].time or 0.0) + blocks[-1].samples / blocks[-1].sample_rate
    return Facts(
        first_packet_key=packets[0].is_keyframe,
        video=shape,
        audio=sound,
        packets=len(packets),
        frames=len(frames),
        first=times[0],
        seconds=max(times[-1] + 1 / 30, audio_end) - times[0],
        audio_first=blocks[0].time or 0.0,
        audio_end=audio_end,
        audio_pts=[round(p.pts * p.time_base * 48000) for p in aac],
        skipped=[
            (round(a, 3), round(b - a, 3)) for a, b in itertools.pairwise(times) if b - a > 0.04
        ],
    )


async def test_the_program_goes_out_as_hls_segments_in_a_sliding_playlist(
    tmp_path: Path,
) -> None:
    room = Room(dataclasses.replace(spec_for("baku", "rome"), program=True))
    baku, rome = StudioClient("baku", 1, shade=40), StudioClient("rome", 1, shade=200)
    directory, window = tmp_path / "live", 3
    changes: list[OutputFigures] = []
    seen: dict[str, bytes] = {}  # each segment as it was when first listed
    listed: dict[str, Entry] = {}
    playlists: list[Playlist] = []
    try:
        await baku.join(room)
        await rome.join(room)
        assert room.production is not None
        production = room.production
        await eventually(
            lambda: all(production.engine.latest.get(i) is not None for i in (0, 1)),
            timeout=20,
            message="both pictures in the program",
        )
        source = ProgramSource(production.engine, production.audio)
        output = HlsOutput(TARGET, source, directory, changes.append, window=window)
        started = datetime.now(UTC)
        holes_before = production.audio.counters.dropped_blocks
        made: list[int] = []  # the pts of every AAC frame the program makes
        made_queue = production.audio.subscribe()

        async def collect() -> None:
            while True:
                made.append((await made_queue.get()).pts)

        collector = asyncio.ensure_future(collect())
        program_time = production.engine.tick_now() / production.engine.fmt.fps
        began = time.monotonic()
        await output.start()
        assert output.figures().state is OutputState.CONNECTING

        async def slid() -> bool:
            try:
                text = await asyncio.to_thread((directory / "index.m3u8").read_text)
            except FileNotFoundError:
                return False
            playlist = _parse(text)
            playlists.append(playlist)
            for entry in playlist.entries:
                if entry.name not in seen:  # listed: there, and complete (checked below)
                    seen[entry.name] = await asyncio.to_thread((directory / entry.name).read_bytes)
                    listed[entry.name] = entry
            return playlist.sequence >= 3  # six segments written, three slid out

        await eventually(slid, timeout=60, interval=0.2, message=lambda: playlists[-1:])
        live = output.figures()
        await output.stop()
        holes = production.audio.counters.dropped_blocks - holes_before
        collector.cancel()
        production.audio.unsubscribe(made_queue)
        stopped_after = time.monotonic() - began
        final = _parse((directory / "index.m3u8").read_text())
    finally:
        await baku.close()
        await rome.close()
        await room.close()

    assert [c.state for c in changes] == [
        OutputState.CONNECTING,
        OutputState.LIVE,
        OutputState.STOPPED,
    ]
    assert live.state is OutputState.LIVE and live.last_error is None
    assert live.bitrate_kbps is not None and 0 < live.bitrate_kbps < 6000, live
    assert 0 < live.live_seconds < stopped_after
    assert output.figures().state is OutputState.STOPPED and not _recorder_threads()

    # The playlist slid: its sequence only grew, never more than the window, numbers match.
    sequences = [p.sequence for p in playlists]
    assert sequences == sorted(sequences) and sequences[-1] >= 3
    for playlist in playlists:
        longest = max(
            e.seconds for p in playlists[: playlists.index(playlist) + 1] for e in p.entries
        )
        assert playlist.target == max(2, math.ceil(longest)), playlist  # ceil, never lowered
        assert 1 <= len(playlist.entries) <= window
        assert [_number(e.name) for e in playlist.entries] == list(
            range(playlist.sequence, playlist.sequence + len(playlist.entries))
        )
        assert not playlist.ended and not any(e.discontinuity for e in playlist.entries)
    assert final.ended and len(final.entries) <= window
    assert max(e.seconds for e in final.entries) <= 2.1, final

    # Every segment by itself: a keyframe first, H.264 720p and AAC 48 kHz, 2 s at most, as
    # long as its EXTINF says, and on one timeline with the next one.
    names = sorted(seen)
    assert [_number(n) for n in names] == list(range(len(names)))
    facts = {name: await asyncio.to_thread(_facts, seen[name]) for name in names}
    durations = [(listed[n].seconds, round(facts[n].seconds, 3)) for n in names]
    assert output.guard is not None
    print(f"\nsegments (EXTINF, measured s): {durations}; {live.bitrate_kbps} kbps;", end=" ")
    print(f"keyframes forced by the guard: {output.guard.forced}")
    for name in names:
        fact, entry = facts[name], listed[name]
        assert fact.first_packet_key, name
        assert fact.video == ("h264", 1280, 720) and fact.audio == ("aac", 48000), fact
        assert fact.frames == fact.packets, name  # every picture decodes within the segment
        assert entry.seconds <= 2.1, (name, entry, fact)
        assert abs(entry.seconds - fact.seconds) < 0.1, (name, entry, fact)
    for a, b in itertools.pairwise(names):
        step = facts[b].first - facts[a].first
        assert abs(step - listed[a].seconds) < 0.01, (a, b, step, listed[a])
        assert facts[b].audio_first >= facts[a].audio_end - 0.001, (a, b)  # no overlap
        wall = (listed[b].at - listed[a].at).total_seconds()
        assert abs(wall - listed[a].seconds) < 0.003, (a, b)
    # The sound goes on from segment to segment: every AAC frame the program made is there
    # (a program short of CPU leaves holes in its sound, and counts them).
    written = [pts for name in names for pts in facts[name].audio_pts]
    assert written == sorted(set(written))  # in order, none twice
    span = [pts for pts in made if written[0] <= pts <= written[-1]]
    print(f"AAC frames: {len(span)} made, {len(written)} in the segments; holes: {holes}")
    assert written == span
    assert abs((listed[names[0]].at - started).total_seconds()) < 1.0
    # On the program's own clock: its time when the output started.
    assert abs(facts[names[0]].first - program_time) < 1.0, (facts[names[0]], program_time)


async def test_a_new_run_continues_the_numbers_after_a_discontinuity(tmp_path: Path) -> None:
    """The output is started again in the same directory (or the server died mid-show): the
    numbers go on, the new run starts with a discontinuity, the old leftovers go."""
    fmt = ProgramFormat(width=320, height=180, kbps=300, preset="ultrafast", gop_seconds=0.5)
    production = Production(["a"], ["A"], fmt)
    production.start()
    source = ProgramSource(production.engine, production.audio)
    directory, window = tmp_path / "live", 2

    def playlist() -> Playlist | None:
        path = directory / "index.m3u8"
        return _parse(path.read_text()) if path.exists() else None

    try:
        first = HlsOutput(TARGET, source, directory, window=window)
        await first.start()
        await eventually(lambda: (p := playlist()) is not None and p.sequence >= 2)
        await first.stop()
        before = playlist()
        assert before is not None and before.ended
        last = _number(before.entries[-1].name)
        (directory / f"seg-{last + 1:06d}.ts").write_bytes(b"\x47" * 188)  # half written
        (directory / "index.m3u8.tmp").write_text("#EXTM3U\n")

        second = HlsOutput(TARGET, source, directory, window=window)
        await second.start()
        assert not (directory / "index.m3u8.tmp").exists()
        assert not (directory / f"seg-{last + 1:06d}.ts").exists()
        assert all((directory / e.name).exists() for e in before.entries)  # still fetched
        after = await eventually(lambda: (p := playlist()) is not None and not p.ended and p)
        assert after.sequence == last + 2 and after.discontinuity_sequence == 0
        assert after.entries[0].discontinuity and after.target == 1
        # Slid on: the discontinuity is counted, the earlier run's files are gone.
        later = await eventually(
            lambda: (
                (p := playlist()) is not None
                and p.sequence > last + 2 + window * KEEP_WINDOWS
                and p
            )
        )
        assert later.discontinuity_sequence == 1 and not any(e.discontinuity for e in later.entries)
        assert not any((directory / e.name).exists() for e in before.entries)
        await second.stop()
        assert second.figures().state is OutputState.STOPPED and not _recorder_threads()
    finally:
        await production.close()
