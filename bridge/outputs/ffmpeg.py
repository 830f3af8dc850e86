"""The ffmpeg child of a push output: its command line, what it reports, what its errors mean.

An RTMP output's connection attempt runs Debian's ffmpeg as a child process that reads MPEG-TS
on its stdin and copies both streams (`-c copy`, no encode) to the destination as FLV over
RTMP(S) (and an SRT output whose passphrase srt-live-transmit cannot take, as MPEG-TS: see
bridge.outputs.destination). ffmpeg speaks RTMP and RTMPS well, and a child process can be
killed at any moment without harm to the room. This module is the child's side of that: its
whole command line (`ffmpeg_args`), and what it says back.

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
from collections.abc import Sequence
from pathlib import Path

from bridge.outputs.destination import FFMPEG_CHILD, Destination
from bridge.outputs.sender import Progress, Sender, last_words

FFMPEG = Path("/usr/bin/ffmpeg")  # Debian's: its RTMPS (GnuTLS) and SRT (libsrt) are built in
PROGRESS_PERIOD = "0.5"  # seconds between ffmpeg's progress reports


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
    return last_words(FFMPEG_CHILD, lines, exit_code)


SENDER = Sender(
    name=FFMPEG_CHILD,
    binary=FFMPEG,
    package="ffmpeg",
    carries="the RTMP outputs",
    args=ffmpeg_args,
    read_report=Progress.line,
    explain=explain,
    ends_with_its_input=True,
)
