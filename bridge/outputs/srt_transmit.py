"""The srt-live-transmit child of an SRT output: its command line, its statistics, its words.

An SRT output carries our MPEG-TS as it is. ffmpeg would demux it and mux it again (two thirds
of the output's CPU, for nothing), so the attempt runs srt-live-transmit instead (Debian's
srt-tools, the SRT project's own sender): it reads the TS on its stdin in chunks of seven TS
packets, one SRT payload each, and sends every chunk as it comes, as caller or listener, with
the target's latency and passphrase. It neither reconnects by itself (`-a:no`: the output's
attempts and backoff are ours) nor exits when its input ends, so it is ended by a signal.

What the figures say comes from the tool itself: every STATS_PACKETS packets it prints its
statistics as one JSON object on stdout (totals since the start: `-f`), whose bytes sent drive
the same figures as ffmpeg's `-progress` (live once they grow; the bitrate their growth). On
stderr it says when the far end is connected (`connected`), and the SRT library's
warnings say why a handshake was refused (a passphrase that does not match). It does not say
why a call went unanswered: it ends, and `explain` tells the two apart by whether it had
connected.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

from bridge.outputs.destination import SRT_CHILD, Destination
from bridge.outputs.sender import Progress, Sender, last_words

SRT_LIVE_TRANSMIT = Path("/usr/bin/srt-live-transmit")  # Debian's srt-tools
CHUNK_BYTES = 188 * 7  # what it reads of its stdin at once: seven whole TS packets, one payload
# About 8 reports a second at the program's 2.5 Mb/s (238 packets), 1 at 300 kb/s: the stall
# timer (5 s) and the bitrate window (2 s) see growth at any program bitrate.
STATS_PACKETS = 30
# What it says on stderr once the far end is there: as caller, then as listener. Until then it
# reads its input and drops it (the far end would start mid-stream, without the tables or a
# key frame, or lose the first key frame): the output feeds it nothing until it says this.
CONNECTED = ("SRT target connected", "Accepted SRT target connection")


def connected(line: str) -> bool:
    """Whether a line of its stderr says the far end is connected."""
    return any(said in line for said in CONNECTED)


def transmit_args(binary: Path, dest: Destination) -> list[str]:
    """The whole command line of one attempt: our TS on stdin to the destination's URI."""
    return [
        str(binary),
        "-a:no",  # no reconnecting of its own: the output's attempts are ours
        f"-c:{CHUNK_BYTES}",
        f"-s:{STATS_PACKETS}",
        "-f",  # totals since the start (without it, each report counts since the last)
        "-pf:json",
        "-ll:warn",  # the library's reasons for a refused handshake
        "file://con",
        *dest.args,
    ]


def bytes_sent(line: str) -> tuple[int, float] | None:
    """The bytes sent so far (SRT headers included, resent packets not: a lossy link would
    read as a higher bitrate), and when it counted them (seconds since it started), from one
    line of its statistics (None: not a report)."""
    text = line.strip()
    if not text.startswith("{"):
        return None
    try:
        report = json.loads(text)
        sent = report["send"]
        return int(sent.get("bytesUnique", sent["bytes"])), int(report["time"]) / 1000
    except (ValueError, KeyError, TypeError):
        return None


def read_report(progress: Progress, line: str, now: float) -> None:
    """One line of its stdout: a statistics report moves the figures on (its stdout is a
    pipe, so reports arrive in bursts: the bitrate is timed by its own clock)."""
    if (report := bytes_sent(line)) is not None:
        sent, at = report
        progress.sent(sent, now, at)


def explain(lines: Sequence[str], dest: Destination, exit_code: int | None) -> str:
    """Why an attempt ended, in words a master control operator can act on."""
    text = "\n".join(lines)
    where = dest.where
    if re.search(r"Incorrect passphrase|BADSECRET", text, re.IGNORECASE):
        return "the SRT passphrase does not match the destination's"
    if re.search(r"Address already in use|srt_bind", text) and dest.listener:
        return f"port {dest.port} is already in use on this server"
    if not connected(text):
        if dest.listener:
            return last_words(SRT_CHILD, lines, exit_code)
        return f"no SRT listener answered at {where}"
    return f"the SRT connection with {where} broke"


SENDER = Sender(
    name=SRT_CHILD,
    binary=SRT_LIVE_TRANSMIT,
    package="srt-tools",
    carries="the SRT outputs",
    args=transmit_args,
    read_report=read_report,
    explain=explain,
    ends_with_its_input=False,  # it reads on: SIGTERM is its clean end (SRT's shutdown)
    far_end_connected=connected,
)
