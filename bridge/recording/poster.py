"""The archive's poster: one picture of a finished recording, made once and kept beside it."""

from __future__ import annotations

from pathlib import Path

import av
from PIL import Image

from bridge.recording.directory import POSTER

POSTER_AT = 0.1  # a tenth of the way in: past any slate or black of the first seconds
POSTER_QUALITY = 82


def poster_of(program: Path) -> Path:
    """The poster JPEG of the recording whose program file is `program`, made the first time
    it is asked for (decodes video: call it through an executor, never on the event loop)."""
    target = program.with_name(POSTER)
    if not target.exists():
        _write_poster(program, target)
    return target


def _write_poster(source: Path, target: Path) -> None:
    with av.open(str(source)) as container:
        stream = container.streams.video[0]
        duration = float(container.duration or 0) / av.time_base
        if duration > 1:
            container.seek(int(duration * POSTER_AT * av.time_base))
        for frame in container.decode(stream):
            tmp = target.with_suffix(".tmp.jpg")
            # Written aside and renamed: two viewers asking at once never see half a JPEG.
            Image.fromarray(frame.to_ndarray(format="rgb24")).save(tmp, quality=POSTER_QUALITY)
            tmp.replace(target)
            return
