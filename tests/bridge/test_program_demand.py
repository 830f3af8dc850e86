"""The program's picture on demand: composed and encoded only while something uses it.

Real engines (libx264, the frame clock), and real aiortc consoles for the return feed: the
users are what subscribes to the program's packets (a recording's or an output's tap, a
return feed, a control room).
"""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import av
import numpy as np
from bridge_peers import StudioClient, frame_of, spec_for

from bridge.program.demand import ProgramDemand
from bridge.program.engine import ProgramEngine, ProgramFormat
from bridge.program.production import Production
from bridge.room import Room
from harness.waiting import eventually

LINGER = 0.3
FMT = ProgramFormat(width=320, height=180, fps=30, kbps=600, preset="ultrafast")


def _solid(rgb: tuple[int, int, int]) -> av.VideoFrame:
    img = np.zeros((180, 320, 3), np.uint8)
    img[:] = rgb
    return av.VideoFrame.from_ndarray(img, format="rgb24").reformat(format="yuv420p")


async def _frames_still(engine: ProgramEngine, seconds: float) -> bool:
    """Whether the engine made no frame for `seconds` (the wait is what is measured), once
    the frame its worker may still have been making when the clock stopped is done."""
    await engine.clock.on_worker(lambda: None)  # after the work already given to it
    before = engine.counters.frames
    await asyncio.sleep(seconds)
    return engine.counters.frames == before


async def test_the_picture_stops_a_linger_after_its_last_user_and_comes_back_with_a_keyframe() -> (
    None
):
    engine = ProgramEngine(FMT, linger=LINGER)
    engine.set_sources(["Trend · Baku"])
    engine.update(0, _solid((200, 40, 40)))
    engine.start()
    try:
        assert engine.composing  # a room opens composing: a user may come at once
        await eventually(lambda: not engine.composing, message="the unused picture stopping")
        assert await _frames_still(engine, 0.5)  # nothing composed, nothing encoded

        started = asyncio.get_running_loop().time()
        viewer = engine.subscribe("a test viewer")
        assert engine.composing and engine.demand.users == ("a test viewer",)
        first = await asyncio.wait_for(viewer.get(), 5)
        assert first.is_keyframe  # decodable by itself: the viewer starts there
        waited = asyncio.get_running_loop().time() - started
        assert waited < 5  # (the goal, a second, is measured by bench/, not asserted here)
        frames = engine.counters.frames
        await eventually(lambda: engine.counters.frames >= frames + 5, message="frames going on")

        engine.unsubscribe(viewer)
        await eventually(lambda: not engine.composing, message="the picture stopping again")
        assert await _frames_still(engine, 0.5)
    finally:
        await engine.stop()


async def test_a_user_back_within_the_linger_keeps_the_picture_running() -> None:
    calls: list[str] = []
    demand = ProgramDemand(lambda: calls.append("start"), lambda: calls.append("stop"), LINGER)
    early = demand.claim("a recording set up before the room opened")
    assert calls == [] and not demand.running  # nothing runs before the room opens
    demand.begin()
    early.release()
    console = demand.claim("the return feed of trend")
    recording = demand.claim("the recording")
    console.release()
    console.release()  # a second release changes nothing
    recording.release()
    again = demand.claim("the return feed of trend")  # a reconnect, within the linger
    await asyncio.sleep(LINGER * 2)
    assert calls == ["start"] and demand.running
    again.release()
    await eventually(lambda: not demand.running, message="the stop after the last release")
    assert calls == ["start", "stop"]
    demand.claim("an output").release()
    assert calls == ["start", "stop", "start"]
    demand.close()
    await asyncio.sleep(LINGER * 2)
    assert calls == ["start", "stop", "start"]  # closed: the room's close stops the engines


async def test_a_recording_keeps_the_picture_composed_until_it_stops(tmp_path: Path) -> None:
    production = Production(["baku"], ["Trend · Baku"], FMT, linger=LINGER)
    production.engine.update(0, _solid((40, 160, 40)))
    production.start()
    try:
        await eventually(lambda: not production.engine.composing, message="idle picture off")
        production.start_recording(tmp_path / "rec")
        assert production.engine.composing
        await asyncio.sleep(LINGER * 3)  # well past the linger: the recording holds it
        assert production.engine.composing
        finished = await production.stop_recording()
        assert finished is not None and finished.duration_s > LINGER * 2
        await eventually(lambda: not production.engine.composing, message="off after the stop")
    finally:
        await production.close()


async def test_a_console_that_puts_the_program_away_stops_its_picture_and_gets_it_back() -> None:
    room = Room(dataclasses.replace(spec_for("baku", "rome"), program=True), program_linger=LINGER)
    baku = StudioClient("baku", 1, shade=40, program_return=True)
    rome = StudioClient("rome", 1, shade=200)  # like an encoder: no return feed asked for
    assert room.production is not None
    engine = room.production.engine
    try:
        await baku.join(room)
        await rome.join(room)
        program = baku.tracks["program/video"]
        await frame_of(program)  # Baku's console shows the program: it is composed
        assert engine.demand.users == ("the return feed of baku",)

        room.show_program("baku", False)  # the operator puts it away
        assert not room.program_shown("baku")
        await eventually(lambda: not engine.composing, message="no picture for nobody")
        assert await _frames_still(engine, 0.5)
        await frame_of(baku.tracks["rome/video"])  # the partner's picture goes on meanwhile

        await baku.close()  # a reconnect keeps the choice: no picture composed for it
        baku = StudioClient("baku", 1, shade=40, program_return=True)
        await baku.join(room)
        await frame_of(baku.tracks["rome/video"])
        assert not engine.composing and engine.demand.users == ()

        room.show_program("baku", True)  # and takes it back, on the same connection
        assert engine.composing
        first = await frame_of(baku.tracks["program/video"])
        assert first.width == 1280  # type: ignore[attr-defined]
    finally:
        await baku.close()
        await rome.close()
        await room.close()
