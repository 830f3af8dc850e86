"""Where a push output sends the program: a target's URL checked and turned into what its
child process is given, and the secrets in it kept out of everything we print.

RTMP(S) goes out through ffmpeg (bridge.outputs.ffmpeg), which muxes our MPEG-TS into FLV: its
output options and URL are the destination's `args`. SRT carries our MPEG-TS as it is, through
srt-live-transmit (bridge.outputs.srt_transmit): the destination's `args` is its one SRT URI,
with the mode, the latency and the passphrase as that tool takes them. That URI cannot carry a
passphrase with an `&` (the tool splits its options there and decodes nothing), so such a
target goes through ffmpeg instead, which takes the passphrase as an option. Stream keys and
passphrases are secrets: every line we keep or log from a child is redacted (`redact`). (Both
children take them on their command line, which /proc shows to local users: run the server
where nobody else logs in, or mount /proc with hidepid.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from bridge.spec import OutputKind, OutputTarget

REDACTED = "***"
FFMPEG_CHILD = "ffmpeg"
SRT_CHILD = "srt-live-transmit"
SRT_PBKEYLEN = "16"  # AES-128, what receivers expect unless told otherwise


class Unusable(ValueError):
    """A target that no retry can fix (its URL cannot work): the output fails at once."""


@dataclass(frozen=True)
class Destination:
    """Where the program goes: its child's output arguments, and how to name it in figures."""

    args: tuple[str, ...]  # the child's output options and URL (may hold secrets: never log)
    host: str  # to resolve before each attempt ("" for a listener)
    port: int
    listener: bool  # SRT listener: the destination calls us, no stall timer before it does
    srt: bool
    secrets: tuple[str, ...]
    child: str = FFMPEG_CHILD  # the program that sends it: FFMPEG_CHILD or SRT_CHILD

    @property
    def where(self) -> str:
        """host:port (or the listener's caller), as errors name it."""
        if not self.host:
            return f"the caller on port {self.port}"
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def destination(target: OutputTarget) -> Destination:
    """The child's output for `target`; Unusable when the URL cannot work."""
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
        query.pop("passphrase", None)  # only ever the target's own (a secret, kept apart)
        query["mode"] = "listener" if target.listener else "caller"
        dest_host = "" if target.listener else host
        if target.passphrase and "&" in target.passphrase:
            return Destination(
                _ffmpeg_srt_args(target, host, port, query), dest_host, port,
                target.listener, True, secrets, FFMPEG_CHILD,
            )  # fmt: skip
        if target.latency_ms is not None:
            query["latency"] = str(target.latency_ms)  # srt-live-transmit's: milliseconds
        if target.passphrase:
            # Verbatim: srt-live-transmit decodes nothing in its URI. It is redacted from
            # every line we keep, and the URI is never printed by us.
            query["passphrase"] = target.passphrase
            query["pbkeylen"] = SRT_PBKEYLEN
        bind = host if host or not target.listener else ""
        options = "&".join(f"{k}={v}" for k, v in query.items())
        uri = f"srt://{f'[{bind}]' if ':' in bind else bind}:{port}?{options}"
        return Destination((uri,), dest_host, port, target.listener, True, secrets, SRT_CHILD)
    raise Unusable(f"a push output carries RTMP or SRT, not {target.kind.value}")


def _ffmpeg_srt_args(
    target: OutputTarget, host: str, port: int, query: dict[str, str]
) -> tuple[str, ...]:
    """ffmpeg's SRT output: MPEG-TS muxed again, the passphrase as an option (ffmpeg 5.1 takes
    one in the URL verbatim, and prints the URL in its errors)."""
    if target.latency_ms is not None:
        query["latency"] = str(target.latency_ms * 1000)  # libsrt's option: microseconds
    bind = host or "0.0.0.0"
    url = f"srt://{f'[{bind}]' if ':' in bind else bind}:{port}?{urlencode(query)}"
    args = ["-passphrase", target.passphrase or "", "-pbkeylen", SRT_PBKEYLEN]
    # Video PES lengths written: the receiver's demuxer need not wait a frame (ts_pipe).
    return (*args, "-omit_video_pes_length", "0", "-f", "mpegts", url)


def redact(text: str, secrets: Sequence[str]) -> str:
    """`text` with every secret (as given, or percent-encoded) replaced by ***."""
    for secret in sorted(secrets, key=len, reverse=True):
        for form in {secret, quote(secret, safe=""), quote(secret), quote_plus_form(secret)}:
            text = text.replace(form, REDACTED)
    return text


def quote_plus_form(secret: str) -> str:
    """The secret as a form-encoded query writes it (spaces as +)."""
    return quote(secret, safe="").replace("%20", "+")
