"""The program's graphics (web.http.graphics): operations and schemas."""

from __future__ import annotations

from schedules.accounts import LANGUAGES
from schedules.graphics.parse import MAX_CLOCK_LABEL, MAX_NAME, MAX_TITLE
from schedules.graphics.record import CORNERS
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

DIRECTORS = ("admin", "producer")
_ONE = f"/api/bookings/{BOOKING}"
_HIDDEN = "not_found: unknown booking, or not visible to the caller"
_NOT_DIRECTOR = "forbidden: only producers and admins"
_OVER = "invalid_transition: the booking is cancelled, declined or over"
_NULLABLE_TEXT: Schema = {"type": ["string", "null"]}
_LANGUAGE: Schema = {"enum": list(LANGUAGES)}
_CORNER: Schema = {"enum": list(CORNERS)}
_ONE_LINE = "One line: no control characters (markup is kept, and shown as typed)."
_CLOCK: Schema = {
    "type": ["object", "null"],
    "required": ["zone"],
    "additionalProperties": False,
    "properties": {
        "zone": {"type": "string", "description": "An IANA time zone, such as Asia/Baku."},
        "label": {
            "type": "string",
            "maxLength": MAX_CLOCK_LABEL,
            "description": "Written before the time, usually the city. " + _ONE_LINE,
        },
    },
}
_TEXT: Schema = {
    "type": "object",
    "required": ["studio", "language", "name", "title"],
    "properties": {
        "studio": {"type": "string"},
        "language": _LANGUAGE,
        "name": {"type": "string"},
        "title": {"type": "string"},
    },
}
_ON_AIR: Schema = {
    "type": ["object", "null"],
    "description": "What the open room's program shows now (or is fading to); null while "
    "the room is not open.",
    "required": ["lower_thirds", "clock", "logo"],
    "properties": {
        "lower_thirds": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["studio", "name", "title", "visible"],
                "properties": {
                    "studio": {"type": "string"},
                    "name": {"type": "string"},
                    "title": {"type": "string"},
                    "visible": {"type": "boolean"},
                },
            },
        },
        "clock": _CLOCK,
        "logo": {
            "type": "object",
            "required": ["visible", "corner"],
            "properties": {"visible": {"type": "boolean"}, "corner": _CORNER},
        },
    },
}

GRAPHICS_SCHEMAS: dict[str, Schema] = {
    "Graphics": {
        "type": "object",
        "required": [
            "language",
            "languages",
            "lower_thirds",
            "texts",
            "clock",
            "logo",
            "on_air",
        ],
        "properties": {
            "language": {
                "anyOf": [_LANGUAGE, {"type": "null"}],
                "description": "The language the lower thirds show: the producer's pick, else "
                "the first stored; null before any text is stored.",
            },
            "languages": {
                "type": "array",
                "items": _LANGUAGE,
                "description": "The languages texts are stored in, the first stored first.",
            },
            "lower_thirds": {
                "type": "array",
                "description": "One per studio of the booking, in its order: the text shown "
                "(in the chosen language, else the studio's first stored) and whether it is on.",
                "items": {
                    "type": "object",
                    "required": ["studio", "name", "title", "language", "visible"],
                    "properties": {
                        "studio": {"type": "string"},
                        "name": _NULLABLE_TEXT,
                        "title": _NULLABLE_TEXT,
                        "language": {"anyOf": [_LANGUAGE, {"type": "null"}]},
                        "visible": {"type": "boolean"},
                    },
                },
            },
            "texts": {"type": "array", "items": _TEXT},
            "clock": _CLOCK,
            "logo": {
                "type": "object",
                "required": ["visible", "corner", "available"],
                "properties": {
                    "visible": {"type": "boolean"},
                    "corner": _CORNER,
                    "available": {
                        "type": "boolean",
                        "description": "Whether an admin has uploaded the site's logo.",
                    },
                },
            },
            "on_air": _ON_AIR,
        },
    },
    "GraphicsDocument": {
        "type": "object",
        "required": ["graphics"],
        "properties": {"graphics": ref("Graphics")},
    },
    "GraphicsChange": {
        "type": "object",
        "minProperties": 1,
        "additionalProperties": False,
        "description": "Each part left out stays as it is.",
        "properties": {
            "studio": {
                "type": "string",
                "description": "A studio of the booking; needs `visible`.",
            },
            "lower_third": {
                "type": "object",
                "required": ["name"],
                "additionalProperties": False,
                "description": "The studio's text, kept under `language` (else the language "
                "shown, else en). Needs `studio`.",
                "properties": {
                    "name": {"type": "string", "minLength": 1, "maxLength": MAX_NAME},
                    "title": {"type": "string", "maxLength": MAX_TITLE},
                },
            },
            "language": {**_LANGUAGE, "description": "The language the lower thirds show."},
            "visible": {
                "type": "boolean",
                "description": "Show or hide the studio's lower third; without `studio`, "
                "every studio's that has a text.",
            },
            "clock": {
                **_CLOCK,
                "description": "A clock in the top corner the logo leaves free; null hides it.",
            },
            "logo": {
                "type": "object",
                "minProperties": 1,
                "additionalProperties": False,
                "properties": {"visible": {"type": "boolean"}, "corner": _CORNER},
            },
        },
    },
    "LowerThirdTexts": {
        "type": "object",
        "required": ["texts"],
        "additionalProperties": False,
        "properties": {
            "texts": {
                "type": "array",
                "description": "Every text of the booking: one left out is removed.",
                "items": {
                    "type": "object",
                    "required": ["studio", "language", "name"],
                    "additionalProperties": False,
                    "properties": {
                        "studio": {"type": "string"},
                        "language": _LANGUAGE,
                        "name": {"type": "string", "minLength": 1, "maxLength": MAX_NAME},
                        "title": {"type": "string", "maxLength": MAX_TITLE},
                    },
                },
            }
        },
    },
    "LogoDocument": {
        "type": "object",
        "required": ["logo"],
        "properties": {
            "logo": {
                "type": "object",
                "required": ["width", "height", "bytes", "sha256", "uploaded_by", "uploaded_at"],
                "properties": {
                    "width": {"type": "integer"},
                    "height": {"type": "integer"},
                    "bytes": {"type": "integer"},
                    "sha256": {"type": "string"},
                    "uploaded_by": {"type": "string"},
                    "uploaded_at": {"type": ["string", "null"], "format": "date-time"},
                },
            }
        },
    },
}

_DOCUMENT = (
    Reply(
        200, "The graphics as kept, and what the open room shows", schema=ref("GraphicsDocument")
    ),
)
_BAD_CHANGE = (
    "invalid: each problem named by field (a studio not in the booking, a name over "
    f"{MAX_NAME} or a title over {MAX_TITLE} characters, control characters, an unknown "
    "language, zone or corner, a lower third shown before it has a text, the logo shown before "
    "one is uploaded)"
)

GRAPHICS_OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "GET",
        f"{_ONE}/graphics",
        "getGraphics",
        "Graphics",
        "The booking's program graphics: lower thirds, clock, logo, and what is on air",
        SIGNED_IN,
        _DOCUMENT,
        errors={403: _NOT_DIRECTOR, 404: _HIDDEN},
        roles=DIRECTORS,
    ),
    Operation(
        "POST",
        f"{_ONE}/graphics",
        "changeGraphics",
        "Graphics",
        "Show or hide a lower third (with its text), pick the language, the clock, the logo",
        SIGNED_IN_CHANGE,
        _DOCUMENT,
        errors={403: _NOT_DIRECTOR, 404: _HIDDEN, 409: _OVER, 422: _BAD_CHANGE},
        body=Body("application/json", ref("GraphicsChange")),
        description="Kept with the booking and written to its audit log; when the room is "
        "open, on air from the next frame with a 0.3 s fade (a room that opens later shows "
        "what was kept).",
        roles=DIRECTORS,
    ),
    Operation(
        "PUT",
        f"{_ONE}/graphics/texts",
        "putLowerThirdTexts",
        "Graphics",
        "Every lower-third text of the booking, per studio and language",
        SIGNED_IN_CHANGE,
        _DOCUMENT,
        errors={
            403: _NOT_DIRECTOR,
            404: _HIDDEN,
            409: _OVER,
            422: "invalid: by field, as texts[i].name and so on (a second text for a studio "
            "and language, a studio not in the booking, an unknown language, too long, "
            "control characters)",
        },
        body=Body("application/json", ref("LowerThirdTexts")),
        roles=DIRECTORS,
    ),
    Operation(
        "GET",
        "/api/graphics/logo",
        "getLogo",
        "Graphics",
        "The site's logo picture",
        SIGNED_IN,
        (Reply(200, "The PNG as uploaded", "image/png", {"type": "string"}),),
        errors={404: "not_found: no logo has been uploaded"},
    ),
    Operation(
        "PUT",
        "/api/graphics/logo",
        "putLogo",
        "Graphics",
        "Upload the site's logo (PNG, transparency kept)",
        SIGNED_IN_CHANGE,
        (
            Reply(
                200, "Kept; programs that show the logo show this one", schema=ref("LogoDocument")
            ),
        ),
        errors={
            403: "forbidden: only admins",
            413: "body_too_large: over 1 MB",
            415: "unsupported_media_type: the body is not sent as image/png",
            422: "invalid: not a PNG picture, or over 1920 x 1080 pixels (field logo)",
        },
        body=Body("image/png", {"type": "string", "contentMediaType": "image/png"}),
        roles=("admin",),
    ),
    Operation(
        "DELETE",
        "/api/graphics/logo",
        "deleteLogo",
        "Graphics",
        "Remove the site's logo (programs that show it hide it)",
        SIGNED_IN_CHANGE,
        (Reply(204, "Removed", None),),
        errors={403: "forbidden: only admins", 404: "not_found: no logo has been uploaded"},
        roles=("admin",),
    ),
)
