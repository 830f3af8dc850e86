"""The broadcast's viewers (web.pages.watch): the player page and its embeddable twin, the
status the player polls, the finished recording and the HLS files while live."""

from __future__ import annotations

from web.openapi.model import (
    BOOKING,
    JSON,
    MOMENT,
    PUBLIC,
    STRING,
    Operation,
    Query,
    Reply,
    Schema,
    nullable,
)
from web.openapi.pages.parts import page

# Public streams are open to anyone, private ones to their viewing link's token and to a
# session of someone who may see the booking (web.pages.watch's one rule, `viewing_of`).
_WATCH_TOKEN = Query(
    "token",
    "A private stream's viewing token (the `url` of GET /api/bookings/{booking_id}/watch-link); "
    "public streams need none. Logged-in users who may see the booking need none either.",
)
_WATCH_ERRORS = {
    403: "forbidden: a private stream without its viewing token",
    404: "not_found: no such booking, or it was cancelled or declined",
}
_WATCH_STATUS: Schema = {
    "type": "object",
    "required": [
        "state",
        "title",
        "cities",
        "starts_at",
        "ends_at",
        "live_since",
        "hls_url",
        "recording_url",
    ],
    "additionalProperties": False,
    "properties": {
        "state": {
            "enum": ["scheduled", "live", "ended"],
            "description": "live while the booking's HLS output runs; ended after the booked "
            "end; scheduled before (and on air while the stream has not begun or broke off).",
        },
        "title": STRING,
        "cities": {"type": "array", "items": STRING, "description": "The studios' cities"},
        "starts_at": MOMENT,
        "ends_at": MOMENT,
        "live_since": {
            **MOMENT,
            "description": "When the HLS output went live, if the room knows; else starts_at.",
        },
        "hls_url": nullable(
            {**STRING, "description": "The playlist's path (with the token), while live"}
        ),
        "recording_url": nullable(
            {**STRING, "description": "The finished program recording's path (with the token)"}
        ),
    },
}


WATCH_PAGES: tuple[Operation, ...] = (
    Operation(
        "GET",
        f"/watch/{BOOKING}",
        "watchPage",
        "Pages",
        "The broadcast's player: waiting for the start, the live program, then the recording",
        PUBLIC,
        (page(),),
        errors=_WATCH_ERRORS,
        query=(_WATCH_TOKEN,),
        page=True,
    ),
    Operation(
        "GET",
        f"/embed/{BOOKING}",
        "embedPage",
        "Pages",
        "The same player without the site around it, for an iframe on a partner's site",
        PUBLIC,
        (page(),),
        errors=_WATCH_ERRORS,
        query=(_WATCH_TOKEN,),
        page=True,
        description="Its Content-Security-Policy frame-ancestors is the embed_ancestors "
        "setting (TELEBRIDGE_EMBED_ANCESTORS); it has no X-Frame-Options. Its errors are shown "
        "inside the frame.",
    ),
    Operation(
        "GET",
        f"/watch/{BOOKING}/status.json",
        "watchStatus",
        "Pages",
        "Where the broadcast is (scheduled, live, ended) and what the player should play",
        PUBLIC,
        (
            Reply(
                200,
                "The status (Cache-Control: no-cache; private, no-cache for a private stream)",
                JSON,
                _WATCH_STATUS,
            ),
        ),
        errors=_WATCH_ERRORS,
        query=(_WATCH_TOKEN,),
    ),
    Operation(
        "GET",
        f"/watch/{BOOKING}/recording.mp4",
        "watchRecording",
        "Pages",
        "The broadcast's finished program recording, with HTTP Range",
        PUBLIC,
        (
            Reply(200, "The MP4", "video/mp4", {"type": "string"}),
            Reply(206, "Part of it (Range)", "video/mp4", {"type": "string"}),
            Reply(
                302,
                "The recording is in the object store (TELEBRIDGE_STORAGE_URL): a presigned "
                "link to it, which serves it with HTTP Range as this route would",
                None,
                headers={"Location": "The store's presigned link, valid for a short while"},
            ),
        ),
        errors={**_WATCH_ERRORS, 404: _WATCH_ERRORS[404] + "; or no finished recording yet"},
        query=(_WATCH_TOKEN,),
    ),
    Operation(
        "GET",
        f"/live/{BOOKING}/{{file}}",
        "hlsFile",
        "Pages",
        "The broadcast's HLS playlist (index.m3u8) or a segment (seg-NNNNNN.ts), while live",
        PUBLIC,
        (
            Reply(
                200,
                "The playlist (application/vnd.apple.mpegurl, Cache-Control: no-cache, or "
                "private, no-cache for a private stream) or a segment (video/mp2t, "
                "Cache-Control: public or private, max-age=86400, immutable)",
                "*/*",
                {"type": "string"},
                headers={"Access-Control-Allow-Origin": "* for a public stream"},
            ),
            Reply(206, "Part of a segment (Range)", "video/mp2t", {"type": "string"}),
        ),
        errors={
            **_WATCH_ERRORS,
            404: _WATCH_ERRORS[404] + "; or the stream is not live, or no such file",
        },
        query=(_WATCH_TOKEN,),
        description="A private stream's playlist carries the token on every segment URI.",
    ),
)
