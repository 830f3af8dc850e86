"""RTMP and SRT outputs: the program pushed to a partner's platform or playout.

Each connection attempt runs a child process fed MPEG-TS through a pipe
(bridge.outputs.ts_pipe): Debian's ffmpeg for RTMP, which remuxes it into FLV
(bridge.outputs.ffmpeg), and srt-live-transmit for SRT, which sends the TS as it is
(bridge.outputs.srt_transmit); each module holds its child's command line, what it reports and
its errors in words. This module is the attempt loop around them: resolve the host, start the
child, open a tap, follow the attempt, and end it when the destination stops taking data (the
writer's queue fills, or the bytes sent stop growing); then retry with backoff, for as long as
the output runs. Its state (CONNECTING, LIVE, RETRYING, STOPPED, FAILED) and figures come from
there: LIVE once the child reports bytes sent to the destination, the last error being the
child's last words, explained and redacted.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import socket
import time
from collections import deque
from pathlib import Path

from bridge.cancelling import cancel_and_wait
from bridge.outputs import ffmpeg, srt_transmit
from bridge.outputs.base import OutputListener, ProgramSource, backoff_seconds
from bridge.outputs.destination import (
    FFMPEG_CHILD,
    SRT_CHILD,
    Destination,
    Unusable,
    destination,
    redact,
)
from bridge.outputs.sender import Progress, Sender
from bridge.outputs.ts_pipe import QUEUE_PACKETS, TsPipe
from bridge.program.tap import ProgramTap
from bridge.spec import OutputFigures, OutputState, OutputTarget

log = logging.getLogger("telebridge.bridge.outputs.push")

STALL_SECONDS = 5.0  # no byte reached the destination for this long: end the attempt
CHECK_SECONDS = 0.25  # how often an attempt looks at its process and progress
TERM_GRACE_S = 1.0  # SIGTERM, then SIGKILL after this long
EXIT_WAIT_S = 2.0  # at stop, for a sender to finish the stream cleanly after its input ends
RESOLVE_TIMEOUT_S = 5.0
STDERR_LINES = 30
SENDERS = {sender.name: sender for sender in (ffmpeg.SENDER, srt_transmit.SENDER)}


class PushOutput:
    """One RTMP or SRT output of a room's program (see the module's docstring)."""

    def __init__(
        self,
        target: OutputTarget,
        source: ProgramSource,
        on_change: OutputListener | None = None,
        *,
        ffmpeg: Path = ffmpeg.FFMPEG,
        srt_live_transmit: Path = srt_transmit.SRT_LIVE_TRANSMIT,
    ) -> None:
        self.target = target
        self._source = source
        self._on_change = on_change
        # Where each sender is installed here, by its name.
        self._binaries = {FFMPEG_CHILD: ffmpeg, SRT_CHILD: srt_live_transmit}
        self._state = OutputState.IDLE
        self._last_error: str | None = None
        self._retries = 0
        self._ever_live = False
        self._live_since: float | None = None  # while live
        self._live_seconds = 0.0  # how long its last live stretch lasted
        self._progress: Progress | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False  # stop() is ending the attempt: let the child finish cleanly
        self._secrets = tuple(s for s in (target.key, target.passphrase) if s)

    # --- the LiveOutput protocol ------------------------------------------------------------

    async def start(self) -> None:
        """Begin (or begin again after stop); a no-op while running."""
        if self._task is not None:
            return
        self._retries, self._ever_live, self._last_error = 0, False, None
        self._live_seconds = 0.0
        try:
            dest = destination(self.target)
        except Unusable as exc:
            self._set(OutputState.FAILED, redact(str(exc), self._secrets))
            return
        binary = self._binaries[dest.child]
        if not os.access(binary, os.X_OK):
            missing = f"{binary.name} is not installed ({binary} is missing)"
            self._set(OutputState.FAILED, missing)
            return
        self._secrets = dest.secrets  # the URL's password too, if it has one
        self._set(OutputState.CONNECTING, None)
        self._task = asyncio.ensure_future(self._run(dest))

    async def stop(self) -> None:
        """End the attempt (its sender, its pipe, the tap) within a few seconds; STOPPED if the
        destination was reached in this run, else FAILED with the last error."""
        task, self._task = self._task, None
        if task is not None:
            self._stopping = True
            try:
                await cancel_and_wait(task)
            finally:
                self._stopping = False
        if self._state in (OutputState.FAILED, OutputState.STOPPED, OutputState.IDLE):
            return
        self._left_live()
        if self._ever_live:
            self._set(OutputState.STOPPED, self._last_error)
        else:
            self._set(OutputState.FAILED, self._last_error or "stopped before it went live")

    def figures(self) -> OutputFigures:
        """Its state now (never a secret: errors are redacted when they are kept)."""
        now = time.monotonic()
        live = self._state is OutputState.LIVE
        return OutputFigures(
            id=self.target.id,
            kind=self.target.kind,
            state=self._state,
            bitrate_kbps=self._progress.kbps(now) if live and self._progress else None,
            last_error=self._last_error,
            retries=self._retries,
            live_seconds=round(self._live_for(now), 1),
        )

    def _live_for(self, now: float) -> float:
        """Since it went live; after, how long that lasted (until it goes live again)."""
        return now - self._live_since if self._live_since is not None else self._live_seconds

    def _left_live(self) -> None:
        self._live_seconds = self._live_for(time.monotonic())
        self._live_since, self._progress = None, None

    # --- attempts ---------------------------------------------------------------------------

    def _set(self, state: OutputState, error: str | None) -> None:
        if (state, error) == (self._state, self._last_error):
            return
        self._state, self._last_error = state, error
        log.info(
            "output %s (%s): %s%s",
            self.target.id,
            self.target.kind.value,
            state.value,
            f" ({error})" if error else "",
        )
        if self._on_change is not None:
            self._on_change(self.figures())

    async def _run(self, dest: Destination) -> None:
        """Attempt after attempt, with backoff between them, until stop() cancels it."""
        failures = 0  # in a row: the backoff starts over after an attempt that went live
        while True:
            if failures:
                await asyncio.sleep(backoff_seconds(failures))
                self._retries += 1
                self._set(OutputState.CONNECTING, self._last_error)
            error = await self._attempt(dest)
            failures = 1 if self._live_since is not None else failures + 1
            self._left_live()
            log.warning("output %s: %s", self.target.id, error)
            self._set(OutputState.RETRYING, error)

    async def _attempt(self, dest: Destination) -> str:
        """One connection, from resolving the host to the process's end: why it ended."""
        unresolved = await self._resolve(dest)
        if unresolved is not None:
            return unresolved
        sender = SENDERS[dest.child]
        args = sender.args(self._binaries[sender.name], dest)
        read_end, write_end = os.pipe()
        try:
            process = await asyncio.create_subprocess_exec(
                *args,
                stdin=read_end,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,  # a terminal's ^C is for the server, which ends it
            )
        except OSError as exc:  # out of processes or memory, for now: try again later
            os.close(write_end)
            return f"{sender.name} could not start: {exc.strerror}"
        except BaseException:  # stop() while spawning (asyncio ends the process)
            os.close(write_end)
            raise
        finally:
            os.close(read_end)
        holds = sender.far_end_connected is not None
        pipe = TsPipe(write_end, self._source, self.target.id, dest.listener and not holds)
        pipe.holding = holds
        progress = self._progress = Progress(time.monotonic())
        errors: deque[str] = deque(maxlen=STDERR_LINES)
        assert process.stdout is not None and process.stderr is not None
        readers = [
            asyncio.ensure_future(self._read_progress(process.stdout, progress, sender)),
            asyncio.ensure_future(self._read_errors(process.stderr, errors, pipe, sender)),
        ]
        tap: ProgramTap | None = None
        try:
            tap = self._source.tap(pipe.video, pipe.audio, f"output {self.target.id}")
            pipe.set_origins(tap)
            return await self._watch(process, pipe, progress, dest, sender, errors, readers)
        finally:
            if tap is not None:
                await tap.close(drain=False)
            pipe.close()
            # At stop, a sender still connecting has nothing to end cleanly.
            graceful = self._stopping and progress.total > 0 and sender.ends_with_its_input
            await self._end(process, graceful)
            for reader in readers:
                reader.cancel()
            await asyncio.gather(*readers, return_exceptions=True)

    async def _watch(
        self,
        process: asyncio.subprocess.Process,
        pipe: TsPipe,
        progress: Progress,
        dest: Destination,
        sender: Sender,
        errors: deque[str],
        readers: list[asyncio.Task[None]],
    ) -> str:
        """Follow the attempt: LIVE once bytes reach the destination; end it on a stall."""
        exited = asyncio.ensure_future(process.wait())
        try:
            while True:
                done, _ = await asyncio.wait({exited}, timeout=CHECK_SECONDS)
                now = time.monotonic()
                if pipe.failure is not None and not done:
                    # Usually the child ended first (its reason is better): give it a moment.
                    done, _ = await asyncio.wait({exited}, timeout=1.0)
                    if not done:
                        return f"the program could not be fed to {sender.name} ({pipe.failure})"
                if done:
                    # Its last words are still in the stderr pipe: read them first.
                    await asyncio.wait(readers, timeout=1.0)
                    return sender.explain(list(errors), dest, exited.result())
                if progress.total > 0 and self._state is not OutputState.LIVE:
                    self._went_live(pipe, dest)
                waiting = dest.listener and progress.total == 0
                if pipe.overflowed and not waiting:
                    return f"{dest.where} takes the program too slowly ({QUEUE_PACKETS} behind)"
                if not waiting and now - progress.grew_at > STALL_SECONDS:
                    if progress.total == 0:
                        return f"no answer from {dest.where} within {STALL_SECONDS:g} s"
                    return f"{dest.where} stopped taking data for {STALL_SECONDS:g} s"
        finally:
            exited.cancel()

    def _went_live(self, pipe: TsPipe, dest: Destination) -> None:
        self._ever_live = True
        self._live_since = time.monotonic()
        if dest.listener:
            # The caller came after a wait: a keyframe now, not at the end of the GOP.
            pipe.waiting = False
            self._source.engine.force_keyframe()
        self._set(OutputState.LIVE, self._last_error)

    async def _resolve(self, dest: Destination) -> str | None:
        """Why the host cannot be reached by name (None: it resolves, or is an address)."""
        if not dest.host:
            return None
        with contextlib.suppress(ValueError):
            ipaddress.ip_address(dest.host)
            return None
        loop = asyncio.get_running_loop()
        try:
            await asyncio.wait_for(
                loop.getaddrinfo(dest.host, dest.port, type=socket.SOCK_STREAM),
                RESOLVE_TIMEOUT_S,
            )
        except (OSError, TimeoutError):
            return f"host {dest.host} does not resolve"
        return None

    async def _read_progress(
        self, stream: asyncio.StreamReader, progress: Progress, sender: Sender
    ) -> None:
        async for raw in stream:
            sender.read_report(progress, raw.decode(errors="replace"), time.monotonic())

    async def _read_errors(
        self, stream: asyncio.StreamReader, lines: deque[str], pipe: TsPipe, sender: Sender
    ) -> None:
        async for raw in stream:
            line = redact(raw.decode(errors="replace").rstrip(), self._secrets)
            connected = sender.far_end_connected
            if pipe.holding and connected is not None and connected(line):
                # The far end is there: the stream starts now, at a key frame asked for now.
                pipe.holding = False
                self._source.engine.force_keyframe()
            if line.strip():
                lines.append(line)
                log.debug("output %s child: %s", self.target.id, line)

    async def _end(self, process: asyncio.subprocess.Process, graceful: bool) -> None:
        """SIGTERM, then SIGKILL; at stop (`graceful`), first a moment for the sender to finish
        the stream (its input has ended: FLV's end, the RTMP unpublish)."""
        steps = [(process.terminate, TERM_GRACE_S)]
        if graceful:
            steps.insert(0, (lambda: None, EXIT_WAIT_S))
        for signal_it, wait in steps:
            if process.returncode is not None:
                return
            with contextlib.suppress(ProcessLookupError):
                signal_it()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(process.wait(), wait)
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(process.wait(), TERM_GRACE_S)
