"""A booking's live outputs and its viewing link (web.http.outputs): operations and schemas."""

from __future__ import annotations

from schedules.outputs.parse import LATENCY_MS, MAX_KEY, MAX_NAME, MAX_URL, PASSPHRASE_CHARS
from schedules.outputs.record import OutputKind
from web.openapi.model import (
    BOOKING,
    SIGNED_IN,
    SIGNED_IN_CHANGE,
    Body,
    Operation,
    Reply,
    Schema,
    ref,
)

BOOKERS = ("admin", "producer")
_ONE = f"/api/bookings/{BOOKING}"
_OUTPUT = "{output_id:[A-Za-z0-9_-]{1,40}}"
_HIDDEN = "not_found: unknown booking or output, or not visible to the caller"
_STATES = ["idle", "connecting", "live", "retrying", "failed", "stopped"]

_OUTPUT_DOC: Schema = {
    "type": "object",
    "required": ["id", "kind", "name", "target", "state", "bitrate_kbps", "last_error"],
    "properties": {
        "id": {"type": "string"},
        "kind": {"enum": [k.value for k in OutputKind]},
        "name": {"type": "string"},
        "target": {
            "type": "string",
            "description": "Where it goes, secrets masked: the stream key as ••••, credentials "
            "and query values hidden; for HLS the playlist's path.",
        },
        "listener": {"type": "boolean", "description": "SRT: waits on the server's port."},
        "latency_ms": {"type": ["integer", "null"]},
        "state": {
            "enum": _STATES,
            "description": "idle: not started; connecting; live: the destination takes the "
            "program; retrying: it dropped or stalled, tried again after 1, 2, 4 ... 30 s; "
            "failed: stopped without ever reaching it (see last_error); stopped.",
        },
        "bitrate_kbps": {"type": ["number", "null"]},
        "last_error": {"type": ["string", "null"]},
        "retries": {"type": "integer"},
    },
}

_NEW_OUTPUT: Schema = {
    "type": "object",
    "required": ["kind", "name"],
    "additionalProperties": False,
    "properties": {
        "kind": {"enum": [k.value for k in OutputKind]},
        "name": {"type": "string", "maxLength": MAX_NAME},
        "url": {
            "type": "string",
            "maxLength": MAX_URL,
            "description": "rtmp: rtmp:// or rtmps://host[:port]/app; srt: srt://host:port to "
            "call, srt://:port to listen on the server (port 1024 to 65535); hls: leave out.",
        },
        "key": {
            "type": "string",
            "maxLength": MAX_KEY,
            "description": "rtmp: the stream key; stored, never shown again.",
        },
        "passphrase": {
            "type": "string",
            "minLength": PASSPHRASE_CHARS[0],
            "maxLength": PASSPHRASE_CHARS[1],
            "description": "srt: encryption passphrase; stored, never shown again.",
        },
        "latency_ms": {"type": "integer", "minimum": LATENCY_MS[0], "maximum": LATENCY_MS[1]},
    },
}

OUTPUT_SCHEMAS: dict[str, Schema] = {
    "Output": _OUTPUT_DOC,
    "NewOutput": _NEW_OUTPUT,
    "OutputList": {
        "type": "object",
        "required": ["outputs"],
        "properties": {"outputs": {"type": "array", "items": ref("Output")}},
    },
    "OutputDocument": {
        "type": "object",
        "required": ["output"],
        "properties": {"output": ref("Output")},
    },
    "WatchLink": {
        "type": "object",
        "required": ["stream", "url", "embed_url", "hls_url"],
        "properties": {
            "stream": {"enum": ["private", "public"]},
            "url": {"type": "string", "description": "The player page."},
            "embed_url": {"type": "string", "description": "The player for an <iframe>."},
            "hls_url": {"type": "string", "description": "The HLS playlist, while live."},
        },
    },
}


def _reply(status: int, schema: str, description: str) -> tuple[Reply, ...]:
    return (Reply(status, description, schema=ref(schema)),)


OUTPUT_OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "GET",
        f"{_ONE}/outputs",
        "listOutputs",
        "Outputs",
        "The booking's live outputs and their state (secrets masked)",
        SIGNED_IN,
        _reply(200, "OutputList", "The outputs, in the order they were added"),
        errors={404: _HIDDEN},
    ),
    Operation(
        "POST",
        f"{_ONE}/outputs",
        "addOutput",
        "Outputs",
        "Add a live output: RTMP push, SRT (caller or listener) or HLS served here",
        SIGNED_IN_CHANGE,
        _reply(201, "OutputDocument", "Added; on air already, it starts at once"),
        errors={
            403: "forbidden: only producers and admins manage outputs",
            404: _HIDDEN,
            409: "invalid_transition: the booking is cancelled, declined or over",
            422: "invalid: each problem named by field",
        },
        body=Body("application/json", ref("NewOutput")),
        roles=BOOKERS,
        description="A destination that cannot be reached (a host that does not resolve, a "
        "refused connection) is not refused here: the output shows it as `retrying` with "
        "`last_error` once it starts.",
    ),
    Operation(
        "DELETE",
        f"{_ONE}/outputs/{_OUTPUT}",
        "removeOutput",
        "Outputs",
        "Remove an output (a running one stops first)",
        SIGNED_IN_CHANGE,
        (Reply(204, "Removed"),),
        errors={403: "forbidden", 404: _HIDDEN},
        roles=BOOKERS,
    ),
    Operation(
        "POST",
        f"{_ONE}/outputs/{_OUTPUT}/start",
        "startOutput",
        "Outputs",
        "Start an output now (also before or after the booked show)",
        SIGNED_IN_CHANGE,
        _reply(200, "OutputDocument", "Started"),
        errors={403: "forbidden", 404: _HIDDEN, 409: "room_not_open: the room is not open now"},
        roles=BOOKERS,
    ),
    Operation(
        "POST",
        f"{_ONE}/outputs/{_OUTPUT}/stop",
        "stopOutput",
        "Outputs",
        "Stop an output now; it stays stopped for the rest of the show",
        SIGNED_IN_CHANGE,
        _reply(200, "OutputDocument", "Stopped"),
        errors={403: "forbidden", 404: _HIDDEN},
        roles=BOOKERS,
    ),
    Operation(
        "GET",
        f"{_ONE}/watch-link",
        "getWatchLink",
        "Outputs",
        "The broadcast's player page, embed page and HLS playlist addresses",
        SIGNED_IN,
        _reply(200, "WatchLink", "Signed with ?token= for a private stream"),
        errors={404: _HIDDEN},
    ),
)
