"""The ffmpeg child of a push output: its command line, what it reports, what its errors mean.

Each connection attempt runs Debian's ffmpeg as a child process that reads MPEG-TS on its
stdin and copies both streams (`-c copy`, no encode) to the destination: FLV over RTMP(S), or
MPEG-TS over SRT as caller or listener. ffmpeg already speaks RTMP, RTMPS and SRT (with its
encryption) well, and a child process can be killed at any moment without harm to the room.
This module is the child's side of that: where a target sends it (`destination`), its whole
command line (`ffmpeg_args`), and what it says back.

What the figures say comes from ffmpeg itself: `-progress` reports the bytes written to the
destination twice a second (growing: the output is live; the bitrate is its growth over the
last window), and the last error line on its stderr says why an attempt ended (`explain`).
Stream keys and passphrases are secrets: they reach ffmpeg as option values, never in the URL
it prints, and every line we keep or log is redacted once more anyway (`redact`). (They are on
ffmpeg's command line, which /proc shows to local users: ffmpeg 5.1 has no other way to take
them. Run the server where nobody else logs in, or mount /proc with hidepid.)
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from bridge.spec import OutputKind, OutputTarget

FFMPEG = Path("/usr/bin/ffmpeg")  # Debian's: its RTMPS (GnuTLS) and SRT (libsrt) are built in
PROGRESS_PERIOD = "0.5"  # seconds between ffmpeg's progress reports
BITRATE_WINDOW_S = 2.0
REDACTED = "***"


class Unusable(ValueError):
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
    """ffmpeg's output for `target`; Unusable when the URL cannot work."""
    parts = urlsplit(target.url.strip())
    try:
        port = parts.port
    except ValueError as exc:
        raise Unusable(f"the URL's port is not a number: {exc}") from exc
    host = parts.hostname or ""
    secrets = tuple(s for s in (target.key, target.passphrase, parts.password) if s)
    if target.kind is OutputKind.RTMP:
        if parts.scheme not in ("rtmp", "rtmps") or not host:
            raise Unusable("an RTMP output needs a URL rtmp://host[:port]/app or rtmps://...")
        app = parts.path.strip("/")
        if not app:
            raise Unusable("the RTMP URL has no application (rtmp://host/app)")
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
            raise Unusable("an SRT output needs a URL srt://host:port (srt://:port to listen)")
        if target.passphrase and not 10 <= len(target.passphrase) <= 79:
            raise Unusable("an SRT passphrase has 10 to 79 characters")
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
        # Video PES lengths written: the receiver's demuxer need not wait a frame (ts_pipe).
        args += ["-omit_video_pes_length", "0", "-f", "mpegts", url]
        dest_host = "" if target.listener else host
        return Destination(tuple(args), dest_host, port, target.listener, True, secrets)
    raise Unusable(f"a push output carries RTMP or SRT, not {target.kind.value}")


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
