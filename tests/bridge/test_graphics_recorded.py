"""The program's graphics in what is recorded: a real aiortc studio's picture, composed,
encoded with x264, recorded, finalized and decoded again with PyAV."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import av
import numpy as np
import pytest
from bridge_peers import StudioClient, spec_for

from bridge.room import Room
from harness.waiting import eventually

pytestmark = pytest.mark.usefixtures("test_network")  # WebRTC on the test veth pair

SHADE = 200  # the studio's camera: bright, so the lower third's dark box stands out
FRAMES_EACH = 40  # program frames before, while and after the lower third shows (~1.3 s each)


def _lumas(path: Path, rect: tuple[int, int, int, int]) -> list[float]:
    """The median brightness of `rect` in each recorded frame of the program file."""
    x, y, w, h = rect
    with av.open(str(path)) as container:
        return [
            float(np.median(frame.to_ndarray(format="gray")[y : y + h, x : x + w]))
            for frame in container.decode(video=0)
        ]


async def test_the_lower_third_is_recorded_while_shown_and_not_after_it_is_hidden(
    tmp_path: Path,
) -> None:
    room = Room(dataclasses.replace(spec_for("baku"), program=True))
    baku = StudioClient("baku", 0, shade=SHADE)
    assert room.production is not None
    counters = room.production.engine.counters

    async def frames_made(after: int) -> None:
        # The program composes on its own clock: wait for its frames, not for a time.
        await eventually(
            lambda: counters.frames >= after + FRAMES_EACH,
            timeout=20,
            message=lambda: f"{FRAMES_EACH} program frames after {after} ({counters.frames})",
        )

    try:
        await baku.join(room)

        async def in_program() -> bool:
            return await room.thumbnail("baku") is not None

        await eventually(in_program, timeout=20, message="Baku's picture in the program")
        assert room.start_recording(tmp_path / "rec")
        await frames_made(counters.frames)
        room.set_lower_third("baku", "Ayşə Məmmədova <b>", "Economist, Baku", True)
        await frames_made(counters.frames)
        room.set_lower_third("baku", "Ayşə Məmmədova <b>", "Economist, Baku", False)
        await frames_made(counters.frames)
        files = await room.stop_recording()
        rect = room.production.engine.compositor.painter.placed["lower_third/baku"]
    finally:
        await baku.close()
        await room.close()

    program = next(f for f in files if f.kind == "program")
    lumas = _lumas(program.path, rect)
    # The studio's bright picture where the lower third goes, or its dark box (the fade's few
    # frames lie between): each frame is one or the other by the middle of the two.
    covered = [luma < (SHADE + 40) / 2 for luma in lumas]
    assert not covered[0], lumas[:5]  # not there before it was shown
    first = covered.index(True)
    last = len(covered) - 1 - covered[::-1].index(True)
    assert all(covered[first : last + 1]), "shown once, without a gap"
    assert last - first + 1 >= FRAMES_EACH * 2 // 3, (first, last, len(lumas))
    assert len(covered) - 1 - last >= FRAMES_EACH * 2 // 3, "gone after it was hidden"
    assert not any(covered[last + 1 :])
    # And it is the card, not a dark picture: the name's white letters are in the box.
    with av.open(str(program.path)) as container:
        middle = next(
            f for i, f in enumerate(container.decode(video=0)) if i == (first + last) // 2
        )
    x, y, w, h = rect
    box = middle.to_ndarray(format="gray")[y : y + h, x : x + w]
    assert np.median(box) < 80 and np.percentile(box, 99) > 200
