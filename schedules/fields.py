"""A booking's fields, declared once: which ones a booking body sets, which column stores each,
what the audit log compares, and the booking's JSON (keys, order and values).

Adding a field to bookings means: the attribute on `Booking` (and on `BookingDraft` when a body
sets it), one line here, its check in `validation.parse_draft` when a body sets it, and the
column with its migration in `db`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from schedules.model import Booking, BookingDraft, BookingStatus
from schedules.timeutil import rfc3339


def _same(value: Any) -> Any:
    return value


def _moment(value: datetime) -> str:
    return rfc3339(value)


def _status_text(value: BookingStatus) -> str:
    return value.value


def _status(value: str) -> BookingStatus:
    return BookingStatus(value)


def _ids(value: tuple[str, ...]) -> list[str]:
    return list(value)


@dataclass(frozen=True)
class BookingField:
    """One field of a booking and where it goes."""

    name: str  # the attribute of Booking, and of BookingDraft when `drafted`
    json_name: str  # its key in the booking's JSON and in a booking body
    to_json: Callable[[Any], object] = _same  # its JSON value, which the audit log keeps too
    column: str | None = None  # its column in `bookings` (None: the store's own business)
    to_column: Callable[[Any], object] = _same
    from_column: Callable[[Any], object] = _same
    derived: bool = False  # a property of Booking: written to its column, never read back
    drafted: bool = False  # a booking body sets it, and the audit log lists its changes
    reschedules: bool = False  # a change of it sends the booking back to its partners


F = BookingField
# In the order of the booking's JSON (docs/api.md, web/openapi/schemas.py).
BOOKING_FIELDS: tuple[BookingField, ...] = (
    F("id", "id"),  # the key: the store inserts and finds a booking by it
    F("series_id", "series_id", column="series_id"),
    F("title", "title", column="title", drafted=True),
    F(
        "status",
        "status",
        _status_text,
        column="status",
        to_column=_status_text,
        from_column=_status,
    ),
    # The studios and their answers live in `booking_studios`, written by the store; the
    # JSON shows the ids here and web puts each studio's details in their place.
    F("studio_ids", "studios", _ids, derived=True, drafted=True, reschedules=True),
    F("starts_at", "starts_at", _moment, column="starts_at", drafted=True, reschedules=True),
    F("ends_at", "ends_at", _moment, column="ends_at", drafted=True, reschedules=True),
    # The IANA zone the times were entered in ("" when not said): how they are shown and edited.
    # Not a reschedule: the moments stay what they are.
    F("zone", "zone", column="zone", drafted=True),
    F("setup_minutes", "setup_minutes", column="setup_minutes", drafted=True, reschedules=True),
    F(
        "teardown_minutes",
        "teardown_minutes",
        column="teardown_minutes",
        drafted=True,
        reschedules=True,
    ),
    # Stored so that the conflict query is one indexed range test.
    F("busy_from", "setup_starts_at", _moment, column="busy_from", derived=True),
    F("busy_until", "teardown_ends_at", _moment, column="busy_until", derived=True),
    F("record", "record", column="record", drafted=True),
    F("layout", "layout", column="layout", drafted=True),
    F("quality", "quality", column="quality", drafted=True),
    F("stream", "stream", column="stream", drafted=True),
    F("notes", "notes", column="notes", drafted=True),
    F("sequence", "sequence", column="sequence"),
    F("created_by", "created_by", column="created_by"),
    F("created_at", "created_at", _moment, column="created_at"),
    F("updated_at", "updated_at", _moment, column="updated_at"),
)
DRAFTED = tuple(f for f in BOOKING_FIELDS if f.drafted)
# What a booking body may name besides the drafted fields.
BODY_ONLY = frozenset({"recurrence"})
BODY_FIELDS = frozenset(f.json_name for f in DRAFTED) | BODY_ONLY
RESCHEDULING = frozenset(f.name for f in BOOKING_FIELDS if f.reschedules)


def booking_json(booking: Booking) -> dict[str, Any]:
    """The booking's fields as JSON, in order; its studios as their ids."""
    return {f.json_name: f.to_json(getattr(booking, f.name)) for f in BOOKING_FIELDS}


def columns_of(booking: Booking) -> dict[str, Any]:
    """The booking's values by column of `bookings`, all but the key."""
    return {f.column: f.to_column(getattr(booking, f.name)) for f in BOOKING_FIELDS if f.column}


def from_columns(row: Mapping[Any, Any]) -> dict[str, Any]:
    """`Booking`'s arguments read from a row of `bookings`, all but the key and the studios."""
    return {
        f.name: f.from_column(row[f.column]) for f in BOOKING_FIELDS if f.column and not f.derived
    }


def drafted_values(draft: BookingDraft) -> dict[str, Any]:
    """`Booking`'s arguments that a draft sets as they are (the studios are the service's: their
    answers stay or go with the change)."""
    return {f.name: getattr(draft, f.name) for f in DRAFTED if not f.derived}


def changes(old: Booking, draft: BookingDraft) -> dict[str, object]:
    """What a draft changes, for the audit log: {field: [old, new]} in JSON values."""
    out: dict[str, object] = {}
    for f in DRAFTED:
        before, after = f.to_json(getattr(old, f.name)), f.to_json(getattr(draft, f.name))
        if before != after:
            out[f.name] = [before, after]
    return out
