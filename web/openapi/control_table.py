"""The control room's live channel (web.live.direction.control_room) and page: operations and
schemas."""

from __future__ import annotations

from web.openapi.model import (
    BOOKING,
    HTML,
    SESSION,
    SIGNED_IN,
    SIGNED_IN_CHANGE,
    Body,
    Operation,
    Reply,
    Schema,
    ref,
)

DIRECTORS = ("admin", "producer")
_ONE = f"/api/bookings/{BOOKING}"
_HIDDEN = "not_found: unknown booking, or not visible to the caller"
_ROOM = "room_not_open: the room is not open now"
_STRING: Schema = {"type": "string"}
_MID: Schema = {"type": ["string", "null"], "description": "The m-line's a=mid (null: none)."}

CONTROL_SCHEMAS: dict[str, Schema] = {
    "ControlOffer": {
        "type": "object",
        "required": ["sdp"],
        "properties": {
            "sdp": {
                "type": "string",
                "description": "One recvonly video and audio pair per studio of the booking, "
                "in its order, then one for the program; an audio m-line the page sends on is "
                "its talkback microphone (optional).",
            }
        },
    },
    "ControlAnswer": {
        "type": "object",
        "required": ["type", "sdp", "session", "slots", "program"],
        "properties": {
            "type": {"const": "answer"},
            "sdp": _STRING,
            "session": {"type": "string", "description": "This connection's id (talkback)."},
            "slots": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["studio", "video_mid", "audio_mid"],
                    "properties": {"studio": _STRING, "video_mid": _MID, "audio_mid": _MID},
                },
            },
            "program": {
                "anyOf": [
                    {
                        "type": "object",
                        "required": ["video_mid", "audio_mid"],
                        "properties": {"video_mid": _MID, "audio_mid": _MID},
                    },
                    {"type": "null"},
                ],
                "description": "The program's own H.264 and its mix (null: no program).",
            },
        },
    },
    "Talkback": {
        "type": "object",
        "required": ["session", "studios"],
        "additionalProperties": False,
        "properties": {
            "session": {"type": "string", "description": "The control room connection."},
            "studios": {
                "type": "array",
                "items": _STRING,
                "description": "Who hears the producer now; empty: stop talking.",
            },
        },
    },
    "TalkbackState": {
        "type": "object",
        "required": ["talkback"],
        "properties": {
            "talkback": {
                "type": "object",
                "required": ["session", "studios"],
                "properties": {"session": _STRING, "studios": {"type": "array", "items": _STRING}},
            }
        },
    },
    "ControlState": {
        "type": "object",
        "required": ["program", "studios", "producers"],
        "properties": {
            "program": {
                "anyOf": [
                    {
                        "type": "object",
                        "required": ["layout", "studio", "recording"],
                        "properties": {
                            "layout": _STRING,
                            "studio": {"type": ["string", "null"]},
                            "recording": {"type": "boolean"},
                        },
                    },
                    {"type": "null"},
                ]
            },
            "studios": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["id", "connected", "on_program", "talkback"],
                    "properties": {
                        "id": _STRING,
                        "connected": {"type": "boolean"},
                        "on_program": {"type": "boolean", "description": "Its tally."},
                        "feed_lost": {"type": "boolean"},
                        "rtt_ms": {"type": ["number", "null"]},
                        "loss_pct": {"type": ["number", "null"]},
                        "level_dbfs": {"type": ["number", "null"]},
                        "talkback": {
                            "type": "array",
                            "items": _STRING,
                            "description": "The producers talking to it now.",
                        },
                    },
                },
            },
            "producers": {
                "type": "array",
                "items": _STRING,
                "description": "Who has the control room open (one name per connection).",
            },
        },
    },
}

CONTROL_OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "POST",
        f"{_ONE}/control/session",
        "connectControlRoom",
        "Control room",
        "Connect a control room: every studio's own feed, the program, and talkback",
        SIGNED_IN_CHANGE,
        (Reply(200, "The answer, and which m-lines show whom", schema=ref("ControlAnswer")),),
        errors={
            400: "bad_offer: the SDP cannot be answered",
            403: "forbidden",
            404: _HIDDEN,
            409: _ROOM,
            422: "invalid: sdp is required",
        },
        body=Body("application/json", ref("ControlOffer")),
        roles=DIRECTORS,
        description="The studios' feeds are forwarded packet by packet as to the partners "
        "and the program is its own H.264: a control room adds no encode. Several may be "
        "open at once.",
        stored=False,
    ),
    Operation(
        "DELETE",
        f"{_ONE}/control/session/{SESSION}",
        "leaveControlRoom",
        "Control room",
        "End a control room connection",
        SIGNED_IN_CHANGE,
        (Reply(204, "Ended"),),
        errors={403: "forbidden", 404: f"{_HIDDEN}; or no such session", 409: _ROOM},
        roles=DIRECTORS,
        stored=False,
    ),
    Operation(
        "POST",
        f"{_ONE}/talkback",
        "setTalkback",
        "Control room",
        "Talk to chosen studios (push-to-talk), or stop",
        SIGNED_IN_CHANGE,
        (Reply(200, "Who hears the producer now", schema=ref("TalkbackState")),),
        errors={
            403: "forbidden",
            404: f"{_HIDDEN}; or no such control room session",
            409: f"{_ROOM}; no_microphone: the connection sends no microphone",
            422: "invalid: session or studios",
        },
        body=Body("application/json", ref("Talkback")),
        roles=DIRECTORS,
        description="Only the chosen consoles hear it, over their program return lowered by "
        "12 dB; it never reaches the program, the recording or the outputs. Their consoles "
        "show who is talking (`talkback` in the console state).",
        stored=False,
    ),
    Operation(
        "GET",
        f"{_ONE}/control",
        "getControlRoom",
        "Control room",
        "What the multiview's tiles show: tally, link, level, talkback; the program",
        SIGNED_IN,
        (Reply(200, "Now", schema=ref("ControlState")),),
        errors={403: "forbidden", 404: _HIDDEN, 409: _ROOM},
        roles=DIRECTORS,
        stored=False,
    ),
    Operation(
        "GET",
        f"/bookings/{BOOKING}/control",
        "controlRoomPage",
        "Pages",
        "The control room: multiview, switching, sound, talkback, cues, chat, graphics",
        SIGNED_IN,
        (Reply(200, "The page", HTML, {"type": "string"}),),
        errors={403: "forbidden", 404: "not_found"},
        roles=DIRECTORS,
        page=True,
    ),
)
