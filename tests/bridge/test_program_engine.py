"""The program engine: a frame clock, one H.264 encoding, live layout switches (no network)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import av
import numpy as np
import pytest

from bridge.program import engine as program
from bridge.program.compositor import Source
from bridge.program.engine import ProgramEngine, ProgramFormat
from bridge.program.production import Production


def _solid(rgb: tuple[int, int, int]) -> av.VideoFrame:
    img = np.zeros((360, 640, 3), np.uint8)
    img[:] = rgb
    return av.VideoFrame.from_ndarray(img, format="rgb24").reformat(format="yuv420p")


def _decode(packets: list[av.Packet]) -> list[av.VideoFrame]:
    decoder = av.CodecContext.create("h264", "r")
    frames: list[av.VideoFrame] = []
    for packet in packets:
        frames += decoder.decode(packet)  # type: ignore[arg-type]
    return frames


async def _collect(queue: asyncio.Queue[av.Packet], seconds: float) -> list[av.Packet]:
    out: list[av.Packet] = []
    end = asyncio.get_running_loop().time() + seconds
    while (left := end - asyncio.get_running_loop().time()) > 0:
        try:
            out.append(await asyncio.wait_for(queue.get(), left))
        except TimeoutError:
            break
    return out


async def test_the_program_is_one_h264_stream_at_the_frame_rate_and_switches_live() -> None:
    fmt = ProgramFormat(width=640, height=360, fps=30, kbps=1500, preset="ultrafast")
    engine = ProgramEngine(fmt)
    engine.set_sources(["Trend · Baku", "ANSA · Roma"])
    engine.update(0, _solid((200, 40, 40)))
    engine.update(1, _solid((40, 40, 200)))
    queue = engine.subscribe()
    engine.start()
    try:
        first = await _collect(queue, 1.0)
        engine.switch("solo", focus=1)  # on air within one frame period
        second = await _collect(queue, 0.5)
    finally:
        await engine.stop()
    assert first[0].is_keyframe
    frames = _decode(first + second)
    assert (frames[0].width, frames[0].height) == (640, 360)
    # 1.5 s of program at 30 fps: frames carry their clock tick, so time holds even if a
    # loaded machine drops ticks.
    assert 1.3 <= frames[-1].time - frames[0].time <= 1.7
    assert len(frames) + engine.clock.dropped >= 35
    last = frames[-1].to_ndarray(format="rgb24")
    centre = last[180, 320].astype(int)
    assert np.abs(centre - (40, 40, 200)).max() < 25  # Rome alone, full frame
    assert 0 < engine.counters.realtime_factor(fmt.fps) < 1.0


async def test_a_lost_studio_becomes_a_slate_and_a_slow_subscriber_only_loses_its_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(program, "SUBSCRIBER_QUEUE_PACKETS", 10)
    fmt = ProgramFormat(width=640, height=360, fps=30, kbps=1000, preset="ultrafast")
    engine = ProgramEngine(fmt)
    engine.set_sources(["Kabar · Bishkek", "UzA · Tashkent"])
    engine.update(0, _solid((30, 160, 30)))
    engine.update(1, None)  # never connected
    slow = engine.subscribe()
    fast = engine.subscribe()
    engine.start()
    try:
        received = await _collect(fast, 1.0)
    finally:
        await engine.stop()
    assert len(received) >= 25
    # The slow subscriber (never read) holds only the newest packets; the fast one got all.
    assert slow.qsize() == 10
    newest = [slow.get_nowait() for _ in range(10)]
    pts = [p.pts for p in newest]
    assert pts == sorted(pts) and pts[-1] >= received[-1].pts  # the oldest were dropped
    frames = _decode(received)
    right = frames[-1].to_ndarray(format="rgb24")[180, 480].astype(int)
    assert right.max() < 90  # the slate's dark blue-grey, not a frozen picture


async def test_a_recording_stopped_before_its_first_keyframe_records_nothing(
    tmp_path: Path,
) -> None:
    production = Production(
        ["baku"], ["Trend · Baku"], ProgramFormat(width=320, height=180, preset="ultrafast")
    )
    # Not started: the program makes no picture, so the recording never gets its first
    # keyframe (a started program may encode one between the two calls on a busy machine).
    try:
        production.start_recording(tmp_path / "rec")
        assert await production.stop_recording() is None  # no error, no file
    finally:
        await production.close()
    assert not (tmp_path / "rec" / "program.mp4").exists()


async def test_thumbnails_use_the_frames_on_the_program_thread_while_it_composes() -> None:
    # The compositor scales the studios' frames on the program thread, and a PyAV frame's
    # scaler is not thread-safe: a thumbnail made elsewhere hung both (master control froze).
    import threading

    from bridge.room_health import jpeg_of

    fmt = ProgramFormat(width=640, height=360, fps=30, kbps=1500, preset="ultrafast")
    engine = ProgramEngine(fmt)
    engine.set_sources(["Trend · Baku"])
    engine.update(0, _solid((200, 40, 40)))
    engine.start()
    threads: set[str] = set()

    def thumbnail(frame: av.VideoFrame) -> bytes:
        threads.add(threading.current_thread().name)
        return jpeg_of(frame, 160)

    try:
        stills = [await asyncio.wait_for(engine.with_latest(0, thumbnail), 2) for _ in range(20)]
    finally:
        await engine.stop()
    assert all(s is not None and s[:2] == b"\xff\xd8" for s in stills)  # JPEGs
    assert len(threads) == 1 and next(iter(threads)).startswith("program")
    assert await engine.with_latest(5, thumbnail) is None  # no such studio: nothing to show


async def test_studios_leaving_and_joining_the_program_keep_the_others_in_their_places() -> None:
    # A studio removed from (or added to) an open booking: the program's inputs are kept by
    # index, so every other studio's picture, label and solo must move with it.
    fmt = ProgramFormat(width=640, height=360, preset="ultrafast")
    production = Production(["trend", "dha", "kabar"], ["Trend", "DHA", "Kabar"], fmt)
    colours = {"trend": (200, 40, 40), "dha": (40, 200, 40), "kabar": (40, 40, 200)}
    pictures = {sid: _solid(rgb) for sid, rgb in colours.items()}
    engine = production.engine
    try:
        for i, sid in enumerate(production.studio_ids):
            engine.update(i, pictures[sid])
        production.switch("solo", "kabar")
        production.remove_studio("dha")
        assert production.studio_ids == ["trend", "kabar"]
        assert engine.labels == ["Trend", "Kabar"]
        assert engine.latest == {0: pictures["trend"], 1: pictures["kabar"]}
        assert (engine.layout, engine.focus) == ("solo", 1)  # still Kabar alone on air
        assert production.on_program("kabar") and not production.on_program("trend")
        assert set(production.audio.mixer.channels) == {"trend", "kabar"}
        # The studio on air alone leaves: no one else was chosen, so everyone is shown.
        production.remove_studio("kabar")
        assert (production.studio_ids, engine.layout) == (["trend"], "auto")
        production.add_studio("uza", "UzA")
        assert engine.labels == ["Trend", "UzA"]
        assert engine.latest == {0: pictures["trend"], 1: None}  # its slate until its picture
        assert production.on_program("uza") and production.on_program("trend")
        assert set(production.audio.mixer.channels) == {"trend", "uza"}
        # What the next frame shows: Trend on the left, UzA's slate (no picture yet) right.
        sources = [Source(label, engine.latest.get(i)) for i, label in enumerate(engine.labels)]
        rgb = engine.compositor.compose(sources, engine.layout, engine.focus).to_ndarray(
            format="rgb24"
        )
        assert abs(int(rgb[180, 160, 0]) - 200) < 30 and int(rgb[180, 160, 2]) < 80  # Trend
        assert abs(int(rgb[180, 480, 0]) - 200) > 60  # not Trend's red: the newcomer's slate
    finally:
        await production.close()
