"""RTMP and SRT outputs: the program pushed, remuxed, to a partner's platform or playout.

Each connection attempt runs Debian's ffmpeg as a child process that reads MPEG-TS on its
stdin and copies both streams (`-c copy`, no encode) to the destination: FLV over RTMP(S), or
MPEG-TS over SRT as caller or listener. ffmpeg already speaks RTMP, RTMPS and SRT (with its
encryption) well, and a child process can be killed at any moment without harm to the room;
what is ours is small: a tap on the program, a bounded queue, and one thread that muxes the
packets into MPEG-TS and writes them into the child's stdin. The event loop only queues; when
the destination stops taking data the writer thread blocks on the pipe, the queue fills, or
ffmpeg's progress stops growing, and the attempt is ended and retried with backoff.

What the figures say comes from ffmpeg itself: `-progress` reports the bytes written to the
destination twice a second (growing: the output is live; the bitrate is its growth over the
last window), and the last error line on its stderr says why an attempt ended. Stream keys and
passphrases are secrets: they reach ffmpeg as option values, never in the URL it prints, and
every line we keep or log is redacted once more anyway. (They are on ffmpeg's command line,
which /proc shows to local users: ffmpeg 5.1 has no other way to take them. Run the server
where nobody else logs in, or mount /proc with hidepid.)
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import queue
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, cast
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import av
from av.container import OutputContainer

from bridge.outputs.base import OutputListener, ProgramSource, backoff_seconds
from bridge.program.mixer import RATE
from bridge.program.tap import ProgramTap
from bridge.spec import OutputFigures, OutputKind, OutputState, OutputTarget

if TYPE_CHECKING:
    EncodedPacket = av.Packet[Any]
else:
    EncodedPacket = av.Packet

log = logging.getLogger("telebridge.bridge.outputs.push")

FFMPEG = Path("/usr/bin/ffmpeg")  # Debian's: its RTMPS (GnuTLS) and SRT (libsrt) are built in
STALL_SECONDS = 5.0  # no byte reached the destination for this long: end the attempt
QUEUE_PACKETS = 400  # about 5 s of program (30 video + 47 audio packets a second)
LISTEN_BACKLOG_PACKETS = 60  # waiting for an SRT caller: keep under 1 s, drop the rest
EARLY_AUDIO_PACKETS = 94  # 2 s of AAC frames kept until the first keyframe comes
CHECK_SECONDS = 0.25  # how often an attempt looks at its process and progress
PROGRESS_PERIOD = "0.5"  # seconds between ffmpeg's progress reports
BITRATE_WINDOW_S = 2.0
TERM_GRACE_S = 1.0  # SIGTERM, then SIGKILL after this long
EXIT_WAIT_S = 2.0  # at stop, for ffmpeg to finish the stream cleanly after its input ends
RESOLVE_TIMEOUT_S = 5.0
JOIN_TIMEOUT_S = 3.0
STDERR_LINES = 30
TS_WRITE_BYTES = 188 * 7  # whole TS packets per write: one SRT payload, no muxer delay
REDACTED = "***"
_STOP = object()
VIDEO, AUDIO = 0, 1


class _Unusable(ValueError):
    """A target that no retry can fix (its URL cannot work): the output fails at once."""


@dataclass(frozen=True)
class Destination:
    """Where ffmpeg sends the program: its output arguments, and how to name it in figures."""

    args: tuple[str, ...]  # ffmpeg's output options and URL (may hold secrets: never log)
    host: str  # to resolve before each attempt ("" for a listener)
    port: int
    listener: bool  # SRT listener: the destination calls us, no stall timer before it does
    srt: bool
    secrets: tuple[str, ...]

    @property
    def where(self) -> str:
        """host:port (or the listener's caller), as errors name it."""
        if not self.host:
            return f"the caller on port {self.port}"
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def destination(target: OutputTarget) -> Destination:
    """ffmpeg's output for `target`; _Unusable when the URL cannot work."""
    parts = urlsplit(target.url.strip())
    try:
        port = parts.port
    except ValueError as exc:
        raise _Unusable(f"the URL's port is not a number: {exc}") from exc
    host = parts.hostname or ""
    secrets = tuple(s for s in (target.key, target.passphrase, parts.password) if s)
    if target.kind is OutputKind.RTMP:
        if parts.scheme not in ("rtmp", "rtmps") or not host:
            raise _Unusable("an RTMP output needs a URL rtmp://host[:port]/app or rtmps://...")
        app = parts.path.strip("/")
        if not app:
            raise _Unusable("the RTMP URL has no application (rtmp://host/app)")
        port = port or (443 if parts.scheme == "rtmps" else 1935)
        url = f"{parts.scheme}://{parts.netloc}/{app}"
        # The key goes to ffmpeg as the stream name (rtmp_playpath), byte for byte: ffmpeg 5.1
        # does not percent-decode an RTMP URL's path, so a key put into the URL could only be
        # carried quoted (and arrive changed) or raw (and change the URL). Keys with a query
        # of their own (Facebook's) arrive whole too.
        args = ["-rtmp_app", app]
        if target.key:
            args += ["-rtmp_playpath", target.key]
        args += ["-flvflags", "no_duration_filesize", "-f", "flv", url]
        return Destination(tuple(args), host, port, False, False, secrets)
    if target.kind is OutputKind.SRT:
        if parts.scheme != "srt" or port is None or (not host and not target.listener):
            raise _Unusable("an SRT output needs a URL srt://host:port (srt://:port to listen)")
        if target.passphrase and not 10 <= len(target.passphrase) <= 79:
            raise _Unusable("an SRT passphrase has 10 to 79 characters")
        query = dict(parse_qsl(parts.query))
        query.pop("passphrase", None)  # only ever as an option (it would be printed)
        query["mode"] = "listener" if target.listener else "caller"
        if target.latency_ms is not None:
            query["latency"] = str(target.latency_ms * 1000)  # libsrt's option: microseconds
        bind = host or "0.0.0.0"
        url = f"srt://{f'[{bind}]' if ':' in bind else bind}:{port}?{urlencode(query)}"
        args = []
        if target.passphrase:
            # ffmpeg 5.1 takes a passphrase in the URL verbatim (no percent-decoding), and
            # prints the URL in its errors: as an option it is neither mangled nor printed.
            args += ["-passphrase", target.passphrase, "-pbkeylen", "16"]
        args += ["-f", "mpegts", url]
        dest_host = "" if target.listener else host
        return Destination(tuple(args), dest_host, port, target.listener, True, secrets)
    raise _Unusable(f"a push output carries RTMP or SRT, not {target.kind.value}")


def ffmpeg_args(ffmpeg: Path, dest: Destination) -> list[str]:
    """The whole command line of one attempt."""
    return [
        str(ffmpeg),
        *("-hide_banner", "-nostdin", "-nostats", "-loglevel", "error"),
        *("-progress", "pipe:1", "-stats_period", PROGRESS_PERIOD),
        # Our TS declares both streams in its PMT and starts on a keyframe: half a second of
        # probing finds the SPS and the AAC header, and the connection is made right after.
        # (Not -fflags nobuffer: it drops what probing read, the keyframe among it.)
        *("-probesize", "500000", "-analyzeduration", "500000"),
        *("-f", "mpegts", "-i", "pipe:0"),
        *("-map", "0:v:0", "-map", "0:a:0", "-c", "copy"),
        *dest.args,
    ]


def redact(text: str, secrets: Sequence[str]) -> str:
    """`text` with every secret (as given, or percent-encoded) replaced by ***."""
    for secret in sorted(secrets, key=len, reverse=True):
        for form in {secret, quote(secret, safe=""), quote(secret)}:
            text = text.replace(form, REDACTED)
    return text


_PREFIX = re.compile(r"^\[[\w\-]+ @ 0x[0-9a-f]+\]\s*")
_SRT_LOG = re.compile(r"^\d\d:\d\d:\d\d\.\d+/SRT:\S+\s+\S+:\s*")


def explain(lines: Sequence[str], dest: Destination, exit_code: int | None) -> str:
    """Why an attempt ended, in words a master control operator can act on."""
    text = "\n".join(lines)
    where = dest.where
    checks: list[tuple[str, str]] = [
        (r"Incorrect passphrase|BADSECRET", "the SRT passphrase does not match the destination's"),
        (
            r"Failed to resolve hostname|Name or service not known|name resolution",
            f"host {dest.host} does not resolve",
        ),
        (r"Connection refused", f"connection refused by {where}"),
        (r"Address already in use", f"port {dest.port} is already in use on this server"),
        (r"timed out", f"no answer from {where} (timed out)"),
        (r"Connection to srt://\S+ failed", f"no SRT listener answered at {where}"),
        (r"Broken pipe|Connection reset|End of file", f"{where} closed the connection"),
    ]
    if dest.srt:
        checks.append((r"Input/output error", f"the SRT connection with {where} broke"))
    for pattern, message in checks:
        if re.search(pattern, text, re.IGNORECASE):
            return message
    for line in reversed(lines):
        said = _SRT_LOG.sub("", _PREFIX.sub("", line)).strip()
        if said:
            return f"ffmpeg: {said[:200]}"
    return f"ffmpeg ended (exit code {exit_code})"


def _copy(packet: EncodedPacket, origin: int, time_base: Fraction) -> EncodedPacket:
    """A private copy on the tap's timeline: muxing rescales timestamps in place, and the
    program's packets are shared with the other subscribers."""
    out = av.Packet(bytes(packet))
    out.pts = packet.pts - origin if packet.pts is not None else None
    out.dts = packet.dts - origin if packet.dts is not None else None
    out.time_base = time_base
    out.is_keyframe = packet.is_keyframe
    if packet.duration:
        out.duration = packet.duration
    return out


class TsPipe:
    """The program's packets muxed into MPEG-TS on a thread, written into a pipe.

    `video` and `audio` are called on the event loop and never block: a full queue is
    remembered (`overflowed`) for the attempt to end, not waited on. The thread blocks on the
    pipe when ffmpeg does not read; killing ffmpeg breaks the pipe and ends the thread.
    """

    def __init__(self, fd: int, source: ProgramSource, name: str, listener: bool) -> None:
        fmt = source.engine.fmt
        self._size, self._fps = (fmt.width, fmt.height), fmt.fps
        self._extradata = source.audio.extradata
        self._file: IO[bytes] = os.fdopen(fd, "wb", buffering=0)
        self._queue: queue.Queue[object] = queue.Queue(maxsize=QUEUE_PACKETS)
        self._origins = (0, 0)
        self.waiting = listener  # for an SRT caller: keep only a short backlog meanwhile
        self._resync = True  # nothing goes in before a video keyframe (a decodable start)
        self._early_audio: deque[EncodedPacket] = deque(maxlen=EARLY_AUDIO_PACKETS)
        self.overflowed = False
        self.failure: str | None = None
        self._thread = threading.Thread(target=self._run, name=f"output-{name}", daemon=True)
        self._thread.start()

    def set_origins(self, tap: ProgramTap) -> None:
        """Count timestamps from the tap's 0 (both clocks), before its first packet."""
        self._origins = (tap.timeline.video_origin, tap.timeline.audio_origin)

    def video(self, packet: EncodedPacket) -> None:
        """Queue a program video packet (event loop)."""
        if not self._resync:
            self._put(VIDEO, packet)
            return
        if not packet.is_keyframe or packet.pts is None:
            return
        self._resync = False
        self._put(VIDEO, packet)
        # The picture's worker may run behind the sound's: the sound of the keyframe's moment
        # can have come first. It goes in too, so the stream starts with picture and sound.
        (video_origin, audio_origin), fps = self._origins, self._fps
        start = (packet.pts - video_origin) * RATE // fps + audio_origin
        for early in self._early_audio:
            if early.pts is not None and early.pts >= start:
                self._put(AUDIO, early)
        self._early_audio.clear()

    def audio(self, packet: EncodedPacket) -> None:
        """Queue a program audio packet (event loop)."""
        if self._resync:
            self._early_audio.append(packet)
        else:
            self._put(AUDIO, packet)

    def _put(self, index: int, packet: EncodedPacket) -> None:
        if self.waiting and self._queue.qsize() >= LISTEN_BACKLOG_PACKETS:
            # No caller yet: what is queued would reach it late. Start over at a keyframe.
            self._drain()
            self._resync = True
            self._early_audio.clear()
            (self.video if index == VIDEO else self.audio)(packet)
            return
        try:
            self._queue.put_nowait((index, packet))
        except queue.Full:
            self.overflowed = True

    def _drain(self) -> None:
        with contextlib.suppress(queue.Empty):
            while True:
                self._queue.get_nowait()

    def close(self) -> None:
        """Let the thread end the stream (what is queued is dropped; the rest is flushed)."""
        self._drain()
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(_STOP)

    def join(self, timeout: float) -> bool:
        """Wait for the thread (blocking: call off the loop); whether it ended."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        container: OutputContainer | None = None
        streams: list[Any] = []
        try:
            while True:
                item = self._queue.get()
                if item is _STOP:
                    break
                index, packet = cast(tuple[int, EncodedPacket], item)
                if container is None:
                    container, streams = self._open()
                base = Fraction(1, self._fps) if index == VIDEO else Fraction(1, RATE)
                out = _copy(packet, self._origins[index], base)
                out.stream = streams[index]
                try:
                    container.mux(out)
                except OSError:
                    raise  # the pipe: ffmpeg is gone
                except Exception:  # a packet the muxer refused must not end the stream
                    log.exception("output writer could not mux a packet")
        except Exception as exc:
            self.failure = f"{type(exc).__name__}: {exc}"
            log.debug("output writer ended: %s", self.failure)
        finally:
            if container is not None:
                with contextlib.suppress(Exception):
                    container.close()
            with contextlib.suppress(OSError):
                self._file.close()

    def _open(self) -> tuple[OutputContainer, list[Any]]:
        container = av.open(self._file, "w", format="mpegts", buffer_size=TS_WRITE_BYTES)
        video = container.add_stream("h264", rate=self._fps)
        assert isinstance(video, av.VideoStream)
        video.width, video.height = self._size
        video.pix_fmt = "yuv420p"
        video.time_base = Fraction(1, self._fps)
        audio = container.add_stream("aac", rate=RATE)
        assert isinstance(audio, av.AudioStream)
        audio.codec_context.layout = "stereo"
        audio.time_base = Fraction(1, RATE)
        if self._extradata:
            audio.codec_context.extradata = self._extradata
        return container, [video, audio]


class Progress:
    """What ffmpeg's `-progress` reports say: bytes written, when they last grew."""

    def __init__(self, now: float) -> None:
        self.total = 0
        self.grew_at = now  # the attempt's start counts as the last growth (connect timer)
        self._pending: int | None = None
        self._samples: deque[tuple[float, int]] = deque(maxlen=16)

    def line(self, text: str, now: float) -> None:
        """One `key=value` line."""
        key, _, value = text.strip().partition("=")
        if key == "total_size":
            self._pending = int(value) if value.isdigit() else None
        elif key == "progress" and self._pending is not None:
            if self._pending > self.total:
                self.total, self.grew_at = self._pending, now
            self._samples.append((now, self.total))
            self._pending = None

    def kbps(self, now: float) -> float | None:
        """The bitrate to the destination over the last window."""
        recent = [s for s in self._samples if now - s[0] <= BITRATE_WINDOW_S + 0.5]
        if len(recent) < 2 or recent[-1][0] <= recent[0][0]:
            return None
        (t0, b0), (t1, b1) = recent[0], recent[-1]
        return round((b1 - b0) * 8 / (t1 - t0) / 1000, 1)


class PushOutput:
    """One RTMP or SRT output of a room's program (see the module's docstring)."""

    def __init__(
        self,
        target: OutputTarget,
        source: ProgramSource,
        on_change: OutputListener | None = None,
        *,
        ffmpeg: Path = FFMPEG,
    ) -> None:
        self.target = target
        self._source = source
        self._on_change = on_change
        self._ffmpeg = ffmpeg
        self._state = OutputState.IDLE
        self._last_error: str | None = None
        self._retries = 0
        self._ever_live = False
        self._live_since: float | None = None  # while live
        self._live_seconds = 0.0  # how long its last live stretch lasted
        self._progress: Progress | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False  # stop() is ending the attempt: let ffmpeg finish cleanly
        self._secrets = tuple(s for s in (target.key, target.passphrase) if s)

    # --- the LiveOutput protocol ------------------------------------------------------------

    async def start(self) -> None:
        """Begin (or begin again after stop); a no-op while running."""
        if self._task is not None:
            return
        self._retries, self._ever_live, self._last_error = 0, False, None
        self._live_seconds = 0.0
        if not os.access(self._ffmpeg, os.X_OK):
            self._set(OutputState.FAILED, f"ffmpeg is not installed ({self._ffmpeg} is missing)")
            return
        try:
            dest = destination(self.target)
        except _Unusable as exc:
            self._set(OutputState.FAILED, redact(str(exc), self._secrets))
            return
        self._secrets = dest.secrets  # the URL's password too, if it has one
        self._set(OutputState.CONNECTING, None)
        self._task = asyncio.ensure_future(self._run(dest))

    async def stop(self) -> None:
        """End the attempt (ffmpeg, its thread, the tap) within a few seconds; STOPPED if the
        destination was reached in this run, else FAILED with the last error."""
        task, self._task = self._task, None
        if task is not None:
            self._stopping = True
            task.cancel()
            try:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
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
        read_end, write_end = os.pipe()
        try:
            process = await asyncio.create_subprocess_exec(
                *ffmpeg_args(self._ffmpeg, dest),
                stdin=read_end,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,  # a terminal's ^C is for the server, which ends it
            )
        except OSError as exc:  # out of processes or memory, for now: try again later
            os.close(write_end)
            return f"ffmpeg could not start: {exc.strerror}"
        except BaseException:  # stop() while spawning (asyncio ends the process)
            os.close(write_end)
            raise
        finally:
            os.close(read_end)
        pipe = TsPipe(write_end, self._source, self.target.id, dest.listener)
        progress = self._progress = Progress(time.monotonic())
        errors: deque[str] = deque(maxlen=STDERR_LINES)
        assert process.stdout is not None and process.stderr is not None
        readers = [
            asyncio.ensure_future(self._read_progress(process.stdout, progress)),
            asyncio.ensure_future(self._read_errors(process.stderr, errors)),
        ]
        tap: ProgramTap | None = None
        try:
            tap = self._source.tap(pipe.video, pipe.audio)
            pipe.set_origins(tap)
            return await self._watch(process, pipe, progress, dest, errors, readers)
        finally:
            if tap is not None:
                await tap.close(drain=False)
            pipe.close()
            # At stop, a live stream is ended cleanly; one still connecting has nothing to end.
            await self._end(process, graceful=self._stopping and progress.total > 0)
            for reader in readers:
                reader.cancel()
            await asyncio.gather(*readers, return_exceptions=True)
            loop = asyncio.get_running_loop()
            if not await loop.run_in_executor(None, pipe.join, JOIN_TIMEOUT_S):
                log.error("output %s: its writer thread did not end", self.target.id)

    async def _watch(
        self,
        process: asyncio.subprocess.Process,
        pipe: TsPipe,
        progress: Progress,
        dest: Destination,
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
                    # Usually ffmpeg ended first (its reason is better): give it a moment.
                    done, _ = await asyncio.wait({exited}, timeout=1.0)
                    if not done:
                        return f"the program could not be fed to ffmpeg ({pipe.failure})"
                if done:
                    # Its last words are still in the stderr pipe: read them first.
                    await asyncio.wait(readers, timeout=1.0)
                    return explain(list(errors), dest, exited.result())
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

    async def _read_progress(self, stream: asyncio.StreamReader, progress: Progress) -> None:
        async for raw in stream:
            progress.line(raw.decode(errors="replace"), time.monotonic())

    async def _read_errors(self, stream: asyncio.StreamReader, lines: deque[str]) -> None:
        async for raw in stream:
            line = redact(raw.decode(errors="replace").rstrip(), self._secrets)
            if line.strip():
                lines.append(line)
                log.debug("output %s ffmpeg: %s", self.target.id, line)

    async def _end(self, process: asyncio.subprocess.Process, graceful: bool) -> None:
        """SIGTERM, then SIGKILL; at stop, first a moment for ffmpeg to finish the stream
        (its input has ended: FLV's end, the RTMP unpublish, SRT's shutdown)."""
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
