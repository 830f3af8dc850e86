"""A kill -9 at each step of finalizing, for the program (MPEG-TS segments into MP4) and a
studio's own feed (VP8: WebM segments into WebM; H.264: Matroska segments into MP4): the next
start's recovery loses nothing, lists each file once, and leaves nothing but finished files on
disk.

The states are the ones finalizing passes through (bridge/recording/finalize.py): built from
real segments and a real finalize, then cut where a kill would cut them, and recovered with
the same `finalize_directory` the server runs at its next start.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from bridge.program.engine import ProgramFormat, make_encoder
from bridge.recording import isolated
from bridge.recording.directory import finalize_directory
from bridge.recording.finalize import finalize, holds_no_picture, journal_of
from bridge.recording.iso import opus_head
from bridge.recording.recorder import AudioParams, SegmentRecorder, VideoParams
from bridge.video_payloads import h264_parameter_sets
from harness.waiting import eventually_sync

FMT = ProgramFormat(width=320, height=180, fps=30, kbps=400, preset="ultrafast")
SECONDS = 5.0  # three 2-second segments per stream
ISO_TIME_BASE = Fraction(1, 1000)


def _frames(seconds: float) -> list[av.VideoFrame]:
    out = []
    for n in range(int(seconds * FMT.fps)):
        img = np.full((FMT.height, FMT.width, 3), (n * 5) % 255, np.uint8)
        out.append(av.VideoFrame.from_ndarray(img, format="rgb24").reformat(format="yuv420p"))
    return out


def _aac(seconds: float) -> tuple[list[av.Packet], bytes]:
    encoder = av.CodecContext.create("aac", "w")
    assert isinstance(encoder, av.AudioCodecContext)
    encoder.sample_rate, encoder.layout, encoder.format = 48000, "stereo", "fltp"
    encoder.open()
    packets: list[av.Packet] = []
    for n in range(int(seconds * 48000 / 1024)):
        tone = np.sin(np.arange(1024) / 20.0 + n).astype(np.float32) * 0.2
        frame = av.AudioFrame.from_ndarray(np.stack([tone, tone]), format="fltp", layout="stereo")
        frame.sample_rate, frame.pts, frame.time_base = 48000, n * 1024, Fraction(1, 48000)
        packets += encoder.encode(frame)
    packets += encoder.encode(None)
    return packets, bytes(encoder.extradata or b"")


def record_program(
    directory: Path, seconds: float, start_s: float = 0.0, audio_from_s: float = 0.0
) -> None:
    """Program segments (H.264 and AAC, as the program engine writes them); the sound begins
    `audio_from_s` into the part (a program whose audio worker started late)."""
    audio, extradata = _aac(seconds)
    audio = [p for p in audio if p.pts is not None and p.pts >= audio_from_s * 48000]
    recorder = SegmentRecorder(
        directory,
        "program",
        VideoParams(width=FMT.width, height=FMT.height, fps=FMT.fps),
        audio=AudioParams(extradata=extradata),
    )
    encoder = make_encoder(FMT)
    video: list[av.Packet] = []
    for n, frame in enumerate(_frames(seconds)):
        frame.pts, frame.time_base = n, Fraction(1, FMT.fps)
        video += encoder.encode(frame)
    video += encoder.encode(None)
    shift_v, shift_a = round(start_s * FMT.fps), round(start_s * 48000)
    for packet in video:
        packet.pts, packet.dts = packet.pts + shift_v, packet.dts + shift_v
    for packet in audio:
        packet.pts = packet.dts = packet.pts + shift_a
    # Interleaved by time, as they arrive from the program's two workers.
    timed = [(float(p.pts / FMT.fps), 0, p) for p in video]
    timed += [(float(p.pts / 48000), 1, p) for p in audio]
    for _t, kind, packet in sorted(timed, key=lambda t: (t[0], t[1])):
        (recorder.write if kind == 0 else recorder.write_audio)(packet)
    recorder.close()


def record_iso(directory: Path, seconds: float, start_s: float = 0.0) -> None:
    """A studio's own feed: VP8 in WebM segments, stamped in milliseconds like IsoRecording."""
    recorder = SegmentRecorder(
        directory,
        "iso-trend",
        VideoParams(
            codec="vp8",
            width=FMT.width,
            height=FMT.height,
            container="webm",
            extension="webm",
            time_base=ISO_TIME_BASE,
        ),
    )
    encoder = av.CodecContext.create("libvpx", "w")
    assert isinstance(encoder, av.VideoCodecContext)
    encoder.width, encoder.height, encoder.pix_fmt = FMT.width, FMT.height, "yuv420p"
    encoder.time_base = ISO_TIME_BASE
    encoder.options = {"deadline": "realtime", "cpu-used": "8"}
    encoder.gop_size = 30
    for n, frame in enumerate(_frames(seconds)):
        frame.pts = round((start_s + n / FMT.fps) * 1000)
        frame.time_base = ISO_TIME_BASE
        for packet in encoder.encode(frame):
            packet.time_base = ISO_TIME_BASE
            recorder.write(packet)
    for packet in encoder.encode(None):
        packet.time_base = ISO_TIME_BASE
        recorder.write(packet)
    recorder.close()


def record_iso_h264(directory: Path, seconds: float, start_s: float = 0.0) -> None:
    """An encoder's own feed: H.264 (Main profile, as OBS or GStreamer send it) and Opus in
    Matroska segments, the studio's parameter sets as extradata, stamped in milliseconds."""
    encoder = av.CodecContext.create("libx264", "w")
    assert isinstance(encoder, av.VideoCodecContext)
    encoder.width, encoder.height, encoder.pix_fmt = FMT.width, FMT.height, "yuv420p"
    encoder.time_base = ISO_TIME_BASE
    encoder.gop_size, encoder.max_b_frames = 30, 0
    encoder.options = {"profile": "main", "tune": "zerolatency", "preset": "ultrafast"}
    video: list[av.Packet] = []
    for n, frame in enumerate(_frames(seconds)):
        frame.pts = round((start_s + n / FMT.fps) * 1000)
        frame.time_base = ISO_TIME_BASE
        video += encoder.encode(frame)
    video += encoder.encode(None)
    sets = h264_parameter_sets(bytes(video[0]))
    assert sets is not None
    recorder = SegmentRecorder(
        directory,
        "iso-trend",
        VideoParams(
            codec="h264",
            width=FMT.width,
            height=FMT.height,
            container="matroska",
            extension="mkv",
            time_base=ISO_TIME_BASE,
            extradata=sets,
        ),
        audio=AudioParams(codec="opus", time_base=ISO_TIME_BASE, extradata=opus_head()),
    )
    opus = av.CodecContext.create("libopus", "w")
    assert isinstance(opus, av.AudioCodecContext)
    opus.sample_rate, opus.layout, opus.format = 48000, "stereo", "s16"
    opus.open()
    audio: list[av.Packet] = []
    for n in range(int(seconds * 50)):
        tone = (np.sin(np.arange(960) / 15.0 + n) * 6000).astype(np.int16)
        interleaved = np.stack([tone, tone], axis=1).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(interleaved, format="s16", layout="stereo")
        frame.sample_rate = 48000
        frame.pts, frame.time_base = n * 960, Fraction(1, 48000)
        audio += opus.encode(frame)
    timed = [(int(p.pts), 0, p) for p in video]
    for p in audio:
        assert p.pts is not None
        ms = round(start_s * 1000 + p.pts / 48)
        p.pts = p.dts = ms
        p.time_base = ISO_TIME_BASE
        timed.append((ms, 1, p))
    for _t, kind, packet in sorted(timed, key=lambda t: (t[0], t[1])):
        packet.time_base = ISO_TIME_BASE
        (recorder.write if kind == 0 else recorder.write_audio)(packet)
    recorder.close()


STREAMS: dict[str, tuple[Callable[[Path, float], None], str, str]] = {
    # stream: how it is recorded, its segments' pattern, its finished file
    "program": (record_program, "program-*.ts", "program.mp4"),
    "iso": (record_iso, "iso-trend-*.webm", "iso-trend.webm"),
    "iso-h264": (record_iso_h264, "iso-trend-*.mkv", "iso-trend.mp4"),
}
WITH_SOUND = ("program", "iso-h264")


def _decoded_seconds(path: Path) -> float:
    with av.open(str(path)) as container:
        times = [f.time for f in container.decode(video=0) if f.time is not None]
    return times[-1] - times[0] + 1 / FMT.fps if times else 0.0


def _has_sound(path: Path) -> bool:
    with av.open(str(path)) as container:
        return bool(container.streams.audio) and any(
            True for _ in container.demux(container.streams.audio[0]) if _.size
        )


# Each crash state from the finished directory (file and journal) and the segments it came
# from (kept aside): what is on disk when the kill comes at that step.
def _before(d: Path, target: Path, segments: list[Path], kept: Path) -> None:
    target.unlink()
    _restore(segments, kept)


def _mid_remux(d: Path, target: Path, segments: list[Path], kept: Path) -> None:
    _before(d, target, segments, kept)
    target.with_name(target.name + ".tmp").write_bytes(b"\x00" * 1000)  # half written


def _journal_before_rename(d: Path, target: Path, segments: list[Path], kept: Path) -> None:
    target.replace(target.with_name(target.name + ".tmp"))  # whole, not renamed yet
    _restore(segments, kept)
    _journal(target, segments)


def _after_rename(d: Path, target: Path, segments: list[Path], kept: Path) -> None:
    _restore(segments, kept)
    _journal(target, segments)


def _mid_deletion(d: Path, target: Path, segments: list[Path], kept: Path) -> None:
    _restore(segments[1:], kept)  # the first is deleted already
    _journal(target, segments)


def _after_deletion(d: Path, target: Path, segments: list[Path], kept: Path) -> None:
    _journal(target, segments)  # the journal's own deletion was next


def _restore(segments: list[Path], kept: Path) -> None:
    for seg in segments:
        shutil.copy2(kept / seg.name, seg)


def _journal(target: Path, segments: list[Path]) -> None:
    journal_of(target).write_text("".join(f"{s.name}\n" for s in segments))


CRASHES = {
    "before finalizing": _before,
    "while remuxing": _mid_remux,
    "journal written, before the rename": _journal_before_rename,
    "after the rename": _after_rename,
    "while deleting the segments": _mid_deletion,
    "before deleting the journal": _after_deletion,
}


@pytest.mark.parametrize("stream", STREAMS)
@pytest.mark.parametrize("crash", CRASHES)
def test_a_kill_at_any_step_of_finalizing_loses_nothing(
    tmp_path: Path, stream: str, crash: str
) -> None:
    record, pattern, name = STREAMS[stream]
    d, kept = tmp_path / "rec", tmp_path / "kept"
    record(d, SECONDS)
    segments = sorted(d.glob(pattern))
    assert len(segments) >= 3
    kept.mkdir()
    _restore_to = [shutil.copy2(s, kept / s.name) for s in segments]
    assert _restore_to
    finalize(segments, d / name)
    whole = _decoded_seconds(d / name)
    assert whole == pytest.approx(SECONDS, abs=0.1)

    CRASHES[crash](d, d / name, segments, kept)
    found = finalize_directory(d)  # what the next start does
    assert [f.name for f in found] == [name], "listed once"
    assert found[0].duration_s == pytest.approx(SECONDS, abs=0.1)
    assert _decoded_seconds(d / name) == pytest.approx(whole, abs=0.05)
    if stream in WITH_SOUND:
        assert _has_sound(d / name)
    assert sorted(p.name for p in d.iterdir()) == [name], "nothing left beside the file"
    assert finalize_directory(d) == found, "a second start changes nothing"


@pytest.mark.parametrize("stream", STREAMS)
def test_a_part_recorded_after_a_finished_file_is_joined_to_it(tmp_path: Path, stream: str) -> None:
    """A kill after the program was finalized but before the studios' feeds were, then a
    restart mid-show: the next part's segments land beside the finished file. Finalizing
    them again must keep the file's part (it used to be overwritten by the new part alone)."""
    record, pattern, name = STREAMS[stream]
    d = tmp_path / "rec"
    record(d, 4.0)
    finalize(sorted(d.glob(pattern)), d / name)
    record(d, 4.0, 10.0)  # the next part: a new recorder, after the existing segments
    found = finalize(sorted(d.glob(pattern)), d / name)
    assert found.duration_s == pytest.approx(14.0, abs=0.2)  # the gap between parts kept
    assert _decoded_seconds(d / name) == pytest.approx(14.0, abs=0.2)
    if stream in WITH_SOUND:
        assert _has_sound(d / name)
    assert sorted(p.name for p in d.iterdir()) == [name]


def test_sound_that_begins_in_a_later_segment_is_kept(tmp_path: Path) -> None:
    """A program whose first segment holds no sound (the audio came late) and later ones do.
    Finalizing used to add the audio track only when it met it, after the file's header: the
    MP4 muxer then died of a division by zero and took the whole server with it."""
    d = tmp_path / "rec"
    record_program(d, 6.0, audio_from_s=2.5)
    segments = sorted(d.glob("program-*.ts"))
    with av.open(str(segments[0])) as first:
        assert not any(p.size for p in first.demux(audio=0)), "the first segment has no sound"
    found = finalize(segments, d / "program.mp4")
    assert found.duration_s == pytest.approx(6.0, abs=0.2)
    with av.open(str(d / "program.mp4")) as container:
        audio = container.streams.audio[0]
        sound_s = sum(p.duration or 0 for p in container.demux(audio) if p.size) * audio.time_base
    assert float(sound_s) == pytest.approx(3.5, abs=0.2), "all the sound there was is kept"


def _child_of(parent: int, module: str) -> int | None:
    for proc in Path("/proc").iterdir():
        try:
            ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (proc / "cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            continue
        if ppid == parent and module.encode() in command:
            return int(proc.name)
    return None


def _kill_child_running(module: str, killed: list[int]) -> None:
    """SIGKILL this process's child running `module` as soon as it exists (it spends its
    first fifth of a second importing PyAV, long before it could finish)."""
    child = eventually_sync(lambda: _child_of(os.getpid(), module), interval=0.005)
    os.kill(child, signal.SIGKILL)
    killed.append(child)


def test_a_finalizing_child_that_dies_loses_nothing_and_the_next_try_finishes(
    tmp_path: Path,
) -> None:
    """The remux runs in a child process (a fault in FFmpeg once killed the whole server):
    a child killed mid-way is an error the caller waits out; the segments are untouched."""
    d = tmp_path / "rec"
    record_program(d, 4.0)
    segments = sorted(d.glob("program-*.ts"))
    sizes = {p.name: p.stat().st_size for p in segments}
    target = d / "program.mp4"
    killed: list[int] = []
    killer = threading.Thread(target=_kill_child_running, args=(isolated.__name__, killed))
    killer.start()
    with pytest.raises(isolated.FinalizeFailed, match="died of SIGKILL"):
        isolated.finalize(segments, target)
    killer.join()
    assert killed, "the child was seen and killed"
    assert {p.name: p.stat().st_size for p in sorted(d.glob("program-*.ts"))} == sizes
    assert not target.exists()
    found = isolated.finalize(segments, target)  # the next start's try
    assert found.duration_s == pytest.approx(4.0, abs=0.2)
    assert _has_sound(target)
    assert sorted(p.name for p in d.iterdir()) == ["program.mp4"]


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state in ("Z", "X")  # dead, only waiting to be reaped


def test_a_finalizing_child_dies_with_its_server(tmp_path: Path) -> None:
    """A kill -9 of the server ends its finalizing child too: the next start's recovery
    finalizes the same directory, and two remuxes into one file at once would spoil it."""
    d = tmp_path / "rec"
    record_program(d, 4.0)
    segments = sorted(d.glob("program-*.ts"))
    script = (
        "import sys; from pathlib import Path; from bridge.recording.isolated import finalize;"
        f"finalize([Path(p) for p in sys.argv[1:]], Path({str(d / 'program.mp4')!r}))"
    )
    server = subprocess.Popen([sys.executable, "-c", script, *map(str, segments)])
    try:
        child = eventually_sync(
            lambda: _child_of(server.pid, isolated.__name__), interval=0.005, message="child"
        )
        os.kill(server.pid, signal.SIGKILL)
        server.wait(10)
        eventually_sync(lambda: _gone(child), message="the child ended with its server")
    finally:
        server.kill()
        server.wait(10)
    found = isolated.finalize(segments, d / "program.mp4")  # the next start's recovery
    assert found.duration_s == pytest.approx(4.0, abs=0.2)
    assert sorted(p.name for p in d.iterdir()) == ["program.mp4"]


def test_a_segment_killed_after_some_sound_but_before_its_first_picture_is_removed(
    tmp_path: Path,
) -> None:
    """The segment being written when a kill -9 came, cut off after its first sound packets
    and before its first picture (a segment's sound can come first): no file can be made of
    it, and it does not stay on disk unlisted."""
    d = tmp_path / "rec"
    record_program(d, 1.5)
    (whole,) = sorted(d.glob("program-*.ts"))
    cut = d / "program-000001.ts"
    with av.open(str(whole)) as src, av.open(str(cut), "w", format="mpegts") as out:
        out.add_stream_from_template(src.streams.video[0])
        audio = out.add_stream_from_template(src.streams.audio[0])
        for packet in [p for p in src.demux(src.streams.audio[0]) if p.size][:10]:
            packet.stream = audio
            out.mux(packet)
    whole.unlink()
    with av.open(str(cut)) as check:
        assert any(p.size for p in check.demux(check.streams.audio[0])), "it holds sound"
    assert holds_no_picture(cut)
    assert finalize_directory(d) == []
    assert list(d.iterdir()) == []
