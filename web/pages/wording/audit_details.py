"""An audit line's details as people read them: "Start: 17:00 → 18:00", "Studio: AZERTAC",
"Size: 1,2 GB"; never a Python value (True, None), a raw timestamp, a frame count or a hash.

Each detail the code writes (schedules' booking, graphics and output services, the bridge's
reports through web.live.autopilot, the live controls) has a label and a kind of value here;
a key not listed still reads as "Label: value" with its value made readable, and one that
means nothing to a person (hashes, server paths, the recorder's counters) is left out.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from markupsafe import Markup

from schedules.model import Studio
from web.pages.i18n import LANGUAGES
from web.pages.wording.numbers import format_decibels, format_hms, format_number, format_size

# Keys never shown: the archive keeps the hashes; counters and paths are the server's business.
HIDDEN = frozenset(
    {
        "sha256",
        "path",
        "directory",
        "frames",
        "frames_dropped",
        "audio_packets",
        "audio_dropped",
        "segments",
        "media_seconds",
        "realtime_factor",
        "file",  # said by the sentence (the program's recording, or a studio's own)
        "output_id",
        "replaced",  # said by the sentence (joined again)
        "from",  # shown with "to" as one change of status
    }
)
HEX_HASH = re.compile(r"^[0-9a-fA-F]{32,}$")
QUOTE_LIMIT = 120  # a long text (notes, a reason) is cut here: the booking shows it whole

# key -> (label msgid, kind of value). Kinds are the _FORMATS below.
FIELDS: dict[str, tuple[str, str]] = {
    "title": ("Title", "text"),
    "studios": ("Studios", "studios"),
    "studio_ids": ("Studios", "studios"),
    "studio": ("Studio", "studio"),
    "starts_at": ("Starts", "moment"),
    "ends_at": ("Ends", "moment"),
    "setup_minutes": ("Line check", "minutes"),
    "teardown_minutes": ("Teardown", "minutes"),
    "record": ("Recording", "yes_no"),
    "layout": ("Layout", "word"),
    "quality": ("Picture quality", "plain"),
    "stream": ("Audience stream", "stream"),
    "notes": ("Notes", "text"),
    "zone": ("Time zone", "plain"),
    "series_id": ("Weekly series", "series"),
    "reason": ("Reason", "text"),
    "status": ("Booking now", "word"),
    "to": ("Status", "status_change"),
    "silent_s": ("Silent for", "seconds"),
    "duration_s": ("Length", "hms"),
    "bytes": ("Size", "size"),
    "gain_db": ("Level", "decibels"),
    "muted": ("Muted", "yes_no"),
    "name": ("Name on screen", "text"),
    "visible": ("Shown", "yes_no"),
    "language": ("Language", "language"),
    "languages": ("Languages", "languages"),
    "texts": ("Lower thirds", "count"),
    "clock": ("Clock", "clock"),
    "logo_visible": ("Logo shown", "yes_no"),
    "logo_corner": ("Logo corner", "corner"),
    "output": ("Output", "output"),
    "kind": ("Type", "upper"),
    "target": ("Destination", "plain"),
    "error": ("Error", "text"),
    "recording": ("Recording", "plain"),
    "files": ("Files", "count"),
    "width": ("Width", "pixels"),
    "height": ("Height", "pixels"),
}
# The graphics change's "title" is a lower third's second line, not the booking's title.
GRAPHICS_FIELDS = {"title": ("Title on screen", "text")}
# Words the values are translated by (besides the statuses and layouts, which are msgids).
VALUE_WORDS = ("yes", "no", "off", "%(count)s px")
CORNER_WORDS = {
    "top-left": "top left",
    "top-right": "top right",
    "bottom-left": "bottom left",
    "bottom-right": "bottom right",
}
STREAM_WORDS = {
    "private": "Private: only with the viewing link",
    "public": "Public: anyone with the page address",
}
# Every label, for the catalogues. A key not listed reads as its own words ("last_error":
# "Last error"), untranslated, rather than not at all.
LABELS = tuple(
    dict.fromkeys(label for label, _kind in (*FIELDS.values(), *GRAPHICS_FIELDS.values()))
)


@dataclass(frozen=True)
class Reader:
    """What a value needs to be written for this reader: words, times, studios, outputs."""

    gettext: Callable[[str], str]
    lang: str
    when: Callable[[datetime], str]  # weekday, date and time in the reader's zone and format
    clock: Callable[[datetime], str]  # the time alone
    same_day: Callable[[datetime, datetime], bool]  # in the reader's zone
    studios: Mapping[str, Studio]
    outputs: Mapping[str, str]  # output id -> its name, from the log's "output added" lines

    def word(self, msgid: str, **values: Any) -> Markup:
        """A translated message with escaped values filled in."""
        text = Markup(self.gettext(msgid))
        return text % values if values else text


def studio_name(r: Reader, sid: object) -> str:
    """A studio's name; the id of a studio since removed."""
    s = r.studios.get(str(sid))
    return s.name if s else str(sid)


def _moment(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return None


def _quoted(value: object) -> str:
    text = " ".join(str(value).split())
    if len(text) > QUOTE_LIMIT:
        text = text[: QUOTE_LIMIT - 1] + "…"
    return f"«{text}»"


def _plain(r: Reader, value: object) -> str | Markup | None:
    """Any value made readable: yes/no, numbers in the reader's format, lists joined."""
    if value is None or value == "" or value == [] or isinstance(value, dict):
        return None
    if isinstance(value, bool):
        return r.word("yes" if value else "no")
    if isinstance(value, int | float):
        return format_number(value, r.lang, 2)
    if isinstance(value, list | tuple):
        parts = [p for p in (_plain(r, v) for v in value) if p is not None]
        return ", ".join(str(p) for p in parts) or None
    text = str(value)
    if HEX_HASH.match(text):
        return None
    moment = _moment(text) if "T" in text else None
    return r.when(moment) if moment is not None else text


def _format(r: Reader, kind: str, value: object) -> str | Markup | None:
    """`value` of `kind` for people; None: nothing to say."""
    if value is None or value == "":
        return r.word("off") if kind == "clock" and value is None else None
    if kind == "text":
        return _quoted(value)
    if kind == "studio":
        return studio_name(r, value)
    if kind == "studios" and isinstance(value, list | tuple):
        return ", ".join(studio_name(r, s) for s in value)
    if kind == "moment" and (moment := _moment(value)) is not None:
        return r.when(moment)
    if kind == "minutes" and isinstance(value, int | float):
        return r.word("%(minutes)s min", minutes=format_number(value, r.lang))
    if kind == "yes_no" and isinstance(value, bool):
        return r.word("yes" if value else "no")
    if kind == "word" and isinstance(value, str):
        return r.word(value)
    if kind == "stream" and isinstance(value, str) and value in STREAM_WORDS:
        return r.word(STREAM_WORDS[value])
    if kind == "corner" and isinstance(value, str) and value in CORNER_WORDS:
        return r.word(CORNER_WORDS[value])
    if kind == "series":
        return r.word("yes")
    if kind == "seconds" and isinstance(value, int | float):
        return r.word("%(seconds)s s", seconds=format_number(value, r.lang, 1))
    if kind == "hms" and isinstance(value, int | float):
        return format_hms(value)
    if kind == "size" and isinstance(value, int | float):
        return format_size(value, r.lang)
    if kind == "decibels" and isinstance(value, int | float):
        return format_decibels(value, r.lang)
    if kind == "count" and isinstance(value, int | float):
        return format_number(value, r.lang)
    if kind == "pixels" and isinstance(value, int | float):
        return r.word("%(count)s px", count=format_number(value, r.lang))
    if kind == "language" and isinstance(value, str):
        return LANGUAGES.get(value, value)
    if kind == "languages" and isinstance(value, list | tuple):
        return ", ".join(LANGUAGES.get(str(v), str(v)) for v in value)
    if kind == "upper" and isinstance(value, str):
        return value.upper()
    if kind == "output":
        return r.outputs.get(str(value)) or _plain(r, value)
    if kind == "clock":
        return str(value)
    return _plain(r, value)


def _label(key: str, fields: Mapping[str, tuple[str, str]]) -> tuple[str | None, str]:
    known = fields.get(key) or FIELDS.get(key)
    if known:
        return known
    return None, "plain"


def _line(r: Reader, key: str, label: str | None, text: str | Markup) -> Markup:
    shown = r.word(label) if label else key.replace("_", " ").capitalize()
    return Markup("{}: {}").format(shown, text)


def _change(r: Reader, key: str, kind: str, before: object, after: object) -> str | Markup:
    """One field's change, "old → new"; times of one day show the clock alone."""
    old, new = _moment(before), _moment(after)
    if kind == "moment" and old is not None and new is not None and r.same_day(old, new):
        return Markup("{} → {}").format(r.clock(old), r.clock(new))
    dash = "–"
    a = _format(r, kind, before)
    b = _format(r, kind, after)
    return Markup("{} → {}").format(a if a is not None else dash, b if b is not None else dash)


def change_lines(r: Reader, changed: Mapping[str, object]) -> list[Markup]:
    """An edit's details, {field: [old, new]}: one "Label: old → new" per field."""
    lines = []
    for key, pair in changed.items():
        if key in HIDDEN or not (isinstance(pair, list | tuple) and len(pair) == 2):
            continue
        label, kind = _label(key, {})
        lines.append(_line(r, key, label, _change(r, key, kind, pair[0], pair[1])))
    return lines


def detail_lines(
    r: Reader, action: str, details: Mapping[str, object], skip: Sequence[str] = ()
) -> list[Markup]:
    """The details of any other line: "Label: value", in the order they were written."""
    if action in ("edited", "rescheduled"):
        return change_lines(r, details)
    fields = GRAPHICS_FIELDS if action == "changed the graphics" else {}
    lines = []
    # A recording's length before its size, wherever the writer put them.
    for key, value in sorted(details.items(), key=lambda kv: kv[0] != "duration_s"):
        if key in HIDDEN or key in skip:
            continue
        label, kind = _label(key, fields)
        if kind == "status_change":
            text: str | Markup | None = _change(r, key, "word", details.get("from"), value)
        elif key == "ends_at" and (start := _moment(details.get("starts_at"))) is not None:
            end = _moment(value)
            same = end is not None and r.same_day(start, end)
            text = r.clock(end) if same and end is not None else _format(r, kind, value)
        else:
            text = _format(r, kind, value)
        if text is not None:
            lines.append(_line(r, key, label, text))
    return lines
