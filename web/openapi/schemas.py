"""Schemas of the booking, studio, archive and error documents (web.http.serialize and the
route modules write them; schedules says what the inputs may hold)."""

from __future__ import annotations

from bridge.program.layout import LAYOUTS
from schedules.model import (
    DEFAULT_LAYOUT,
    DEFAULT_QUALITY,
    DEFAULT_SETUP_MINUTES,
    DEFAULT_STREAM,
    DEFAULT_TEARDOWN_MINUTES,
    MAX_BUFFER_MINUTES,
    MAX_STUDIOS,
    MIN_STUDIOS,
    QUALITY_PRESETS,
    STREAM_ACCESS,
    BookingStatus,
    PartnerAnswer,
    Role,
)
from schedules.service import STUDIO_ID
from schedules.validation import MAX_NOTES, MAX_REASON, MAX_TITLE
from web.openapi.model import MOMENT, STRING, Schema, nullable, ref

# Every error code the app sends, and what it means; `Error.code` lists them.
ERROR_CODES = {
    "invalid": "422: fields that are wrong, named in `fields`",
    "invalid_json": "400: the body is not (usable) JSON",
    "bad_request": "400: a malformed request (for example a bad Host header)",
    "bad_offer": "400: the SDP offer cannot be used",
    "unauthorized": "401: no credentials (or, for WHIP, no bearer token)",
    "invalid_token": "401: the API token or calendar token is unknown, revoked or expired",
    "forbidden": "403: the caller's role or studio may not do this",
    "csrf_failed": "403: a session-authenticated change without a valid X-CSRF-Token",
    "invalid_link": "403: the join token is not this booking's and studio's",
    "not_open_yet": "403: the join link opens with the line check",
    "link_closed": "403: the join link has closed (show over, cancelled or declined)",
    "studio_removed": "403: the studio is no longer part of the booking",
    "studio_declined": "403: the studio declined the booking (its words in `reason`)",
    "not_found": "404: unknown, or not visible to the caller",
    "method_not_allowed": "405: the route exists, the method does not (see Allow); PATCH on a "
    "WHIP session: no trickle ICE nor ICE restarts",
    "conflict": "409: studios already booked; the bookings in the way are in `conflicts`",
    "invalid_transition": "409: the booking's status does not allow this",
    "duplicate": "409: the id is taken",
    "not_declined": "409: only a studio that declined can be left out of a booking",
    "too_few_studios": "409: leaving the studio out would leave fewer than two",
    "room_not_open": "409: the telebridge's room is not open now",
    "room_closed": "409: the room closed while connecting",
    "no_program": "409: the room composes no program",
    "recording_in_progress": "409: the recording is still being written; stop it first",
    "room_moving": "503: the room is moving between nodes of a cluster; try again",
    "room_node_unreachable": "503: the cluster node that runs the room does not answer",
    "no_node_free": "503: no node of the cluster has room for another telebridge now",
    "body_too_large": "413: the body is larger than the server accepts",
    "unsupported_media_type": "415: the body's Content-Type is not the one the route takes",
    "too_many_requests": "429: too many attempts",
    "internal": "500: a bug; nothing was saved",
    "database_unavailable": "503: the database is not answering; retry after Retry-After",
}

_CONFLICT: Schema = {
    "type": "object",
    "description": "A booking that holds one of the asked-for studios at an overlapping time.",
    "required": ["booking_id", "studio_id", "title", "starts_at", "ends_at"],
    "additionalProperties": False,
    "properties": {
        "booking_id": STRING,
        "studio_id": STRING,
        "title": STRING,
        "starts_at": MOMENT,
        "ends_at": MOMENT,
        "setup_starts_at": {
            **MOMENT,
            "description": "When that booking's line check starts: its studios are busy from "
            "then until teardown_ends_at, and that is the window that overlaps.",
        },
        "teardown_ends_at": {**MOMENT, "description": "When that booking's teardown ends."},
    },
}

_ERROR: Schema = {
    "type": "object",
    "description": "The one error shape of every JSON route.",
    "required": ["error"],
    "additionalProperties": False,
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "additionalProperties": False,
            "properties": {
                "code": {
                    "type": "string",
                    "description": "Stable, for programs: "
                    + "; ".join(f"`{c}` {what}" for c, what in ERROR_CODES.items()),
                },
                "message": {"type": "string", "description": "English, for people and logs."},
                "fields": {
                    "type": "object",
                    "description": "422: what is wrong with each named field.",
                    "additionalProperties": {"type": "string"},
                },
                "conflicts": {"type": "array", "items": ref("Conflict")},
                "reason": {
                    "type": "string",
                    "description": "studio_declined: why it declined, in its operator's words.",
                },
            },
        }
    },
}

_STUDIO_FIELDS: Schema = {
    "id": {"type": "string", "pattern": STUDIO_ID.pattern, "maxLength": 63},
    "name": {"type": "string", "maxLength": 200},
    "organisation": {"type": "string", "maxLength": 200},
    "city": {"type": "string", "maxLength": 100},
    "timezone": {"type": "string", "maxLength": 64, "description": "IANA zone, e.g. Asia/Baku"},
}

_STUDIO: Schema = {
    "type": "object",
    "required": list(_STUDIO_FIELDS),
    "additionalProperties": False,
    "properties": {name: {"type": "string"} for name in _STUDIO_FIELDS},
}

_NEW_STUDIO: Schema = {
    "type": "object",
    "required": list(_STUDIO_FIELDS),
    "properties": _STUDIO_FIELDS,
}

_INPUT_MOMENT: Schema = {
    "type": "string",
    "format": "date-time",
    "description": "RFC 3339 with an offset or Z, e.g. 2026-12-01T14:00:00+04:00; naive refused.",
}

_BOOKING_FIELDS: Schema = {
    "title": {"type": "string", "maxLength": MAX_TITLE},
    "studios": {
        "type": "array",
        "items": {"type": "string"},
        "minItems": MIN_STUDIOS,
        "maxItems": MAX_STUDIOS,
        "uniqueItems": True,
        "description": "Studio ids.",
    },
    "starts_at": _INPUT_MOMENT,
    "ends_at": _INPUT_MOMENT,
    "zone": {
        "type": ["string", "null"],
        "maxLength": 64,
        "default": "",
        "description": "The IANA zone the times were entered in (e.g. Asia/Baku): the booking "
        "form shows and edits them on that clock, and a weekly series without its own zone "
        "keeps it. The times themselves still need their offsets. An unknown zone is refused "
        '(422); "" or null: none.',
    },
    "setup_minutes": {
        "type": "integer",
        "minimum": 0,
        "maximum": MAX_BUFFER_MINUTES,
        "default": DEFAULT_SETUP_MINUTES,
        "description": "The line check before the show; the studios are busy from then.",
    },
    "teardown_minutes": {
        "type": "integer",
        "minimum": 0,
        "maximum": MAX_BUFFER_MINUTES,
        "default": DEFAULT_TEARDOWN_MINUTES,
    },
    "record": {"type": "boolean", "default": True},
    "layout": {"enum": list(LAYOUTS), "default": DEFAULT_LAYOUT},
    "quality": {"enum": list(QUALITY_PRESETS), "default": DEFAULT_QUALITY},
    "stream": {
        "enum": list(STREAM_ACCESS),
        "default": DEFAULT_STREAM,
        "description": "Who may watch the live program: private (the signed viewing link of "
        "GET /api/bookings/{id}/watch-link) or public (anyone with the watch page's address).",
    },
    "notes": {"type": ["string", "null"], "maxLength": MAX_NOTES},
}

_RECURRENCE: Schema = {
    "type": "object",
    "description": "A weekly series: one booking per week until `until` (at most a year); "
    "occurrences that conflict are skipped and listed.",
    "required": ["until"],
    "properties": {
        "frequency": {"enum": ["weekly"], "default": "weekly"},
        "until": {"type": "string", "format": "date"},
        "timezone": {
            "type": "string",
            "description": "IANA zone whose wall clock the series keeps (across DST switches).",
        },
        "interval_weeks": {"type": "integer", "minimum": 1, "maximum": 4, "default": 1},
    },
}

_NEW_BOOKING: Schema = {
    "type": "object",
    "description": "Unknown fields are refused (422).",
    "required": ["title", "studios", "starts_at", "ends_at"],
    "additionalProperties": False,
    "properties": {**_BOOKING_FIELDS, "recurrence": ref("Recurrence")},
}

_BOOKING_CHANGE: Schema = {
    "type": "object",
    "description": "Only the fields to change; a new time or studio list asks every partner "
    "again. Recurrence cannot be changed (422); edit occurrences one by one.",
    "additionalProperties": False,
    "properties": _BOOKING_FIELDS,
}

_BOOKING_STUDIO: Schema = {
    "type": "object",
    "required": [
        "id",
        "name",
        "timezone",
        "status",
        "answered_at",
        "decline_reason",
        "local_start",
        "local_setup",
    ],
    "additionalProperties": False,
    "properties": {
        "id": STRING,
        "name": STRING,
        "timezone": STRING,
        "status": {"enum": [a.value for a in PartnerAnswer]},
        "answered_at": nullable(MOMENT),
        "decline_reason": {
            "type": "string",
            "maxLength": MAX_REASON,
            "description": 'Why the studio declined, as its operator said ("" otherwise).',
        },
        "local_start": {**nullable(MOMENT), "description": "The start in the studio's zone."},
        "local_setup": {**nullable(MOMENT), "description": "The line check in its zone."},
    },
}

_BOOKING_OUT = {
    "id": STRING,
    "series_id": {"type": ["string", "null"]},
    "title": STRING,
    "status": {"enum": [s.value for s in BookingStatus]},
    "studios": {"type": "array", "items": ref("BookingStudio")},
    "starts_at": MOMENT,
    "ends_at": MOMENT,
    "zone": {
        "type": "string",
        "description": 'The IANA zone the times were entered in; "" for none said.',
    },
    "setup_minutes": {"type": "integer"},
    "teardown_minutes": {"type": "integer"},
    "setup_starts_at": MOMENT,
    "teardown_ends_at": MOMENT,
    "record": {"type": "boolean"},
    "layout": {"enum": list(LAYOUTS)},
    "quality": {"enum": list(QUALITY_PRESETS)},
    "stream": {"enum": list(STREAM_ACCESS)},
    "notes": STRING,
    "sequence": {"type": "integer", "description": "Goes up with every change (iCalendar)."},
    "created_by": STRING,
    "created_at": MOMENT,
    "updated_at": MOMENT,
}

_BOOKING: Schema = {
    "type": "object",
    "required": list(_BOOKING_OUT),
    "additionalProperties": False,
    "properties": _BOOKING_OUT,
}

_SKIPPED: Schema = {
    "type": "object",
    "required": ["starts_at", "ends_at", "conflicts"],
    "properties": {
        "starts_at": MOMENT,
        "ends_at": MOMENT,
        "conflicts": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["booking_id", "studio_id", "title"],
                "properties": {"booking_id": STRING, "studio_id": STRING, "title": STRING},
            },
        },
    },
}

_BOOKING_CREATED: Schema = {
    "type": "object",
    "required": ["booking"],
    "additionalProperties": False,
    "properties": {
        "booking": ref("Booking"),
        "series": {
            "type": "object",
            "description": "Only for a weekly series: `booking` is its first occurrence.",
            "required": ["id", "created", "skipped"],
            "properties": {
                "id": STRING,
                "created": {"type": "array", "items": ref("Booking")},
                "skipped": {"type": "array", "items": _SKIPPED},
            },
        },
    },
}

_STUDIO_ANSWER: Schema = {
    "type": "object",
    "required": ["studio"],
    "properties": {
        "studio": {"type": "string", "description": "The studio that answers."},
        "reason": {
            "type": ["string", "null"],
            "maxLength": MAX_REASON,
            "description": "Decline only, optional: why. Trimmed; one line of at most "
            f"{MAX_REASON} characters without control characters (422 otherwise); blank or "
            "null is none. Shown to the producer on the booking page, in the audit log and in "
            "the calendar event's description.",
        },
    },
}

_STUDIO_CHOICE: Schema = {
    "type": "object",
    "required": ["studio"],
    "properties": {"studio": {"type": "string", "description": "A studio that declined."}},
}

_CANCEL: Schema = {
    "type": "object",
    "properties": {"reason": {"type": "string", "description": "Kept in the audit log."}},
}

_JOIN_LINKS: Schema = {
    "type": "object",
    "required": ["links"],
    "properties": {
        "links": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["studio", "url", "valid_from", "valid_until"],
                "properties": {
                    "studio": STRING,
                    "url": {"type": "string", "format": "uri", "description": "?token= inside."},
                    "valid_from": MOMENT,
                    "valid_until": MOMENT,
                },
            },
        }
    },
}

_AUDIT: Schema = {
    "type": "object",
    "required": ["events"],
    "properties": {
        "events": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["at", "actor", "action", "details"],
                "properties": {
                    "at": MOMENT,
                    "actor": STRING,
                    "action": STRING,
                    "details": {"type": "object"},
                },
            },
        }
    },
}

_ME: Schema = {
    "type": "object",
    "required": ["name", "role", "studio", "csrf_token"],
    "additionalProperties": False,
    "properties": {
        "name": STRING,
        "role": {"enum": [r.value for r in Role]},
        "studio": {"type": ["string", "null"], "description": "An operator's studio."},
        "csrf_token": {
            "type": ["string", "null"],
            "description": "For session callers: send it as X-CSRF-Token on changes. "
            "Null for API tokens (they need none).",
        },
    },
}

_RECORDING_FILE: Schema = {
    "type": "object",
    "required": ["name", "kind", "studio", "url", "bytes", "sha256", "media_type", "duration_s"],
    "additionalProperties": False,
    "properties": {
        "name": STRING,
        "kind": {"enum": ["program", "iso"]},
        "studio": {"type": ["string", "null"], "description": "The studio of an ISO file."},
        "url": {"type": "string", "description": "Relative; add ?download=1 to save it."},
        "bytes": {"type": "integer"},
        "sha256": STRING,
        "media_type": STRING,
        "duration_s": {"type": ["number", "null"]},
    },
}

_RECORDING: Schema = {
    "type": "object",
    "required": [
        "id",
        "booking_id",
        "title",
        "studios",
        "started_at",
        "ended_at",
        "duration_s",
        "parts",
        "files",
        "poster_url",
    ],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "string", "pattern": "^[0-9a-f]{12}$"},
        "booking_id": STRING,
        "title": STRING,
        "studios": {"type": "array", "items": STRING},
        "started_at": MOMENT,
        "ended_at": nullable(MOMENT),
        "duration_s": {"type": ["number", "null"]},
        "parts": {"type": "integer", "description": "More than 1 after a restart mid-show."},
        "files": {"type": "array", "items": ref("RecordingFile")},
        "poster_url": STRING,
    },
}


def _envelope(name: str, schema: Schema) -> Schema:
    return {
        "type": "object",
        "required": [name],
        "additionalProperties": False,
        "properties": {name: schema},
    }


SCHEMAS: dict[str, Schema] = {
    "Error": _ERROR,
    "Conflict": _CONFLICT,
    "Me": _ME,
    "Studio": _STUDIO,
    "NewStudio": _NEW_STUDIO,
    "StudioDocument": _envelope("studio", ref("Studio")),
    "StudioList": _envelope("studios", {"type": "array", "items": ref("Studio")}),
    "Recurrence": _RECURRENCE,
    "NewBooking": _NEW_BOOKING,
    "BookingChange": _BOOKING_CHANGE,
    "BookingStudio": _BOOKING_STUDIO,
    "Booking": _BOOKING,
    "BookingDocument": _envelope("booking", ref("Booking")),
    "BookingCreated": _BOOKING_CREATED,
    "BookingList": _envelope("bookings", {"type": "array", "items": ref("Booking")}),
    "StudioAnswer": _STUDIO_ANSWER,
    "StudioChoice": _STUDIO_CHOICE,
    "Cancel": _CANCEL,
    "JoinLinks": _JOIN_LINKS,
    "AuditLog": _AUDIT,
    "RecordingFile": _RECORDING_FILE,
    "Recording": _RECORDING,
    "RecordingDocument": _envelope("recording", ref("Recording")),
    "RecordingDeleted": _envelope(
        "deleted",
        {
            "type": "object",
            "required": ["id", "files", "objects"],
            "properties": {
                "id": {"type": "string"},
                "files": {"type": "integer", "description": "Files of the recording deleted."},
                "objects": {
                    "type": "integer",
                    "description": "Objects deleted from the object store (0 without one).",
                },
            },
        },
    ),
    "RecordingList": _envelope("recordings", {"type": "array", "items": ref("Recording")}),
}
