"""Bookings as iCalendar (RFC 5545) text, written by hand: all times in UTC, lines folded."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from schedules.model import Booking, BookingStatus, PartnerAnswer, Studio

PRODID = "-//Telebridge//Telebridge schedules//EN"
MAX_LINE_OCTETS = 75  # RFC 5545 3.1, not counting the CRLF

STATUS = {
    BookingStatus.REQUESTED: "TENTATIVE",
    BookingStatus.CONFIRMED: "CONFIRMED",
    BookingStatus.LIVE: "CONFIRMED",
    BookingStatus.COMPLETED: "CONFIRMED",
    BookingStatus.DECLINED: "CANCELLED",
    BookingStatus.CANCELLED: "CANCELLED",
}

# TEXT may not hold control characters other than HTAB (RFC 5545 3.3.11); line breaks are
# turned into the \n escape before this runs, so anything left here is dropped.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def booking_event(
    booking: Booking,
    studios: Mapping[str, Studio],
    *,
    url: str | None = None,
    domain: str = "telebridge",
    for_studio: str | None = None,
) -> list[str]:
    """The VEVENT content lines (unfolded) of one booking, as `for_studio`'s calendar shows it
    when given: cancelled once that studio has declined, whatever the others do."""
    status = STATUS[booking.status]
    if for_studio is not None and booking.answer_of(for_studio) is PartnerAnswer.DECLINED:
        status = "CANCELLED"
    lines = [
        "BEGIN:VEVENT",
        # The id never changes, so calendars update the event in place instead of adding one.
        f"UID:{booking.id}@{domain}",
        f"DTSTAMP:{_utc(booking.updated_at)}",
        f"DTSTART:{_utc(booking.starts_at)}",
        f"DTEND:{_utc(booking.ends_at)}",
        f"SEQUENCE:{booking.sequence}",
        f"STATUS:{status}",
        f"SUMMARY:{escape_text(booking.title)}",
        f"DESCRIPTION:{escape_text(_description(booking, studios))}",
        f"LOCATION:{escape_text(', '.join(_studio_name(i, studios) for i in booking.studio_ids))}",
    ]
    if url is not None:
        if _CONTROL.search(url):
            raise ValueError("an event URL must not contain control characters")
        lines.append(f"URL:{url}")  # a URI, not TEXT: no escaping
    lines += [
        f"CREATED:{_utc(booking.created_at)}",
        f"LAST-MODIFIED:{_utc(booking.updated_at)}",
        f"X-TELEBRIDGE-SETUP-MINUTES:{booking.setup_minutes}",
        f"X-TELEBRIDGE-TEARDOWN-MINUTES:{booking.teardown_minutes}",
        "END:VEVENT",
    ]
    return lines


def calendar(events: Iterable[list[str]], *, name: str) -> str:
    """A whole VCALENDAR around `events`, folded, with CRLF line endings."""
    lines = [
        "BEGIN:VCALENDAR",
        f"PRODID:{PRODID}",
        "VERSION:2.0",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape_text(name)}",
    ]
    for event in events:
        lines.extend(event)
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines)


def escape_text(value: str) -> str:
    """`value` as an RFC 5545 TEXT value (backslash, semicolon, comma and newline escaped)."""
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    value = value.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\\n")
    return _CONTROL.sub("", value)


def fold(line: str) -> str:
    """`line` folded into physical lines of at most 75 octets, never inside a UTF-8 character."""
    parts: list[str] = []
    current: list[str] = []
    size = 0
    limit = MAX_LINE_OCTETS
    for char in line:
        width = len(char.encode())
        if size + width > limit:
            parts.append("".join(current))
            # A continuation line starts with a space, which counts toward its 75 octets.
            current, size, limit = [], 0, MAX_LINE_OCTETS - 1
        current.append(char)
        size += width
    parts.append("".join(current))
    return "\r\n ".join(parts)


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _studio_name(studio_id: str, studios: Mapping[str, Studio]) -> str:
    studio = studios.get(studio_id)
    return studio.name if studio else studio_id


def _description(booking: Booking, studios: Mapping[str, Studio]) -> str:
    # Operators read their own wall clock; the event times themselves stay in UTC.
    lines = []
    for studio_id in booking.studio_ids:
        studio = studios.get(studio_id)
        if studio is None:  # a caller that passed too few studios still gets a usable event
            lines.append(f"{studio_id}: {booking.starts_at.astimezone(UTC):%Y-%m-%d %H:%M} (UTC)")
            continue
        local = studio.local(booking.starts_at)
        lines.append(f"{studio.name}, {studio.city}: {local:%Y-%m-%d %H:%M} ({studio.timezone})")
    setup = booking.busy_from.astimezone(UTC)
    lines.append(
        f"Line check (setup) from {setup:%Y-%m-%d %H:%M} UTC, "
        f"{booking.setup_minutes} min before air"
    )
    # Who declined and why: the producer's calendar says it as the booking page does.
    for part in booking.studios:
        if part.answer is PartnerAnswer.DECLINED:
            name = _studio_name(part.studio_id, studios)
            when = part.answered_at.astimezone(UTC) if part.answered_at else None
            said = f" on {when:%Y-%m-%d %H:%M} UTC" if when else ""
            reason = f": {part.decline_reason}" if part.decline_reason else ""
            lines.append(f"{name} declined{said}{reason}")
    if booking.notes:
        lines += ["", booking.notes]
    return "\n".join(lines)
