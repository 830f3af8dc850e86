"""A booking's cues, chat and studio calls (web.http.direction): operations and schemas."""

from __future__ import annotations

from schedules.direction.calls import CALL_SECONDS
from schedules.direction.parse import MAX_CUE_TEXT, MAX_MESSAGE
from schedules.direction.record import CueKind
from web.openapi.model import (
    BOOKING,
    SIGNED_IN,
    SIGNED_IN_CHANGE,
    STUDIO,
    Body,
    Operation,
    Query,
    Reply,
    Schema,
    ref,
)

DIRECTORS = ("admin", "producer")
_ONE = f"/api/bookings/{BOOKING}"
_CUE = "{cue_id:[0-9]{1,12}}"
_HIDDEN = "not_found: unknown booking, or not visible to the caller"
_CREW = "forbidden: not producers, admins or the operators of the booking's studios"
_OVER = "invalid_transition: the booking is cancelled, declined or over"
_MOMENT: Schema = {"type": "string", "format": "date-time"}
_NULLABLE_MOMENT: Schema = {"type": ["string", "null"], "format": "date-time"}

_CUE_DOC: Schema = {
    "type": "object",
    "required": ["id", "studio", "cue", "text", "sent_by", "sent_at", "acknowledged_at"],
    "properties": {
        "id": {"type": "integer"},
        "studio": {"type": "string", "description": "The cued studio."},
        "cue": {"enum": [k.value for k in CueKind]},
        "text": {"type": "string", "description": "The free line (may be empty)."},
        "sent_by": {"type": "string"},
        "sent_at": _MOMENT,
        "acknowledged_at": _NULLABLE_MOMENT,
        "acknowledged_by": {"type": ["string", "null"]},
    },
}

_MESSAGE_DOC: Schema = {
    "type": "object",
    "required": ["id", "author", "from", "to", "text", "sent_at"],
    "properties": {
        "id": {"type": "integer", "description": "Grows with each message: read on with after="},
        "author": {"type": "string"},
        "from": {
            "type": ["string", "null"],
            "description": "The studio whose console or operator wrote it; null: production.",
        },
        "to": {
            "type": ["string", "null"],
            "description": "null: everyone in the booking; a studio id: private between "
            "production and that studio.",
        },
        "text": {
            "type": "string",
            "description": "As written, line breaks included; show it as text, never markup.",
        },
        "sent_at": _MOMENT,
    },
}

_CALL_TIMES: dict[str, Schema] = {
    "since": {**_MOMENT, "description": "The studio's first press of this call."},
    "expires_at": {
        **_MOMENT,
        "description": f"When the call ends unanswered: {CALL_SECONDS} s after the studio's "
        "latest press.",
    },
}

DIRECTION_SCHEMAS: dict[str, Schema] = {
    "ConsoleCall": {
        "type": "object",
        "required": ["since", "expires_at"],
        "properties": _CALL_TIMES,
    },
    "StudioCall": {
        "type": "object",
        "required": ["studio", "since", "expires_at"],
        "properties": {"studio": {"type": "string"}, **_CALL_TIMES},
    },
    "ConsoleCallDocument": {
        "type": "object",
        "required": ["call"],
        "properties": {"call": ref("ConsoleCall")},
    },
    "CallList": {
        "type": "object",
        "required": ["calls"],
        "properties": {"calls": {"type": "array", "items": ref("StudioCall")}},
    },
    "CallAnswer": {
        "type": "object",
        "required": ["answered"],
        "properties": {
            "answered": {
                "type": "boolean",
                "description": "false: the studio had no open call (answered by another "
                "producer, or run out).",
            }
        },
    },
    "Cue": _CUE_DOC,
    "NewCue": {
        "type": "object",
        "required": ["studio", "cue"],
        "additionalProperties": False,
        "properties": {
            "studio": {"type": "string", "description": "A studio of the booking."},
            "cue": {
                "enum": [k.value for k in CueKind],
                "description": "stand_by, ten_seconds, you_are_on, wrap_up, off_air; free: "
                "the text alone.",
            },
            "text": {
                "type": "string",
                "maxLength": MAX_CUE_TEXT,
                "description": "One line, no control characters; required for free.",
            },
        },
    },
    "CueDocument": {"type": "object", "required": ["cue"], "properties": {"cue": ref("Cue")}},
    "CueList": {
        "type": "object",
        "required": ["cues"],
        "properties": {"cues": {"type": "array", "items": ref("Cue")}},
    },
    "Message": _MESSAGE_DOC,
    "NewMessage": {
        "type": "object",
        "required": ["text"],
        "additionalProperties": False,
        "properties": {
            "text": {
                "type": "string",
                "minLength": 1,
                "maxLength": MAX_MESSAGE,
                "description": "Line breaks and tabs allowed; other control characters not.",
            },
            "to": {
                "type": ["string", "null"],
                "description": "Production: a studio of the booking, privately. An operator: "
                "its own studio, privately to production. Left out: everyone.",
            },
        },
    },
    "MessageDocument": {
        "type": "object",
        "required": ["message"],
        "properties": {"message": ref("Message")},
    },
    "MessageList": {
        "type": "object",
        "required": ["messages"],
        "properties": {"messages": {"type": "array", "items": ref("Message")}},
    },
}


def _reply(status: int, schema: str, description: str) -> tuple[Reply, ...]:
    return (Reply(status, description, schema=ref(schema)),)


DIRECTION_OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "POST",
        f"{_ONE}/cues",
        "sendCue",
        "Direction",
        "Cue one studio: its console shows it large next to the tally",
        SIGNED_IN_CHANGE,
        _reply(201, "CueDocument", "Sent; a console that is offline gets it when it returns"),
        errors={
            403: "forbidden: only producers and admins cue",
            404: _HIDDEN,
            409: _OVER,
            422: "invalid: each problem named by field (a studio not in the booking, an "
            "unknown cue, text too long or with control characters)",
        },
        body=Body("application/json", ref("NewCue")),
        roles=DIRECTORS,
    ),
    Operation(
        "GET",
        f"{_ONE}/cues",
        "listCues",
        "Direction",
        "The booking's cues, oldest first: all for production, an operator's own studio's",
        SIGNED_IN,
        _reply(200, "CueList", "The cues with their acknowledgements"),
        errors={400: "invalid: latest is not true or false", 403: _CREW, 404: _HIDDEN},
        query=(
            Query(
                "latest",
                "true: only the newest cue to each studio (what the control room polls)",
                {"type": "boolean", "default": False},
            ),
        ),
    ),
    Operation(
        "POST",
        f"{_ONE}/cues/{_CUE}/ack",
        "acknowledgeCue",
        "Direction",
        "The cued studio's operator has seen the cue (the first acknowledgement is kept)",
        SIGNED_IN_CHANGE,
        _reply(200, "CueDocument", "Acknowledged"),
        errors={
            403: "forbidden: only the operator of the cued studio",
            404: "not_found: unknown booking or cue, or a cue to another studio",
        },
        roles=("operator",),
    ),
    Operation(
        "GET",
        f"{_ONE}/messages",
        "listMessages",
        "Direction",
        "The booking's chat after a message id, oldest first (at most 200 at a time)",
        SIGNED_IN,
        _reply(200, "MessageList", "What the caller may read: production reads everything"),
        errors={
            400: "invalid: after is not a whole number",
            403: _CREW,
            404: _HIDDEN,
        },
        query=(
            Query(
                "after",
                "The last message id the reader has (0 or left out: from the start)",
                {"type": "integer", "minimum": 0},
            ),
        ),
    ),
    Operation(
        "POST",
        f"{_ONE}/messages",
        "postMessage",
        "Direction",
        "Write in the booking's chat: to everyone, or privately between production and a studio",
        SIGNED_IN_CHANGE,
        _reply(201, "MessageDocument", "Kept with the booking"),
        errors={
            403: _CREW,
            404: _HIDDEN,
            409: _OVER,
            422: "invalid: empty, over 2000 characters, control characters, or `to` not allowed",
        },
        body=Body("application/json", ref("NewMessage")),
    ),
    Operation(
        "GET",
        f"{_ONE}/calls",
        "listCalls",
        "Direction",
        'The studios calling production now ("I need you" from the console), the '
        "longest-waiting first",
        SIGNED_IN,
        _reply(200, "CallList", "Open calls; the control room flashes their studios' tiles"),
        errors={403: "forbidden: only producers and admins", 404: _HIDDEN},
        description="Calls live in the memory of the server the consoles talk to (like the "
        "live rooms); each ends when a producer answers it or after "
        f"{CALL_SECONDS} s without another press.",
        roles=DIRECTORS,
    ),
    Operation(
        "POST",
        f"{_ONE}/calls/{STUDIO}/answer",
        "answerCall",
        "Direction",
        "Answer a studio's call: its console's button returns to normal",
        SIGNED_IN_CHANGE,
        _reply(200, "CallAnswer", "The call is over (written to the audit log)"),
        errors={
            403: "forbidden: only producers and admins",
            404: "not_found: unknown booking, or a studio not in it",
        },
        roles=DIRECTORS,
    ),
)
