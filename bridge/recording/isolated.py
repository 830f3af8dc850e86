"""Finalizing in a child process: a fault in FFmpeg ends the child, never the server.

Finalizing remuxes segments that a kill -9, a studio or an encoder may have left in any state,
through FFmpeg's demuxers and muxers. A fault there ends the process that runs it: FFmpeg's MP4
muxer once died of a division by zero on a program whose sound began in its second segment,
and with the remux in the server's own process that took every live room of the node with it.
So `finalize` runs bridge.recording.finalize in a child (`python -m bridge.recording.isolated`,
the request as JSON on its stdin, the finished file as JSON on its stdout). The child's log
lines are relayed into the server's log. A child that dies or hangs is a `FinalizeFailed`: the
segments stay where they are (finalizing is crash-safe step by step), and the next start's
recovery tries again. Blocking: call it off the event loop.
"""

from __future__ import annotations

import ctypes
import json
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

from bridge.recording import finalize as remux
from bridge.recording.finalize import FinishedFile

log = logging.getLogger("telebridge.bridge.recorder")

# A bound against a child that hangs, far above any real remux (a two-hour show's program and
# six ISOs are copied in well under a minute here).
TIMEOUT_S = 3600.0
NOTHING_READABLE = 3  # the child's exit status when no segment could be read (ValueError)
PR_SET_PDEATHSIG = 1  # linux/prctl.h
_LOG_LINE = "%(levelname)s %(name)s %(message)s"


class FinalizeFailed(RuntimeError):
    """The child finalizing a stream died, hung or failed: nothing was lost, nothing filed."""


def finalize(segments: list[Path], target: Path, timeout_s: float = TIMEOUT_S) -> FinishedFile:
    """bridge.recording.finalize.finalize, run in a child process (see the module's docstring).

    Raises ValueError, as the remux does, when no segment could be read; FinalizeFailed when
    the child did not finish.
    """
    request = json.dumps(
        {"target": str(target), "segments": [str(s) for s in segments], "parent": os.getpid()}
    )
    try:
        done = subprocess.run(
            [sys.executable, "-m", __name__],
            input=request,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:  # the child is killed: its segments stay
        raise FinalizeFailed(f"finalizing {target.name} took over {timeout_s:g} s") from exc
    said = _relay(done.stderr)
    if done.returncode == 0:
        try:
            found = json.loads(done.stdout)
            return FinishedFile(Path(found["path"]), found["bytes"], found["sha256"], found["s"])
        except (ValueError, KeyError, TypeError) as exc:  # not "nothing readable": a fault
            raise FinalizeFailed(f"finalizing {target.name} answered {done.stdout!r}") from exc
    if done.returncode == NOTHING_READABLE:
        raise ValueError(said or "no segment could be read")
    if done.returncode < 0:
        name = signal.Signals(-done.returncode).name
        raise FinalizeFailed(f"finalizing {target.name} died of {name}")
    raise FinalizeFailed(f"finalizing {target.name} failed: {said or done.returncode}")


def _relay(stderr: str) -> str:
    """Log the child's lines as the server's own; its last line (why it failed, if it did)."""
    last = ""
    for line in stderr.splitlines():
        level, _, rest = line.partition(" ")
        name, _, message = rest.partition(" ")
        if level in logging.getLevelNamesMapping() and name:
            logging.getLogger(name).log(logging.getLevelNamesMapping()[level], "%s", message)
            last = message
        elif line.strip():
            log.warning("finalizing: %s", line)  # FFmpeg's own words, or a traceback
            last = line.strip()
    return last


def _die_with(parent: int) -> None:
    """End this child when its server ends, a kill -9 included: the next start's recovery
    finalizes the same directory, and two remuxes into one file at once would spoil it."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the server died before that took hold
        os._exit(1)


def main() -> int:
    """The child: one request on stdin, the finished file on stdout."""
    # Every line goes to the parent, whose loggers keep what their levels let through.
    logging.basicConfig(level=logging.DEBUG, format=_LOG_LINE, stream=sys.stderr)
    request = json.load(sys.stdin)
    _die_with(int(request["parent"]))
    segments = [Path(s) for s in request["segments"]]
    try:
        found = remux.finalize(segments, Path(request["target"]))
    except ValueError as exc:
        logging.getLogger(log.name).debug("%s", exc)  # the parent raises it: not logged twice
        return NOTHING_READABLE
    reply = {"path": str(found.path), "bytes": found.bytes, "sha256": found.sha256}
    print(json.dumps({**reply, "s": found.duration_s}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
