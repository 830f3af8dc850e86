"""Broken SDP offers, made from a real aiortc peer's offer: the table of tests/web/test_bad_sdp.py
(`mutations`) and the strategy of the SDP fuzz in tests/web/test_fuzz_api.py (`fuzzed`).

Every line kind that the real offer holds is deleted, duplicated and garbled in turn, so the
table follows whatever aiortc offers; the targeted cases below add what a hostile or buggy
client sends that a line-by-line walk would not (numbers past every limit, mids that repeat,
bundle groups that name nothing, bytes that are not UTF-8, ...). The fuzz draws a few random
edits of the same kinds and combines them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from hypothesis import strategies as st

Offer = str | bytes
Lines = list[str]

# What a garbled value becomes: empty, too small, too large, not a number, not text.
GARBLES: dict[str, str] = {
    "empty": "",
    "huge number": "9" * 400,
    "not text": "\x00ü😀",
    "8 KB": "A" * 8000,
}
HUGE = str(2**64)


def key_of(line: str) -> str:
    """The kind of an SDP line: "m=", "c=", "a=fingerprint", "a=sendrecv", ..."""
    if line.startswith("a="):
        return re.split(r"[: ]", line, maxsplit=1)[0]
    return line[:2]


def _value_span(line: str) -> int:
    """Where the value of a line starts (after "a=name:" or after "x=")."""
    if line.startswith("a=") and ":" in line:
        return line.index(":") + 1
    return 2


def split(offer: str) -> Lines:
    return offer.rstrip("\r\n").split("\r\n")


def join(lines: Lines) -> str:
    return "\r\n".join(lines) + "\r\n"


def sections(lines: Lines) -> list[tuple[int, int]]:
    """(first, end) line indices of each m-section."""
    starts = [i for i, line in enumerate(lines) if line.startswith("m=")]
    return list(zip(starts, [*starts[1:], len(lines)], strict=True))


def by_line_kind(offer: str) -> Iterator[tuple[str, Offer]]:
    """Each line kind of the offer deleted (once, everywhere), doubled and garbled."""
    lines = split(offer)
    keys = list(dict.fromkeys(key_of(line) for line in lines))
    for key in keys:
        at = [i for i, line in enumerate(lines) if key_of(line) == key]
        first = at[0]
        yield f"drop first {key}", join(lines[:first] + lines[first + 1 :])
        if len(at) > 1:
            yield f"drop every {key}", join([ln for ln in lines if key_of(ln) != key])
        yield f"double first {key}", join(lines[: first + 1] + lines[first:])
        start = _value_span(lines[first])
        for name, garble in GARBLES.items():
            changed = [*lines]
            changed[first] = lines[first][:start] + garble
            yield f"garble {key}: {name}", join(changed)


def _sub(
    offer: str, pattern: str, repl: str | Callable[[re.Match[str]], str], count: int = 1
) -> str:
    # On "\n" lines, so that $ ends a line; a replacement adds lines with "\n" too.
    text = offer.replace("\r\n", "\n")
    changed, n = re.subn(pattern, repl, text, count=count, flags=re.MULTILINE)
    assert n, f"the real offer has no {pattern!r}: the table is out of date"
    return changed.replace("\n", "\r\n")


def targeted(offer: str) -> Iterator[tuple[str, Offer]]:
    """Hand-written cases, each a known way to break a parser or an answerer."""
    lines = split(offer)
    first_mid = re.search(r"^a=mid:(\S+)", offer, re.MULTILINE)
    assert first_mid
    mid0 = first_mid.group(1)
    cases: dict[str, Callable[[], Offer]] = {
        # a=rtpmap with bad numbers
        "rtpmap PT 999": lambda: _sub(offer, r"^a=rtpmap:\d+ VP8", "a=rtpmap:999 VP8"),
        "rtpmap PT -1": lambda: _sub(offer, r"^a=rtpmap:\d+ VP8", "a=rtpmap:-1 VP8"),
        "rtpmap PT 2^64": lambda: _sub(offer, r"^a=rtpmap:\d+ VP8", f"a=rtpmap:{HUGE} VP8"),
        "rtpmap PT letters": lambda: _sub(offer, r"^a=rtpmap:\d+ VP8", "a=rtpmap:ab VP8"),
        "rtpmap clock 0": lambda: _sub(offer, r"VP8/90000", "VP8/0"),
        "rtpmap clock huge": lambda: _sub(offer, r"VP8/90000", "VP8/" + "9" * 40),
        "rtpmap clock letters": lambda: _sub(offer, r"VP8/90000", "VP8/fast"),
        "rtpmap no clock": lambda: _sub(offer, r"VP8/90000", "VP8"),
        "opus channels 0": lambda: _sub(offer, r"opus/48000/2", "opus/48000/0"),
        "opus channels huge": lambda: _sub(offer, r"opus/48000/2", "opus/48000/" + HUGE),
        "opus channels letters": lambda: _sub(offer, r"opus/48000/2", "opus/48000/two"),
        "opus clock huge": lambda: _sub(offer, r"opus/48000", "opus/" + HUGE),
        "every rtpmap VP8": lambda: _sub(offer, r"^(a=rtpmap:\d+) \S+", r"\1 VP8/90000", 0),
        "rtpmap for a PT not in m=": lambda: _sub(
            offer, r"^(a=rtpmap:\d+ VP8/90000)", "a=rtpmap:120 VP8/90000\n\\1"
        ),
        "only an rtx for VP8": lambda: _sub(offer, r"^a=rtpmap:\d+ VP8/90000\n", ""),
        "rtx apt unknown": lambda: _sub(offer, r"apt=\d+", "apt=126"),
        "rtx apt huge": lambda: _sub(offer, r"apt=\d+", f"apt={HUGE}"),
        "rtx apt letters": lambda: _sub(offer, r"apt=\d+", "apt=vp8"),
        "rtx apt missing": lambda: _sub(offer, r"apt=\d+", "apt="),
        "fmtp PT huge": lambda: _sub(offer, r"^a=fmtp:\d+", f"a=fmtp:{HUGE}"),
        "fmtp no parameters": lambda: _sub(offer, r"^a=fmtp:(\d+) \S+", r"a=fmtp:\1"),
        "fmtp junk parameters": lambda: _sub(offer, r"^a=fmtp:(\d+) \S+", r"a=fmtp:\1 ;;==;a"),
        "rtcp-fb PT unknown": lambda: _sub(offer, r"^a=rtcp-fb:\d+", "a=rtcp-fb:125"),
        "rtcp-fb PT huge": lambda: _sub(offer, r"^a=rtcp-fb:\d+", f"a=rtcp-fb:{HUGE}"),
        "rtcp-fb wildcard": lambda: _sub(offer, r"^a=rtcp-fb:\d+", "a=rtcp-fb:*"),
        # m= lines
        "m= port huge": lambda: _sub(offer, r"^m=video \d+", f"m=video {HUGE}"),
        "m= port negative": lambda: _sub(offer, r"^m=video \d+", "m=video -9"),
        "m= port letters": lambda: _sub(offer, r"^m=video \d+", "m=video port"),
        "m= port 0 (rejected line)": lambda: _sub(offer, r"^m=video \d+", "m=video 0"),
        "m= port range": lambda: _sub(offer, r"^m=video (\d+)", r"m=video \1/2"),
        "m= proto RTP/AVP": lambda: _sub(offer, r"UDP/TLS/RTP/SAVPF", "RTP/AVP"),
        "m= proto unknown": lambda: _sub(offer, r"UDP/TLS/RTP/SAVPF", "SCTP/XYZ", 0),
        "m= no formats": lambda: _sub(offer, r"^(m=video \d+ \S+) [\d ]+$", r"\1"),
        "m= format letters": lambda: _sub(offer, r"^(m=video \d+ \S+) [\d ]+$", r"\1 vp8"),
        "m= format huge": lambda: _sub(offer, r"^(m=video \d+ \S+) [\d ]+$", rf"\1 {HUGE}"),
        "m= format unmapped": lambda: _sub(offer, r"^(m=video \d+ \S+) [\d ]+$", r"\1 77"),
        "m= formats repeated": lambda: _sub(offer, r"^(m=video \d+ \S+ (\d+)).*$", r"\1 \2 \2"),
        "m= kind text": lambda: _sub(offer, r"^m=video", "m=text"),
        "m= kind application": lambda: _sub(offer, r"^m=audio", "m=application"),
        "m= kind empty": lambda: _sub(offer, r"^m=video", "m="),
        "m= only the kind": lambda: _sub(offer, r"^m=video.*$", "m=video"),
        "video m-line says audio": lambda: _sub(offer, r"^m=video", "m=audio"),
        "audio m-line says video": lambda: _sub(offer, r"^m=audio", "m=video"),
        "first m-section only": lambda: join(lines[: sections(lines)[1][0]]),
        "m-sections reversed": lambda: join(
            lines[: sections(lines)[0][0]]
            + [ln for a, b in reversed(sections(lines)) for ln in lines[a:b]]
        ),
        "m-sections twice": lambda: join(
            lines + [ln for a, b in sections(lines) for ln in lines[a:b]]
        ),
        "20 extra receive pairs": lambda: _extra_pairs(lines, 20),
        "m-line before v=": lambda: join(lines[sections(lines)[0][0] :] + lines),
        # a=ssrc and a=ssrc-group
        "ssrc 0": lambda: _sub(offer, r"^a=ssrc:\d+", "a=ssrc:0", 0),
        "ssrc 2^32": lambda: _sub(offer, r"^a=ssrc:\d+", f"a=ssrc:{2**32}", 0),
        "ssrc 2^64": lambda: _sub(offer, r"^a=ssrc:\d+", f"a=ssrc:{HUGE}", 0),
        "ssrc negative": lambda: _sub(offer, r"^a=ssrc:\d+", "a=ssrc:-5", 0),
        "ssrc letters": lambda: _sub(offer, r"^a=ssrc:\d+", "a=ssrc:abc", 0),
        "ssrc no attribute": lambda: _sub(offer, r"^(a=ssrc:\d+) .*$", r"\1", 0),
        "ssrc same in two m-lines": lambda: _same_ssrc_everywhere(offer),
        "ssrc-group unknown ssrc": lambda: _sub(
            offer, r"^a=ssrc-group:FID \d+", "a=ssrc-group:FID 7"
        ),
        "ssrc-group one ssrc": lambda: _sub(offer, r"^(a=ssrc-group:FID \d+) \d+", r"\1"),
        "ssrc-group no ssrc": lambda: _sub(offer, r"^a=ssrc-group:FID .*$", "a=ssrc-group:FID"),
        "ssrc-group huge": lambda: _sub(
            offer, r"^a=ssrc-group:FID .*$", f"a=ssrc-group:FID {HUGE}"
        ),
        "ssrc-group unknown semantics": lambda: _sub(
            offer, r"^a=ssrc-group:FID", "a=ssrc-group:XX"
        ),
        # a=mid
        "every mid the same": lambda: _sub(offer, r"^a=mid:\S+", f"a=mid:{mid0}", 0),
        "mid of m-line 2 repeats m-line 1": lambda: _nth_mid(offer, 1, mid0),
        "mid 300 characters": lambda: _sub(offer, r"^a=mid:\S+", "a=mid:" + "m" * 300),
        "mid with a space": lambda: _sub(offer, r"^a=mid:\S+", "a=mid:a b"),
        "mid empty everywhere": lambda: _sub(offer, r"^a=mid:\S+", "a=mid:", 0),
        "two mids in one m-line": lambda: _sub(offer, r"^(a=mid:\S+)", r"\1\na=mid:zz"),
        # bundle groups
        "BUNDLE names an unknown mid": lambda: _sub(offer, r"^(a=group:BUNDLE .*)$", r"\1 99"),
        "BUNDLE names only unknown mids": lambda: _sub(
            offer, r"^a=group:BUNDLE .*$", "a=group:BUNDLE x y z"
        ),
        "BUNDLE empty": lambda: _sub(offer, r"^a=group:BUNDLE .*$", "a=group:BUNDLE"),
        "BUNDLE repeats a mid": lambda: _sub(
            offer, r"^a=group:BUNDLE (\S+)(.*)$", r"a=group:BUNDLE \1 \1\2"
        ),
        "BUNDLE leaves out the first mid": lambda: _sub(
            offer, r"^a=group:BUNDLE \S+(.*)$", r"a=group:BUNDLE\1"
        ),
        "BUNDLE reversed": lambda: _sub(
            offer,
            r"^a=group:BUNDLE (.*)$",
            lambda m: "a=group:BUNDLE " + " ".join(reversed(m.group(1).split())),
        ),
        "two BUNDLE groups": lambda: _two_bundles(offer),
        "LS group of unknown mids": lambda: _sub(
            offer, r"^(a=group:BUNDLE .*)$", r"\1\na=group:LS 7 8"
        ),
        "group without semantics": lambda: _sub(offer, r"^a=group:BUNDLE .*$", "a=group:"),
        # DTLS
        "setup missing everywhere": lambda: _sub(offer, r"^a=setup:\S+\n", "", 0),
        "setup holdconn": lambda: _sub(offer, r"^a=setup:\S+", "a=setup:holdconn", 0),
        "setup passive": lambda: _sub(offer, r"^a=setup:\S+", "a=setup:passive", 0),
        "setup active": lambda: _sub(offer, r"^a=setup:\S+", "a=setup:active", 0),
        "setup garbage": lambda: _sub(offer, r"^a=setup:\S+", "a=setup:sideways", 0),
        "setup differs per m-line": lambda: _sub(offer, r"^a=setup:\S+", "a=setup:active"),
        "fingerprint algorithm unknown": lambda: _sub(
            offer, r"^a=fingerprint:\S+", "a=fingerprint:sha-999", 0
        ),
        "fingerprint not hex": lambda: _sub(
            offer, r"^a=fingerprint:(\S+) \S+", r"a=fingerprint:\1 ZZ:YY", 0
        ),
        "fingerprint no hash": lambda: _sub(
            offer, r"^a=fingerprint:(\S+) \S+", r"a=fingerprint:\1", 0
        ),
        "fingerprint only sha-1": lambda: _sub(
            offer, r"^a=fingerprint:\S+ (\S+)", r"a=fingerprint:sha-1 \1", 0
        ),
        "fingerprint differs per m-line": lambda: _sub(
            offer, r"^a=fingerprint:(\S+) (\S\S)", r"a=fingerprint:\1 00"
        ),
        # ICE
        "ice-ufrag one character": lambda: _sub(offer, r"^a=ice-ufrag:\S+", "a=ice-ufrag:a", 0),
        "ice-ufrag 600 characters": lambda: _sub(
            offer, r"^a=ice-ufrag:\S+", "a=ice-ufrag:" + "u" * 600, 0
        ),
        "ice-ufrag with a colon": lambda: _sub(offer, r"^a=ice-ufrag:\S+", "a=ice-ufrag:a:b", 0),
        "ice-ufrag differs per m-line": lambda: _sub(
            offer, r"^a=ice-ufrag:\S+", "a=ice-ufrag:zzzz"
        ),
        "ice-pwd empty": lambda: _sub(offer, r"^a=ice-pwd:\S+", "a=ice-pwd:", 0),
        "ice-pwd missing in m-line 2": lambda: _drop_in_section(lines, 1, "a=ice-pwd"),
        "ice-ufrag missing in m-line 2": lambda: _drop_in_section(lines, 1, "a=ice-ufrag"),
        "fingerprint missing in m-line 2": lambda: _drop_in_section(lines, 1, "a=fingerprint"),
        "ice-lite": lambda: _sub(offer, r"^(a=group:BUNDLE .*)$", r"\1\na=ice-lite"),
        "ice-options garbage": lambda: _sub(
            offer, r"^(a=group:BUNDLE .*)$", r"\1\na=ice-options:zz"
        ),
        "candidate garbage": lambda: _sub(offer, r"^a=candidate:.*$", "a=candidate:garbage", 0),
        "candidate port huge": lambda: _sub(
            offer, r"^(a=candidate:\S+ \d+ \S+ \d+ \S+) \d+", rf"\1 {HUGE}", 0
        ),
        "candidate port letters": lambda: _sub(
            offer, r"^(a=candidate:\S+ \d+ \S+ \d+ \S+) \d+", r"\1 http", 0
        ),
        "candidate address garbage": lambda: _sub(
            offer, r"^(a=candidate:\S+ \d+ \S+ \d+) \S+", r"\1 999.1.2.3", 0
        ),
        "candidate IPv6 garbage": lambda: _sub(
            offer, r"^(a=candidate:\S+ \d+ \S+ \d+) \S+", r"\1 :::::", 0
        ),
        "candidate hostname": lambda: _sub(
            offer, r"^(a=candidate:\S+ \d+ \S+ \d+) \S+", r"\1 studio.example", 0
        ),
        "candidate mDNS name": lambda: _sub(
            offer, r"^(a=candidate:\S+ \d+ \S+ \d+) \S+", r"\1 0a1b-2c3d.local", 0
        ),
        "candidate component 2": lambda: _sub(offer, r"^(a=candidate:\S+) \d+", r"\1 2", 0),
        "candidate component huge": lambda: _sub(
            offer, r"^(a=candidate:\S+) \d+", rf"\1 {HUGE}", 0
        ),
        "candidate priority huge": lambda: _sub(
            offer, r"^(a=candidate:\S+ \d+ \S+) \d+", rf"\1 {HUGE}", 0
        ),
        "candidate transport sctp": lambda: _sub(
            offer, r"^(a=candidate:\S+ \d+) udp", r"\1 sctp", 0
        ),
        "candidate type unknown": lambda: _sub(offer, r"typ host", "typ wormhole", 0),
        "candidate tcp without tcptype": lambda: _sub(
            offer, r"^(a=candidate:\S+ \d+) udp", r"\1 tcp", 0
        ),
        "candidate relay without raddr": lambda: _sub(offer, r"typ host", "typ relay raddr", 0),
        "400 copies of a candidate": lambda: _sub(  # 400: still under the 64 KiB limit
            offer, r"^(a=candidate:[^\n]*)$", lambda m: "\n".join([m.group(1)] * 400)
        ),
        # header extensions
        "extmap id 0": lambda: _sub(offer, r"^a=extmap:\d+", "a=extmap:0", 0),
        "extmap id 15": lambda: _sub(offer, r"^a=extmap:\d+", "a=extmap:15", 0),
        "extmap id 256": lambda: _sub(offer, r"^a=extmap:\d+", "a=extmap:256", 0),
        "extmap id huge": lambda: _sub(offer, r"^a=extmap:\d+", f"a=extmap:{HUGE}", 0),
        "extmap id letters": lambda: _sub(offer, r"^a=extmap:\d+", "a=extmap:ab", 0),
        "extmap id with direction": lambda: _sub(
            offer, r"^a=extmap:(\d+)", r"a=extmap:\1/sendonly"
        ),
        "extmap same id twice": lambda: _sub(offer, r"^a=extmap:\d+", "a=extmap:1", 0),
        "extmap no uri": lambda: _sub(offer, r"^(a=extmap:\d+) \S+", r"\1", 0),
        # directions and connection lines
        "two directions in one m-line": lambda: _sub(
            offer, r"^a=sendrecv", "a=sendrecv\na=recvonly"
        ),
        "every m-line inactive": lambda: _sub(
            offer, r"^a=(sendrecv|recvonly|sendonly)$", "a=inactive", 0
        ),
        "every m-line sendonly": lambda: _sub(offer, r"^a=(sendrecv|recvonly)$", "a=sendonly", 0),
        "every m-line sendrecv": lambda: _sub(offer, r"^a=recvonly$", "a=sendrecv", 0),
        "c= IPv6 loopback": lambda: _sub(offer, r"^c=IN IP4 \S+", "c=IN IP6 ::1", 0),
        "c= bad address": lambda: _sub(offer, r"^c=IN IP4 \S+", "c=IN IP4 999.999.1.1", 0),
        "c= garbage": lambda: _sub(offer, r"^c=.*$", "c=garbage", 0),
        "rtcp port huge": lambda: _sub(offer, r"^a=rtcp:\d+", f"a=rtcp:{HUGE}", 0),
        "rtcp-mux missing everywhere": lambda: _sub(offer, r"^a=rtcp-mux\n", "", 0),
        "msid empty": lambda: _sub(offer, r"^a=msid:.*$", "a=msid:", 0),
        "msid 3 words": lambda: _sub(offer, r"^a=msid:(.*)$", r"a=msid:\1 extra", 0),
        "sctp-port on a media line": lambda: _sub(offer, r"^(a=rtcp-mux)$", r"\1\na=sctp-port:x"),
        "max-message-size huge": lambda: _sub(
            offer, r"^(a=rtcp-mux)$", rf"\1\na=max-message-size:{HUGE}"
        ),
        # the session lines and the text itself
        "v=1": lambda: _sub(offer, r"^v=0", "v=1"),
        "o= garbage": lambda: _sub(offer, r"^o=.*$", "o=garbage"),
        "o= huge session id": lambda: _sub(offer, r"^o=- \d+", f"o=- {'9' * 400}"),
        "t= garbage": lambda: _sub(offer, r"^t=.*$", "t=x y"),
        "session-level setup and fingerprint only": lambda: _session_level_dtls(lines),
        "LF line endings": lambda: offer.replace("\r\n", "\n"),
        "CR line endings": lambda: offer.replace("\r\n", "\r"),
        "no final line break": lambda: offer.rstrip("\r\n"),
        "blank lines between": lambda: offer.replace("\r\n", "\r\n\r\n"),
        "trailing spaces": lambda: offer.replace("\r\n", "  \r\n"),
        "tabs for spaces": lambda: offer.replace(" ", "\t"),
        "a line without =": lambda: _sub(offer, r"^(a=rtcp-mux)$", r"\1\nhello"),
        "a lone a=": lambda: _sub(offer, r"^(a=rtcp-mux)$", r"\1\na="),
        "unknown line type": lambda: _sub(offer, r"^(a=rtcp-mux)$", r"\1\nz=what"),
        "leading space on every line": lambda: offer.replace("\r\n", "\r\n "),
        "byte-order mark": lambda: "\ufeff" + offer,
        "NUL in the middle": lambda: offer[: len(offer) // 2] + "\x00" + offer[len(offer) // 2 :],
        "just under 64 KiB of a=x": lambda: _pad(offer, 64 * 1024 - 200),
        "over 64 KiB": lambda: _pad(offer, 64 * 1024 + 10),
        "only v=0": lambda: "v=0\n",
        "v=0 and one m-line": lambda: "v=0\nm=video 9 UDP/TLS/RTP/SAVPF 96\n",
        # not UTF-8 (WHIP only: the console's JSON is text)
        "latin-1 byte in ufrag": lambda: offer.encode().replace(
            b"a=ice-ufrag:", b"a=ice-ufrag:\xe9", 1
        ),
        "0xff in the middle": lambda: offer.encode()[:500] + b"\xff\xfe" + offer.encode()[500:],
        "overlong UTF-8": lambda: offer.encode().replace(b"s=-", b"s=\xc0\xaf", 1),
        "UTF-16": lambda: offer.encode("utf-16"),
    }
    for name, make in cases.items():
        yield name, make()


def _nth_mid(offer: str, n: int, value: str) -> str:
    count = -1

    def repl(m: re.Match[str]) -> str:
        nonlocal count
        count += 1
        return f"a=mid:{value}" if count == n else m.group(0)

    return re.sub(r"^a=mid:\S+", repl, offer, flags=re.MULTILINE)


def _same_ssrc_everywhere(offer: str) -> str:
    first = re.search(r"^a=ssrc:(\d+)", offer, re.MULTILINE)
    assert first
    return _sub(offer, r"^a=ssrc:\d+", f"a=ssrc:{first.group(1)}", 0)


def _two_bundles(offer: str) -> str:
    def repl(m: re.Match[str]) -> str:
        mids = m.group(1).split()
        half = len(mids) // 2
        return f"a=group:BUNDLE {' '.join(mids[:half])}\na=group:BUNDLE {' '.join(mids[half:])}"

    return _sub(offer, r"^a=group:BUNDLE (.*)$", repl)


def _drop_in_section(lines: Lines, n: int, key: str) -> str:
    first, end = sections(lines)[n]
    kept = [ln for i, ln in enumerate(lines) if not (first <= i < end and key_of(ln) == key)]
    return join(kept)


def _session_level_dtls(lines: Lines) -> str:
    """Setup and fingerprint moved from the m-sections to the session (legal, rarely seen)."""
    moved = {"a=setup", "a=fingerprint"}
    first = sections(lines)[0][0]
    dtls = [ln for ln in lines[first:] if key_of(ln) in moved]
    session = lines[:first] + list(dict.fromkeys(dtls))
    return join(session + [ln for ln in lines[first:] if key_of(ln) not in moved])


def _extra_pairs(lines: Lines, count: int) -> str:
    """`count` more receive-only video and audio sections, copies of the last two."""
    secs = sections(lines)
    tail = [ln for a, b in secs[-2:] for ln in lines[a:b]]
    out = [*lines]
    for i in range(count):
        out += [
            re.sub(r"^a=mid:(\S+)", rf"a=mid:x{i}\1", ln).replace("a=sendrecv", "a=recvonly")
            for ln in tail
            if not ln.startswith("a=ssrc")
        ]
    return join(out)


def _pad(offer: str, size: int) -> str:
    lines = split(offer)
    first = sections(lines)[0][0]
    filler = []
    room = size - len(offer.encode())
    while room > 0:
        line = "a=x-filler:" + "f" * min(200, max(1, room - 13))
        filler.append(line)
        room -= len(line) + 2
    return join(lines[:first] + filler + lines[first:])


def mutations(offer: str) -> list[tuple[str, Offer]]:
    """The whole table: (case id, broken offer), ids unique."""
    table = [*by_line_kind(offer), *targeted(offer)]
    ids = [name for name, _ in table]
    assert len(ids) == len(set(ids)), "duplicate case ids"
    return table


# For the fuzz: what a drawn value may be, besides any text.
TOKENS = [
    "0",
    "1",
    "x",
    "sendrecv",
    "recvonly",
    "sendonly",
    "inactive",
    "actpass",
    "active",
    "passive",
    "VP8/90000",
    "opus/48000/2",
    "H264/90000",
    "rtx/90000",
    "BUNDLE 0 1 9",
    "sha-256 AA:BB",
    "FID 1 2",
    "UDP/TLS/RTP/SAVPF",
    "IN IP4 10.77.0.9",
    "apt=96",
    "1 udp 1 10.77.0.9 9 typ host",
]
VALUES = st.one_of(
    st.integers(-(2**70), 2**70).map(str),
    st.sampled_from(TOKENS),
    st.text(st.characters(exclude_categories=["Cs"]), max_size=30),
)
KINDS = st.sampled_from(["a=mid:", "a=ssrc:", "a=rtpmap:", "a=group:", "m=", "c=", "a=", "x="])


@st.composite
def fuzzed(draw: st.DrawFn, offer: str) -> Offer:
    """`offer` with one to four drawn edits of its lines (text for the console's JSON; now
    and then bytes that are not UTF-8, for WHIP)."""
    lines = split(offer)
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(lines) - 1))
        edit = draw(st.sampled_from(["drop", "double", "value", "number", "swap", "insert"]))
        line = lines[i]
        if edit == "drop" and len(lines) > 1:
            del lines[i]
        elif edit == "double":
            lines.insert(i, line)
        elif edit == "value":
            lines[i] = line[: _value_span(line)] + draw(VALUES)
        elif edit == "number" and re.search(r"\d+", line):
            lines[i] = re.sub(r"\d+", draw(VALUES), line, count=1)
        elif edit == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif edit == "insert":
            lines.insert(i, draw(KINDS) + draw(VALUES))
    text = join(lines)
    if draw(st.integers(0, 19)) == 0:  # one in twenty: a byte that is not UTF-8
        at = draw(st.integers(0, len(text)))
        return (
            text[:at].encode()
            + draw(st.sampled_from([b"\xff", b"\xc0\xaf", b"\xed\xa0\x80"]))
            + text[at:].encode()
        )
    return text
