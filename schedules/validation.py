"""Turning untrusted input (JSON bodies, form fields) into a `BookingDraft`, or field errors."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from schedules.errors import ValidationError
from schedules.fields import BODY_FIELDS
from schedules.model import (
    DEFAULT_LAYOUT,
    DEFAULT_QUALITY,
    DEFAULT_SETUP_MINUTES,
    DEFAULT_STREAM,
    DEFAULT_TEARDOWN_MINUTES,
    MAX_BOOKING,
    MAX_BUFFER_MINUTES,
    MAX_STUDIOS,
    MIN_STUDIOS,
    QUALITY_PRESETS,
    STREAM_ACCESS,
    Booking,
    BookingDraft,
    Recurrence,
)
from schedules.rules.zones import check_zone
from schedules.timeutil import TimeInputError, in_range, known_zone, parse_rfc3339

MAX_TITLE = 200
MAX_NOTES = 4000
MAX_SERIES = timedelta(days=366)


def parse_draft(
    data: object,
    layouts: Sequence[str],
    base: Booking | None = None,
    *,
    allow_recurrence: bool = True,
) -> BookingDraft:
    """Validate a booking body; with `base`, absent fields keep the booking's values (PATCH).

    `layouts` are the program layouts a booking may ask for (the live side declares them).
    """
    if not isinstance(data, Mapping):
        raise ValidationError("The body must be a JSON object")
    errors: dict[str, str] = {}
    unknown = sorted(str(k) for k in data if k not in BODY_FIELDS)
    for key in unknown:
        errors[key] = "unknown field"

    def pick(name: str, default: Any) -> Any:
        return data.get(name, default)

    title = _title(pick("title", base.title if base else None), errors)
    studios = _studios(pick("studios", list(base.studio_ids) if base else None), errors)
    starts_at = _moment("starts_at", pick("starts_at", base.starts_at if base else None), errors)
    ends_at = _moment("ends_at", pick("ends_at", base.ends_at if base else None), errors)
    setup = _minutes(
        "setup_minutes",
        pick("setup_minutes", base.setup_minutes if base else DEFAULT_SETUP_MINUTES),
        errors,
    )
    teardown = _minutes(
        "teardown_minutes",
        pick("teardown_minutes", base.teardown_minutes if base else DEFAULT_TEARDOWN_MINUTES),
        errors,
    )
    record = pick("record", base.record if base else True)
    if not isinstance(record, bool):
        errors["record"] = "must be true or false"
        record = True
    quality = pick("quality", base.quality if base else DEFAULT_QUALITY)
    # Text first: a list or an object cannot even be looked up in the presets (a 500 once).
    if not isinstance(quality, str) or quality not in QUALITY_PRESETS:
        errors["quality"] = "must be one of " + ", ".join(QUALITY_PRESETS)
        quality = DEFAULT_QUALITY
    stream = pick("stream", base.stream if base else DEFAULT_STREAM)
    if not isinstance(stream, str) or stream not in STREAM_ACCESS:
        errors["stream"] = "must be one of " + ", ".join(STREAM_ACCESS)
        stream = DEFAULT_STREAM
    layout = pick("layout", base.layout if base else DEFAULT_LAYOUT)
    if not isinstance(layout, str) or layout not in layouts:
        errors["layout"] = "must be one of " + ", ".join(layouts)
        layout = DEFAULT_LAYOUT
    try:
        zone = check_zone(pick("zone", base.zone if base else ""))
    except ValueError as exc:
        errors["zone"] = str(exc)
        zone = ""
    notes = pick("notes", base.notes if base else "")
    if notes is None:
        notes = ""
    if not isinstance(notes, str):
        errors["notes"] = "must be text"
        notes = ""
    elif len(notes) > MAX_NOTES:
        errors["notes"] = f"must be at most {MAX_NOTES} characters"

    if starts_at is not None and ends_at is not None:
        if ends_at <= starts_at:
            errors["ends_at"] = "must be after the start"
        elif ends_at - starts_at > MAX_BOOKING:
            hours = int(MAX_BOOKING.total_seconds() // 3600)
            errors["ends_at"] = f"a booking lasts at most {hours} hours"

    recurrence = None
    raw_recurrence = data.get("recurrence")
    if raw_recurrence is not None:
        if not allow_recurrence:
            errors["recurrence"] = (
                "set a weekly repetition only when booking; edit occurrences one by one"
            )
        else:
            recurrence = _recurrence(raw_recurrence, starts_at, errors)

    if errors:
        raise ValidationError(_summary(errors), errors)
    assert title is not None and studios is not None
    assert starts_at is not None and ends_at is not None
    return BookingDraft(
        title=title,
        studio_ids=studios,
        starts_at=starts_at,
        ends_at=ends_at,
        setup_minutes=setup,
        teardown_minutes=teardown,
        record=record,
        layout=layout,
        quality=quality,
        stream=stream,
        notes=notes.strip(),
        recurrence=recurrence,
        zone=zone,
    )


def _summary(errors: Mapping[str, str]) -> str:
    if len(errors) == 1:
        ((name, problem),) = errors.items()
        return f"{name}: {problem}"
    return "The booking has problems in: " + ", ".join(sorted(errors))


def _title(value: object, errors: dict[str, str]) -> str | None:
    if value is None:
        errors["title"] = "is required"
        return None
    if not isinstance(value, str):
        errors["title"] = "must be text"
        return None
    # Control characters would end up in calendars and pages: whitespace is folded, the rest
    # dropped.
    text = " ".join("".join(c for c in value if c.isprintable() or c.isspace()).split())
    if not text:
        errors["title"] = "is required"
    elif len(text) > MAX_TITLE:
        errors["title"] = f"must be at most {MAX_TITLE} characters"
    return text


def _studios(value: object, errors: dict[str, str]) -> tuple[str, ...] | None:
    if value is None:
        errors["studios"] = "is required"
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        errors["studios"] = "must be a list of studio ids"
        return None
    ids = tuple(dict.fromkeys(v.strip() for v in value if v.strip()))
    if len(ids) != len(value):
        errors["studios"] = "each studio may appear only once"
    elif not MIN_STUDIOS <= len(ids) <= MAX_STUDIOS:
        errors["studios"] = f"a telebridge joins {MIN_STUDIOS} to {MAX_STUDIOS} studios"
    return ids


def _moment(name: str, value: object, errors: dict[str, str]) -> datetime | None:
    if value is None:
        errors[name] = "is required"
        return None
    try:
        if isinstance(value, datetime):
            if value.tzinfo is None or value.utcoffset() is None:
                errors[name] = "has no UTC offset"
                return None
            return in_range(value)  # aware UTC inside, whatever offset the caller used
        return parse_rfc3339(value)
    except TimeInputError as exc:
        errors[name] = str(exc)
        return None


def _minutes(name: str, value: object, errors: dict[str, str]) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        errors[name] = "must be a whole number of minutes"
        return 0
    if not 0 <= value <= MAX_BUFFER_MINUTES:
        errors[name] = f"must be between 0 and {MAX_BUFFER_MINUTES} minutes"
    return value


def _recurrence(
    value: object, starts_at: datetime | None, errors: dict[str, str]
) -> Recurrence | None:
    if not isinstance(value, Mapping):
        errors["recurrence"] = 'must be an object such as {"until": "2027-02-01"}'
        return None
    frequency = value.get("frequency", "weekly")
    if frequency != "weekly":
        errors["recurrence"] = 'only "weekly" repetition is supported'
        return None
    until_raw = value.get("until")
    try:
        until = date.fromisoformat(until_raw) if isinstance(until_raw, str) else None
    except ValueError:
        until = None
    if until is None:
        errors["recurrence"] = "needs an end date, until, as YYYY-MM-DD"
        return None
    zone_name = value.get("timezone")
    if zone_name is not None and (not isinstance(zone_name, str) or not known_zone(zone_name)):
        errors["recurrence"] = "timezone must be an IANA zone such as Europe/Rome"
        return None
    interval = value.get("interval_weeks", 1)
    if isinstance(interval, bool) or not isinstance(interval, int) or not 1 <= interval <= 4:
        errors["recurrence"] = "interval_weeks must be 1 to 4"
        return None
    if starts_at is not None:
        if until < starts_at.date():
            errors["recurrence"] = "until must not be before the first occurrence"
            return None
        if until - starts_at.date() > MAX_SERIES:
            errors["recurrence"] = "a weekly series may run for at most one year"
            return None
    return Recurrence(until=until, timezone=zone_name, interval_weeks=interval)


MAX_REASON = 500
# Line breaks and other control characters (Unicode Cc, and the line and paragraph separators):
# a reason is one line of text, shown in a banner and folded into calendar descriptions.
_NOT_ONE_LINE = frozenset({"Cc", "Zl", "Zp"})


def parse_reason(value: object, *, required: bool) -> str:
    """A studio's reason to decline, trimmed: 1 to MAX_REASON characters of one line.

    Without one (absent, null or blank) it is "" unless `required` (the booking page's form
    asks for it; API callers may leave it out). ValidationError names the `reason` field.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        if not required:
            return ""
        problem = "is required"
    elif not isinstance(value, str):
        problem = "must be text"
    elif len(value.strip()) > MAX_REASON:
        problem = f"must be at most {MAX_REASON} characters"
    elif any(unicodedata.category(c) in _NOT_ONE_LINE for c in value.strip()):
        problem = "must be one line, without control characters"
    else:
        return value.strip()
    raise ValidationError(f"reason: {problem}", {"reason": problem})
