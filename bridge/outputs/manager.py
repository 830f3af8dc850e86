"""A room's live outputs by id: started, stopped and shown together.

Outputs that ended (stopped by hand, or failed) stay listed with their last figures, so master
control still sees what became of them; starting one of them again replaces it with a fresh
output of the new target (its run starts over: retries, errors, live time).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from bridge.outputs.base import LiveOutput, OutputListener, ProgramSource
from bridge.outputs.push import PushOutput
from bridge.program.demand import Claim
from bridge.spec import OutputFigures, OutputKind, OutputState, OutputTarget

log = logging.getLogger("telebridge.bridge.outputs")

ENDED = (OutputState.IDLE, OutputState.STOPPED, OutputState.FAILED)


class Outputs:
    """The live outputs of one room's program."""

    def __init__(self, source: ProgramSource, on_change: OutputListener | None = None) -> None:
        self._source = source
        self._on_change = on_change
        self._outputs: dict[str, LiveOutput] = {}
        # One start or stop of an output at a time (a start during its stop would find it
        # still running); other outputs are not held up by one that takes a while to stop.
        self._locks: dict[str, asyncio.Lock] = {}
        # A started output uses the program from its start to its stop, retries included:
        # the picture is not stopped under an output that is reconnecting.
        self._claims: dict[str, Claim] = {}

    async def start(self, target: OutputTarget, hls_dir: Path | None = None) -> None:
        """Start the output `target.id` (again, if it ended); a no-op while it runs."""
        async with self._locks.setdefault(target.id, asyncio.Lock()):
            existing = self._outputs.get(target.id)
            if existing is not None and existing.figures().state not in ENDED:
                return
            output = self._make(target, hls_dir)
            self._outputs[target.id] = output
            if target.id not in self._claims:
                self._claims[target.id] = self._source.engine.demand.claim(f"output {target.id}")
            await output.start()

    async def stop(self, output_id: str) -> bool:
        """Stop an output (it stays listed); False when the room has no output of that id."""
        async with self._locks.setdefault(output_id, asyncio.Lock()):
            output = self._outputs.get(output_id)
            if output is None:
                return False
            await output.stop()
            self._release(output_id)
            return True

    def _release(self, output_id: str) -> None:
        claim = self._claims.pop(output_id, None)
        if claim is not None:
            claim.release()

    def figures(self) -> tuple[OutputFigures, ...]:
        """Every output's state, the ended ones included, in the order they were added."""
        return tuple(output.figures() for output in self._outputs.values())

    async def close(self) -> None:
        """Stop them all (the room is closing): processes, threads and taps end here."""
        outputs = list(self._outputs.values())
        # Together: each may take a few seconds to end its stream cleanly.
        results = await asyncio.gather(*(o.stop() for o in outputs), return_exceptions=True)
        for output, result in zip(outputs, results, strict=True):
            if isinstance(result, Exception):  # the others were stopped all the same
                log.error("output %s did not stop cleanly: %r", output.target.id, result)
        for output_id in list(self._claims):
            self._release(output_id)

    def _make(self, target: OutputTarget, hls_dir: Path | None) -> LiveOutput:
        if target.kind is OutputKind.HLS:
            if hls_dir is None:
                raise ValueError("an HLS output needs the directory it is served from")
            # Imported here, where it is used: the RTMP and SRT outputs do not depend on the
            # HLS module, and a room without an HLS output never loads it.
            from bridge.outputs.hls import HlsOutput

            return HlsOutput(target, self._source, hls_dir, self._on_change)
        return PushOutput(target, self._source, self._on_change)
