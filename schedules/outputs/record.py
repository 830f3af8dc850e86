"""What a live output of a booking is, and how it is shown without its secrets."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit, urlunsplit

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
