"""Recording: crash-safe segments, a faststart MP4 at the end, its checksum (no network)."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from bridge.program.engine import ProgramFormat, make_encoder
from bridge.recording.directory import finalize_directory
from bridge.recording.finalize import finalize
from bridge.recording.recorder import AudioParams, SegmentRecorder, VideoParams

FMT = ProgramFormat(width=320, height=180, fps=30, kbps=500, preset="ultrafast")


def _packets(seconds: float, start: int = 0) -> list[av.Packet]:
    encoder = make_encoder(FMT)
    out: list[av.Packet] = []
    for n in range(int(seconds * FMT.fps)):
        img = np.full((FMT.height, FMT.width, 3), (n * 5) % 255, np.uint8)
        frame = av.VideoFrame.from_ndarray(img, format="rgb24").reformat(format="yuv420p")
        frame.pts, frame.time_base = start + n, Fraction(1, FMT.fps)
        out += encoder.encode(frame)
    out += encoder.encode(None)
    return out


def _probe(path: Path) -> dict:
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-show_format", "-show_streams", "-of", "json", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


def _duration(path: Path) -> float:
    """Seconds of video that decode, by decoding every frame (as a player would)."""
    frames = 0
    try:
        with av.open(str(path)) as container:
            for _ in container.decode(video=0):
                frames += 1
    except av.FFmpegError:
        pass  # a file cut off by the kill: what decoded before the cut counts
    return frames / FMT.fps


pytestmark = pytest.mark.skipif(
    subprocess.run(["which", "ffprobe"], capture_output=True).returncode != 0
    and not os.environ.get("CI"),
    reason="ffprobe (Debian's ffmpeg) is not installed",
)


def test_segments_become_one_faststart_mp4_with_the_right_duration_and_checksum(
    tmp_path: Path,
) -> None:
    recorder = SegmentRecorder(
        tmp_path / "rec", "program", VideoParams(width=FMT.width, height=FMT.height, fps=FMT.fps)
    )
    for packet in _packets(7.0):
        recorder.write(packet)
    recorder.close()
    segments = recorder.segments()
    assert len(segments) >= 3  # 2-second segments, each from a keyframe
    finished = finalize(segments, tmp_path / "program.mp4")
    assert finished.path.exists() and not Path(str(finished.path) + ".tmp").exists()
    assert finished.sha256 == hashlib.sha256(finished.path.read_bytes()).hexdigest()
    probe = _probe(finished.path)
    video = probe["streams"][0]
    assert (video["codec_name"], video["width"], video["height"]) == ("h264", 320, 180)
    assert abs(float(probe["format"]["duration"]) - 7.0) < 0.2
    assert abs(finished.duration_s - 7.0) < 0.2
    head = finished.path.read_bytes()[:4096]
    assert head.find(b"moov") != -1 and head.find(b"moov") < max(head.find(b"mdat"), 4096)
    assert recorder.counters.dropped == 0 and recorder.counters.realtime_factor < 1.0
    assert not any(s.exists() for s in segments)  # in the MP4 now: not kept twice


def test_a_restart_continues_as_new_segments_of_the_same_recording(tmp_path: Path) -> None:
    params = VideoParams(width=FMT.width, height=FMT.height, fps=FMT.fps)
    first = SegmentRecorder(tmp_path / "rec", "program", params)
    for packet in _packets(3.0):
        first.write(packet)
    first.close()
    second = SegmentRecorder(tmp_path / "rec", "program", params)  # after a restart
    for packet in _packets(3.0):  # timestamps start from 0 again
        second.write(packet)
    second.close()
    finished = finalize(second.segments(), tmp_path / "program.mp4")
    assert abs(_duration(finished.path) - 6.0) < 0.2
    assert abs(finished.duration_s - 6.0) < 0.2


WRITER = """
import sys, time
from fractions import Fraction
from pathlib import Path
import av, numpy as np
from bridge.program.engine import make_encoder, ProgramFormat
from bridge.recording.recorder import SegmentRecorder, VideoParams
fmt = ProgramFormat(width=320, height=180, fps=30, kbps=500, preset="ultrafast")
rec = SegmentRecorder(Path(sys.argv[1]), "program", VideoParams(width=320, height=180, fps=30))
enc = make_encoder(fmt)
start, n = time.monotonic(), 0
while True:
    img = np.full((180, 320, 3), (n * 5) % 255, np.uint8)
    frame = av.VideoFrame.from_ndarray(img, format="rgb24").reformat(format="yuv420p")
    frame.pts, frame.time_base = n, Fraction(1, 30)
    for p in enc.encode(frame):
        rec.write(p)
    n += 1
    if n % 30 == 0:
        print(n // 30, flush=True)
    time.sleep(max(0.0, n / 30 - (time.monotonic() - start)))
"""


def test_kill_9_while_recording_loses_at_most_the_last_two_seconds(tmp_path: Path) -> None:
    directory = tmp_path / "rec"
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(directory)], stdout=subprocess.PIPE, text=True
    )
    try:
        seconds = 0
        while seconds < 6:  # six seconds of media written in real time
            line = proc.stdout.readline()  # type: ignore[union-attr]
            assert line, "the writer died"
            seconds = int(line)
        written = seconds
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    segments = sorted(directory.glob("program-*.ts"))
    kept = sum(_duration(s) for s in segments)
    print(f"\n{kept:.2f} s of {written} s survived the kill")
    assert kept >= written - 2.0, f"{kept:.1f} s of {written} s survived"
    # What survived still makes a finished recording.
    finished = finalize(segments, tmp_path / "program.mp4")
    assert abs(_duration(finished.path) - kept) < 0.2


def test_recovery_finds_what_was_finalized_but_never_registered(tmp_path: Path) -> None:
    """The server finalized the program (its segments are gone) and stopped before the
    archive entry was written: recovery returns the finished file as it is."""
    directory = tmp_path / "rec"
    params = VideoParams(width=FMT.width, height=FMT.height, fps=FMT.fps)
    program = SegmentRecorder(directory, "program", params)
    iso = SegmentRecorder(directory, "iso-trend", params)
    for packet in _packets(3.0):
        program.write(packet)
    for packet in _packets(2.0):
        iso.write(packet)
    program.close()
    iso.close()
    done = finalize(program.segments(), directory / "program.mp4")
    found = finalize_directory(directory)  # the ISO from segments, the program as is
    assert [(f.kind, f.studio_id, f.name) for f in found] == [
        ("iso", "trend", "iso-trend.mp4"),
        ("program", None, "program.mp4"),
    ]
    program_file = found[1]
    assert (program_file.path, program_file.bytes, program_file.sha256) == (
        done.path,
        done.bytes,
        done.sha256,
    )
    assert program_file.duration_s == done.duration_s and program_file.media_type == "video/mp4"
    assert abs(found[0].duration_s - 2.0) < 0.2
    assert (directory / "iso-trend.mp4").exists() and not iso.segments()
    assert finalize_directory(directory) == found  # again: nothing changes


def test_a_recording_of_one_picture_and_no_sound_yet_is_a_playable_file(tmp_path: Path) -> None:
    """Stopped right after it began: the segment declares an audio stream that never got a
    packet (no sample rate), which the MP4 muxer refuses; that once made an empty file that
    was registered as finished."""
    recorder = SegmentRecorder(
        tmp_path / "rec",
        "program",
        VideoParams(width=FMT.width, height=FMT.height, fps=FMT.fps),
        audio=AudioParams(),
    )
    recorder.write(_packets(0.1)[0])  # the first key frame only
    recorder.close()
    finished = finalize(recorder.segments(), tmp_path / "program.mp4")
    assert finished.bytes > 0 and finished.bytes == finished.path.stat().st_size
    assert _duration(finished.path) == pytest.approx(1 / FMT.fps)
    (stream,) = _probe(finished.path)["streams"]
    assert stream["codec_type"] == "video"


def _aac_packets(seconds: float) -> tuple[list[av.Packet], bytes | None]:
    """A 440 Hz tone as AAC blocks (1024 samples at 48 kHz), pts in samples from 0."""
    encoder = av.CodecContext.create("aac", "w")
    assert isinstance(encoder, av.AudioCodecContext)
    encoder.sample_rate, encoder.layout, encoder.format = 48000, "stereo", "fltp"
    encoder.time_base = Fraction(1, 48000)
    encoder.open()
    out: list[av.Packet] = []
    for n in range(int(seconds * 48000 / 1024)):
        t = (np.arange(1024) + n * 1024) / 48000
        tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
        frame = av.AudioFrame.from_ndarray(np.stack([tone, tone]), format="fltp", layout="stereo")
        frame.sample_rate, frame.pts, frame.time_base = 48000, n * 1024, Fraction(1, 48000)
        out += encoder.encode(frame)
    out += encoder.encode(None)
    return out, encoder.extradata


def test_sound_that_comes_before_the_first_picture_starts_the_file_with_it(
    tmp_path: Path,
) -> None:
    """The picture's encoder lags the sound's (more on a loaded machine): the sound of the first
    keyframe's moment reaches the recorder before the keyframe does. It once was dropped, and
    a loaded CI run recorded 0.32 s less sound than picture."""
    audio, extradata = _aac_packets(3.0)
    video = _packets(2.5, start=15)  # the first picture 0.5 s after the sound's 0
    recorder = SegmentRecorder(
        tmp_path / "rec",
        "program",
        VideoParams(width=FMT.width, height=FMT.height, fps=FMT.fps),
        audio=AudioParams(extradata=extradata),
    )
    lag = 1.0  # the picture arrives 1 s behind the sound of the same moment
    arrivals = [((p.pts or 0) / 48000, 1, p) for p in audio]
    arrivals += [((p.pts or 0) / FMT.fps + lag, 0, p) for p in video]
    for _, kind, packet in sorted(arrivals, key=lambda a: (a[0], a[1])):
        (recorder.write_audio if kind else recorder.write)(packet)
    recorder.close()
    finished = finalize(recorder.segments(), tmp_path / "program.mp4")
    with av.open(str(finished.path)) as container:
        blocks = list(container.decode(audio=0))
    with av.open(str(finished.path)) as container:
        first_picture = next(container.decode(video=0)).time
    first = blocks[0].time
    assert first is not None and first_picture is not None
    assert abs(first - first_picture) < 0.05  # from the first picture's moment
    heard = sum(b.samples for b in blocks) / 48000
    assert heard > 2.4, heard  # the sound of the whole 2.5 s of picture
    # What came before the first picture is not in the file: 0.5 s of blocks, counted.
    assert abs(recorder.counters.audio_dropped - 0.5 * 48000 / 1024) <= 2


def test_pictures_after_a_dropped_one_wait_for_the_next_keyframe(tmp_path: Path) -> None:
    """A full queue (a disk that stalls) drops a picture; the ones after it refer to it, and a
    file with them in it fails to decode there (a player stops on it). They are dropped too,
    up to the next keyframe, so every picture in the file decodes."""
    from bridge.recording import recorder as recorder_module

    stalled, release = threading.Event(), threading.Event()

    def stall_once(_: object) -> None:  # on the recorder's thread: the disk stalls
        if not stalled.is_set():
            stalled.set()
            assert release.wait(30)

    recorder = SegmentRecorder(
        tmp_path / "rec",
        "program",
        VideoParams(width=FMT.width, height=FMT.height, fps=FMT.fps),
        segment_seconds=0,  # every keyframe cuts: the first cut stalls the thread
        on_segment=stall_once,
    )
    packets = _packets((recorder_module.QUEUE_PACKETS + 300) / FMT.fps)
    gop = int(FMT.gop_seconds * FMT.fps)
    for packet in packets[: gop + 1]:  # up to the second keyframe: the cut, the stall
        recorder.write(packet)
    assert stalled.wait(30)
    overflow = gop + 1 + recorder_module.QUEUE_PACKETS + 20  # the queue fills, pictures drop
    for packet in packets[gop + 1 : overflow]:
        recorder.write(packet)
    release.set()  # the disk is back: the queue drains
    deadline = time.monotonic() + 30
    while recorder.counters.packets + recorder.counters.dropped < overflow:
        assert time.monotonic() < deadline, "the recorder did not drain its queue"
        time.sleep(0.01)
    for packet in packets[overflow:]:  # pictures that refer to the lost ones, then a keyframe
        recorder.write(packet)
    recorder.close()
    assert recorder.counters.dropped > 0
    assert recorder.counters.packets + recorder.counters.dropped == len(packets)
    written: list[tuple[int, bool]] = []  # (frame tick, keyframe) of every picture in the files
    for segment in recorder.segments():
        with av.open(str(segment)) as container:
            written += [
                (round(p.pts * p.time_base * FMT.fps), p.is_keyframe)
                for p in container.demux(video=0)
                if p.size and p.pts is not None and p.time_base is not None
            ]
    written.sort()
    gaps = [(a, b) for a, b in itertools.pairwise(written) if b[0] - a[0] > 1]
    assert gaps  # the stall lost pictures
    assert all(after[1] for _, after in gaps), gaps  # each gap ends on a keyframe
