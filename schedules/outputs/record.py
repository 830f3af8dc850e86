"""What a live output of a booking is, and how it is shown without its secrets."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qsl, urlsplit, urlunsplit

MASK = "••••"


class OutputKind(enum.StrEnum):
    """Where an output takes the program."""

    RTMP = "rtmp"  # pushed to rtmp:// or rtmps:// (YouTube Live, Facebook, a partner's ingest)
    SRT = "srt"  # MPEG-TS over SRT: calling srt://host:port, or listening on a server port
    HLS = "hls"  # served by Telebridge itself at /live/{booking}/index.m3u8


@dataclass(frozen=True)
class OutputDraft:
    """A validated output body."""

    kind: OutputKind
    name: str
    url: str = ""  # empty for HLS
    key: str | None = None  # RTMP stream key
    passphrase: str | None = None  # SRT encryption
    latency_ms: int | None = None  # SRT latency

    @property
    def listener(self) -> bool:
        """An SRT output that waits on a server port (srt://:port) for the destination."""
        return self.kind is OutputKind.SRT and listens(urlsplit(self.url).hostname)


def listens(host: str | None) -> bool:
    """Whether an SRT URL's host means "this server, listening" (srt://:9000, 0.0.0.0, ::)."""
    return host in (None, "", "0.0.0.0", "::")


@dataclass(frozen=True)
class Output(OutputDraft):
    """A stored output of a booking."""

    id: str = ""
    booking_id: str = ""
    created_by: str = ""
    created_at: datetime | None = None


def masked_target(output: OutputDraft, hls_path: str = "") -> str:
    """Where the output goes, safe to show anyone who may see the booking: the URL without
    credentials or query values, the stream key as a mask (`hls_path` for HLS)."""
    if output.kind is OutputKind.HLS:
        return hls_path
    parts = urlsplit(output.url)
    netloc = parts.netloc
    if "@" in netloc:  # user:password@host
        netloc = f"{MASK}@{netloc.rsplit('@', 1)[1]}"
    query = "&".join(
        f"{pair.split('=', 1)[0]}={MASK}" if "=" in pair else pair
        for pair in parts.query.split("&")
        if pair
    )
    shown = urlunsplit((parts.scheme, netloc, parts.path, query, ""))
    if output.key:
        shown = shown.rstrip("/") + "/" + MASK
    if output.passphrase:
        shown += " (passphrase set)"
    return shown


def scrubbed(text: str | None, output: OutputDraft) -> str | None:
    """A bridge's error text without the output's secrets. The bridge words its errors without
    them; this makes sure of it, since a library's or a destination's message may quote the
    URL it was given (stream key as its last part, credentials, query values)."""
    if not text:
        return text
    parts = urlsplit(output.url)
    always = [output.key, output.passphrase, parts.password]
    # Short user names or query values ("1", "hd") would mask ordinary words: from 4 on.
    wordy = [parts.username, *(pair.partition("=")[2] for pair in parts.query.split("&"))]
    wordy += [value for _name, value in parse_qsl(parts.query)]  # as decoded, too
    secrets = {s for s in always if s} | {s for s in wordy if s and len(s) >= 4}
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text
