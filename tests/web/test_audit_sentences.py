"""The booking page's audit log reads as sentences for people, in the page's language: every
action the code writes, with its details as "Label: value" (studio names, not ids; times in the
reader's format; a recording's length and size; yes/no), never a Python value, a raw timestamp,
a frame count or a hash. The lines are written to the real booking service and read back through
the real booking page, as a partner's browser asks for it.
"""

from __future__ import annotations

import ast
import html
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from webtools import ClockedApp

from bridge.spec import EventKind
from schedules.model import AuditEvent
from web.live.autopilot import NOT_AUDITED, OUTPUT_AUDIT
from web.pages.wording.audit_text import AUDIT_PHRASES, _phrase_key
from web.services import BOOKINGS

ROOT = Path(__file__).resolve().parents[2]
HASH = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
LOGO_HASH = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
RECORDER_COUNTERS = {
    "frames": 111690,
    "frames_dropped": 3,
    "audio_packets": 186150,
    "audio_dropped": 0,
    "segments": 63,
    "bytes": 1_180_000_000,  # the segments' running total; the file's own size wins
    "media_seconds": 3723.1,
    "realtime_factor": 0.98,
}
# (actor, action, details) as each writer writes them (schedules' services, the autopilot's
# reports of the bridge, the live controls), one per sentence of the log.
TABLE: list[tuple[str, str, dict[str, Any]]] = [
    (
        "producer",
        "created",
        {
            "title": "Caspian energy week",
            "studios": ["trend", "dha"],
            "starts_at": "2030-01-16T13:00:00Z",
            "ends_at": "2030-01-16T14:00:00Z",
            "series_id": "5f2a9c0e1b",
        },
    ),
    (
        "producer",
        "edited",
        {
            "title": ["Caspian energy week", "Caspian energy week, day 2"],
            "record": [True, False],
            "layout": ["auto", "side-by-side"],
            "stream": ["private", "public"],
            "quality": ["720p30", "1080p30"],
            "notes": ["", "Bring the flag"],
            "zone": ["", "Asia/Baku"],
        },
    ),
    (
        "producer (token)",
        "rescheduled",
        {
            "starts_at": ["2030-01-16T13:00:00Z", "2030-01-16T14:00:00Z"],
            "ends_at": ["2030-01-16T14:00:00Z", "2030-01-16T15:00:00Z"],
            "studio_ids": [["trend", "dha"], ["trend", "dha", "ansa"]],
            "setup_minutes": [15, 30],
            "teardown_minutes": [5, 10],
        },
    ),
    ("operator-dha", "confirmed", {"studio": "dha", "status": "confirmed"}),
    ("operator-dha", "declined", {"studio": "dha", "status": "declined", "reason": "No crew"}),
    ("producer", "cancelled", {"from": "confirmed", "to": "cancelled", "reason": "Weather"}),
    (
        "producer",
        "continued without",
        {"studio": "dha", "studios": ["trend", "ansa"], "status": "confirmed"},
    ),
    ("autopilot", "went live", {"from": "confirmed", "to": "live"}),
    ("autopilot", "completed", {"from": "live", "to": "completed"}),
    ("bridge", "studio joined", {"replaced": False, "studio": "trend"}),
    ("bridge", "studio joined", {"replaced": True, "studio": "dha"}),
    ("bridge", "studio left", {"studio": "dha"}),
    ("bridge", "feed lost", {"silent_s": 3.52, "studio": "dha"}),
    ("bridge", "feed restored", {"studio": "dha"}),
    ("bridge", "recording started", {}),
    (
        "bridge",
        "recording finished",
        {**RECORDER_COUNTERS, "file": "program", "bytes": 1_234_567_890, "sha256": HASH}
        | {"duration_s": 3723.4},
    ),
    (
        "bridge",
        "recording finished",
        {**RECORDER_COUNTERS, "file": "iso", "bytes": 512_300_000, "sha256": HASH}
        | {"duration_s": 45.0, "studio": "dha"},
    ),
    ("producer", "switched the program", {"layout": "solo", "studio": "dha"}),
    ("producer", "switched the program", {"layout": "grid", "studio": None}),
    ("producer", "changed the program sound", {"studio": "dha", "gain_db": -3.5, "muted": False}),
    (
        "producer",
        "changed the graphics",
        {
            "studio": "trend",
            "name": "Elnur Aliyev",
            "title": "Anchor",
            "visible": True,
            "language": "az",
            "clock": None,
            "logo_visible": False,
            "logo_corner": "top-right",
        },
    ),
    ("producer", "changed the lower thirds", {"texts": 3, "languages": ["az", "tr"]}),
    (
        "producer",
        "output added",
        {
            "output": "a1b2c3d4e5",
            "kind": "rtmp",
            "name": "YouTube",
            "target": "rtmp://a.rtmp.youtube.com/live2/••••",
        },
    ),
    ("bridge", "output live", {"output": "a1b2c3d4e5", "kind": "rtmp"}),
    (
        "bridge",
        "output dropped",
        {"output": "a1b2c3d4e5", "kind": "rtmp", "error": "Connection refused"},
    ),
    ("bridge", "output failed", {"output": "a1b2c3d4e5", "kind": "rtmp", "error": "timeout"}),
    ("bridge", "output stopped", {"output": "a1b2c3d4e5", "kind": "rtmp"}),
    (
        "producer",
        "output removed",
        {"output": "a1b2c3d4e5", "kind": "rtmp", "name": "YouTube", "target": "rtmp://…/••••"},
    ),
    ("admin", "deleted a recording", {"recording": "0123456789ab", "files": 3}),
    ("dha console", "called production", {"studio": "dha"}),
    ("producer", "answered a call", {"studio": "dha"}),
    ("admin", "uploaded the logo", {"width": 400, "height": 200, "sha256": LOGO_HASH}),
    ("admin", "removed the logo", {}),
    # Something this version does not know yet: still a sentence, never a dict.
    ("producer", "frobnicated the widget", {"widget": {"a": 1}, "loud": True, "hash": HASH}),
]
WRONG = (
    re.compile(r"\bNone\b"),
    re.compile(r"\bFalse\b"),
    re.compile(r"\bTrue\b"),
    re.compile(r"[{}]"),
    re.compile(r"sha256", re.I),
    re.compile(r"\b[0-9a-f]{32,}\b"),
    re.compile(r"\d{4}-\d\d-\d\dT\d\d"),  # an RFC 3339 timestamp
    re.compile(r"\b[a-z]+_[a-z_]+\b"),  # a key of the details (gain_db, duration_s)
    re.compile(r"\b(frames|segments|audio packets|realtime)\b", re.I),
    re.compile(r"(?<![\w-])(dha|trend|ansa)\b"),  # studio ids: the log names the studios
)
LANGUAGES = {"en": "en-GB,en;q=0.9", "az": "az-AZ,az;q=0.9,ru;q=0.5"}


async def audit_lines(c: ClockedApp, booking_id: str, lang: str) -> list[str]:
    """The booking page's audit lines as text, oldest first, in `lang`."""
    headers = {**c.headers["producer"], "Accept-Language": LANGUAGES[lang]}
    resp = await c.client.get(f"/bookings/{booking_id}", headers=headers)
    page = await resp.text()
    assert resp.status == 200, page
    assert f'lang="{lang}"' in page
    log = re.search(r'<ol class="audit">(.*?)</ol>', page, re.S)
    assert log, "the booking page has its audit log"
    items = re.findall(r"<li>(.*?)</li>", log.group(1), re.S)
    text = [" ".join(html.unescape(re.sub(r"<[^>]+>", " ", i)).split()) for i in items]
    return text[::-1]


def nth(lines: list[str], action: str, n: int = 0) -> str:
    """The line of the `n`th row of TABLE with `action`."""
    rows = [i for i, (_actor, a, _details) in enumerate(TABLE) if a == action]
    return lines[rows[n]]


@pytest.fixture
async def written(clocked: ClockedApp) -> str:
    """The demo booking with one line of each kind at the end of its log."""
    found = await clocked.app[BOOKINGS].search()
    booking_id = found[0].id
    for actor, action, details in TABLE:
        clocked.clock.advance(seconds=1)
        await clocked.app[BOOKINGS].note(booking_id, actor, action, details)
    return booking_id


def test_the_table_has_every_sentence() -> None:
    at = datetime(2030, 1, 15, tzinfo=UTC)
    keys = {_phrase_key(AuditEvent("b", at, a, action, d)) for a, action, d in TABLE}
    assert set(AUDIT_PHRASES) <= keys, set(AUDIT_PHRASES) - keys


@pytest.mark.parametrize("lang", sorted(LANGUAGES))
async def test_every_line_reads_as_a_sentence_for_people(
    clocked: ClockedApp, written: str, lang: str
) -> None:
    lines = (await audit_lines(clocked, written, lang))[-len(TABLE) :]
    assert len(lines) == len(TABLE)
    for (_actor, action, _details), line in zip(TABLE, lines, strict=True):
        for wrong in WRONG:
            assert not wrong.search(line), (lang, action, wrong.pattern, line)
    by_action = {action: line for (_a, action, _d), line in zip(TABLE, lines, strict=True)}
    size = "1,2 GB" if lang == "az" else "1.2 GB"
    program, iso = nth(lines, "recording finished", 0), nth(lines, "recording finished", 1)
    assert "1:02:03" in program and size in program, program
    assert "0:00:45" in iso and ("512,3 MB" if lang == "az" else "512.3 MB") in iso, iso
    assert "DHA" in iso and "Trend" in nth(lines, "studio joined", 0)
    assert "ANSA" in by_action["rescheduled"]
    level = "−3,5 dB" if lang == "az" else "−3.5 dB"
    assert level in by_action["changed the program sound"]
    assert "YouTube" in by_action["output live"]  # named by its "output added" line
    assert "frobnicated the widget" in by_action["frobnicated the widget"]
    if lang == "en":
        assert re.search(r"Starts: \d\d:\d\d → \d\d:\d\d", by_action["rescheduled"])
        assert "Line check: 15 min → 30 min" in by_action["rescheduled"]
        assert "Recording: yes → no" in by_action["edited"]
        assert "DHA joined again on a new connection" in nth(lines, "studio joined", 1)
        assert "producer went on without DHA" in by_action["continued without"]
        assert "The console of" not in by_action["called production"]
        assert "DHA called the producer" in by_action["called production"]
        assert "The autopilot put it on air" in by_action["went live"]
        assert "Status: confirmed → live" in by_action["went live"]


async def test_each_sentence_is_in_the_readers_language(clocked: ClockedApp, written: str) -> None:
    english = (await audit_lines(clocked, written, "en"))[-len(TABLE) :]
    azerbaijani = (await audit_lines(clocked, written, "az"))[-len(TABLE) :]
    for (_actor, action, _details), en, az in zip(TABLE, english, azerbaijani, strict=True):
        if action in AUDIT_PHRASES:
            assert en != az, (action, en)
    assert "DHA studiyasının siqnalı itdi" in nth(azerbaijani, "feed lost")
    assert "bəli → xeyr" in nth(azerbaijani, "edited")  # Recording: yes → no


def _constant(node: ast.expr | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _called(node: ast.Call) -> str:
    f = node.func
    return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""


def written_actions() -> set[str]:
    """Every audit action the code writes, read from its source: the constant action of each
    AuditEvent / AuditLine / note / _audit / _step call, the two-way choices assigned to
    `action`, the output states' actions and the bridge's audited reports."""
    where = {"AuditEvent": 3, "AuditLine": 2, "_audit": 2, "_step": 3}
    found: set[str] = set()
    for path in [*ROOT.glob("schedules/**/*.py"), *ROOT.glob("web/**/*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                name = _called(node)
                index = where.get(name)
                if name == "note":
                    index = 3 if len(node.args) >= 5 else 2
                if (
                    index is not None
                    and len(node.args) > index
                    and (text := _constant(node.args[index]))
                ):
                    found.add(text)
            elif isinstance(node, ast.Assign) and isinstance(node.value, ast.IfExp):
                targets = {t.id for t in node.targets if isinstance(t, ast.Name)}
                if "action" in targets:
                    for branch in (node.value.body, node.value.orelse):
                        if text := _constant(branch):
                            found.add(text)
    found |= set(OUTPUT_AUDIT.values())
    found |= {
        k.value.replace("_", " ")
        for k in EventKind
        if k not in NOT_AUDITED and k is not EventKind.OUTPUT_CHANGED
    }
    return found


def test_every_action_the_code_writes_has_a_sentence() -> None:
    actions = written_actions()
    assert {"created", "confirmed", "declined", "went live", "answered a call"} <= actions
    assert {"changed the program sound", "uploaded the logo", "recording finished"} <= actions
    assert actions <= set(AUDIT_PHRASES), sorted(actions - set(AUDIT_PHRASES))
