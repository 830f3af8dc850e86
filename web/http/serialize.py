"""Bookings and studios as the JSON documents of API.md."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from schedules.model import AuditEvent, Booking, Studio
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
    parts = []
    for part in b.studios:
        studio = studios.get(part.studio_id)
        parts.append(
            {
                "id": part.studio_id,
                "name": studio.name if studio else part.studio_id,
                "timezone": studio.timezone if studio else "UTC",
                "status": part.answer.value,
                "answered_at": rfc3339(part.answered_at) if part.answered_at else None,
                "local_start": rfc3339(studio.local(b.starts_at)) if studio else None,
                "local_setup": rfc3339(studio.local(b.busy_from)) if studio else None,
            }
        )
    return {
        "id": b.id,
        "series_id": b.series_id,
        "title": b.title,
        "status": b.status.value,
        "studios": parts,
        "starts_at": rfc3339(b.starts_at),
        "ends_at": rfc3339(b.ends_at),
        "setup_minutes": b.setup_minutes,
        "teardown_minutes": b.teardown_minutes,
        "setup_starts_at": rfc3339(b.busy_from),
        "teardown_ends_at": rfc3339(b.busy_until),
        "record": b.record,
        "layout": b.layout,
        "quality": b.quality,
        "notes": b.notes,
        "sequence": b.sequence,
        "created_by": b.created_by,
        "created_at": rfc3339(b.created_at),
        "updated_at": rfc3339(b.updated_at),
    }


def audit_doc(e: AuditEvent) -> dict[str, Any]:
    """An audit event as JSON."""
    return {"at": rfc3339(e.at), "actor": e.actor, "action": e.action, "details": e.details}
