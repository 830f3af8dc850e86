"""Bookings and studios as the API's JSON documents (described in web/openapi/)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from schedules.fields import booking_json
from schedules.model import AuditEvent, Booking, BookingStudio, Studio
from schedules.timeutil import rfc3339


def studio_doc(s: Studio) -> dict[str, Any]:
    """A studio as JSON."""
    return {
        "id": s.id,
        "name": s.name,
        "organisation": s.organisation,
        "city": s.city,
        "timezone": s.timezone,
    }


def booking_doc(b: Booking, studios: Mapping[str, Studio]) -> dict[str, Any]:
    """A booking as JSON, with each studio's answer and local start time."""
    doc = booking_json(b)
    # In the place of the studio ids (a key keeps its place when its value is replaced).
    doc["studios"] = [studio_part(b, part, studios.get(part.studio_id)) for part in b.studios]
    return doc


def studio_part(b: Booking, part: BookingStudio, studio: Studio | None) -> dict[str, Any]:
    """One studio of a booking as JSON: its answer, and the start and setup on its clock."""
    return {
        "id": part.studio_id,
        "name": studio.name if studio else part.studio_id,
        "timezone": studio.timezone if studio else "UTC",
        "status": part.answer.value,
        "answered_at": rfc3339(part.answered_at) if part.answered_at else None,
        "decline_reason": part.decline_reason,
        "local_start": rfc3339(studio.local(b.starts_at)) if studio else None,
        "local_setup": rfc3339(studio.local(b.busy_from)) if studio else None,
    }


def audit_doc(e: AuditEvent) -> dict[str, Any]:
    """An audit event as JSON."""
    return {"at": rfc3339(e.at), "actor": e.actor, "action": e.action, "details": e.details}
