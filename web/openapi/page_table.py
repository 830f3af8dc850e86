"""The HTML pages (web.pages) and the static files (web.app), for people and browsers."""

from __future__ import annotations

from schedules.accounts import LANGUAGES
from schedules.validation import MAX_REASON
from web.openapi.model import (
    BOOKING,
    FORM,
    HTML,
    JOIN_LINK,
    JSON,
    MOMENT,
    PUBLIC,
    RECORDING,
    SIGNED_IN,
    STRING,
    Body,
    Operation,
    Query,
    Reply,
    Schema,
    nullable,
)

BOOKERS = ("admin", "producer")
_CSRF = {
    "type": "string",
    "description": "The token the page put in its form (the X-CSRF-Token header also works).",
}
_TO_LOGIN = Reply(303, "Not logged in", None, headers={"Location": "/login?next=<this page>"})
_TZ = Query(
    "tz",
    "Show times in this IANA zone (default: the reader's own, picked at /time-zone; else an "
    "operator's studio's; else the `timezone` setting)",
)


# The broadcast's viewers: public streams for anyone, private ones with the viewing link's
# token (or a session of someone who may see the booking), web.pages.watch.
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


def _page(status: int = 200, description: str = "The page") -> Reply:
    return Reply(status, description, HTML, {"type": "string"})


def _form(fields: Schema, required: tuple[str, ...] = ()) -> Body:
    return Body(
        FORM,
        {
            "type": "object",
            "required": [*required, "csrf_token"],
            "properties": {**fields, "csrf_token": _CSRF},
        },
    )


def _redirect(to: str) -> Reply:
    return Reply(303, "Done", None, headers={"Location": to})


_BOOKING_FORM = _form(
    {
        "title": {"type": "string"},
        "studios": {"type": "array", "items": {"type": "string"}},
        "starts_local": {"type": "string", "description": "Wall clock, YYYY-MM-DDTHH:MM"},
        "ends_local": {"type": "string"},
        "zone": {"type": "string", "description": "The IANA zone of the wall-clock times"},
        "setup_minutes": {"type": "string"},
        "teardown_minutes": {"type": "string"},
        "record": {"enum": ["on"]},
        "layout": {"type": "string"},
        "quality": {"type": "string"},
        "notes": {"type": "string"},
        "repeat_until": {"type": "string", "description": "YYYY-MM-DD: book weekly until then"},
    }
)
_FORM_AGAIN = {
    403: "forbidden: the role may not book, or csrf_failed",
    409: "the form again, with the bookings in the way",
    422: "the form again, with what is wrong",
}

PAGE_OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "GET",
        "/",
        "homePage",
        "Pages",
        "The start: to /bookings, or /login when not logged in",
        PUBLIC,
        (Reply(303, "Away", None, headers={"Location": "/bookings, or /login"}),),
        page=True,
    ),
    Operation(
        "GET",
        "/login",
        "loginPage",
        "Pages",
        "The login form",
        PUBLIC,
        (_page(),),
        query=(Query("next", "A local path to go back to after logging in"),),
        page=True,
    ),
    Operation(
        "POST",
        "/login",
        "logIn",
        "Pages",
        "Log in: starts a session (HttpOnly, SameSite=Lax cookie tb_session; over HTTPS "
        "Secure and named __Host-tb_session)",
        PUBLIC,
        (
            Reply(
                303,
                "Logged in",
                None,
                headers={"Location": "`next`, else /bookings", "Set-Cookie": "tb_session"},
            ),
        ),
        errors={
            401: "the form again: wrong name or password",
            403: "csrf_failed",
            429: "the form again: too many failed logins (Retry-After)",
        },
        body=_form(
            {
                "name": {"type": "string"},
                "password": {"type": "string", "format": "password"},
                "next": {"type": "string"},
            },
            ("name", "password"),
        ),
        page=True,
        description="The CSRF token of an anonymous visitor is bound to its tb_anon cookie, "
        "set by the login page.",
    ),
    Operation(
        "POST",
        "/logout",
        "logOut",
        "Pages",
        "End the session",
        PUBLIC,
        (_redirect("/login"),),
        errors={403: "csrf_failed"},
        body=_form({}),
        page=True,
    ),
    Operation(
        "POST",
        "/language",
        "setLanguage",
        "Pages",
        "Switch the interface language (remembered for the user and in a cookie)",
        PUBLIC,
        (_redirect("`next`"),),
        errors={403: "csrf_failed", 422: "invalid: an unknown language"},
        body=_form(
            {"language": {"enum": list(LANGUAGES)}, "next": {"type": "string"}}, ("language",)
        ),
        page=True,
    ),
    Operation(
        "GET",
        "/time-zone",
        "timeZonePage",
        "Pages",
        "The zone the user's pages show times in, to pick from every IANA zone",
        SIGNED_IN,
        (_page(), _TO_LOGIN),
        query=(Query("next", "The page to go back to after saving"),),
        page=True,
    ),
    Operation(
        "POST",
        "/time-zone",
        "setTimeZone",
        "Pages",
        "Remember the zone the user's pages show times in (empty: the default, an operator's "
        "studio's zone or the `timezone` setting)",
        SIGNED_IN,
        (_redirect("`next`"), _TO_LOGIN),
        errors={
            403: "csrf_failed, or forbidden: an API token has no zone of its own",
            422: "invalid: not an IANA zone",
        },
        body=_form(
            {"time_zone": {"type": "string", "maxLength": 64}, "next": {"type": "string"}},
            ("time_zone",),
        ),
        page=True,
    ),
    Operation(
        "GET",
        "/studios",
        "studiosPage",
        "Pages",
        "The partner studios, their local time and their calendar feeds",
        SIGNED_IN,
        (_page(), _TO_LOGIN),
        page=True,
    ),
    Operation(
        "GET",
        "/bookings",
        "bookingsPage",
        "Pages",
        "Upcoming (or past) bookings, with filters",
        SIGNED_IN,
        (_page(), _TO_LOGIN),
        query=(
            Query("when", "`past`: the last 90 days, newest first", {"enum": ["past"]}),
            Query("studio", "One studio's bookings"),
            Query("status", "One status"),
            _TZ,
        ),
        page=True,
    ),
    Operation(
        "GET",
        "/bookings/new",
        "newBookingPage",
        "Pages",
        "The booking form",
        SIGNED_IN,
        (_page(), _TO_LOGIN),
        errors={403: "forbidden: the role may not book"},
        query=(_TZ,),
        roles=BOOKERS,
        page=True,
    ),
    Operation(
        "POST",
        "/bookings/new",
        "createBookingFromForm",
        "Pages",
        "Book from the form",
        SIGNED_IN,
        (_redirect("the new booking's page"), _TO_LOGIN),
        errors=_FORM_AGAIN,
        body=_BOOKING_FORM,
        roles=BOOKERS,
        page=True,
    ),
    Operation(
        "GET",
        f"/bookings/{BOOKING}/edit",
        "editBookingPage",
        "Pages",
        "The booking form, filled",
        SIGNED_IN,
        (_page(), _TO_LOGIN),
        errors={403: "forbidden", 404: "not_found"},
        query=(_TZ,),
        roles=BOOKERS,
        page=True,
    ),
    Operation(
        "POST",
        f"/bookings/{BOOKING}/edit",
        "editBookingFromForm",
        "Pages",
        "Save an edit (the repetition cannot be changed here)",
        SIGNED_IN,
        (_redirect("the booking's page"), _TO_LOGIN),
        errors={**_FORM_AGAIN, 404: "not_found"},
        body=_BOOKING_FORM,
        roles=BOOKERS,
        page=True,
    ),
    Operation(
        "GET",
        f"/bookings/{BOOKING}",
        "bookingPage",
        "Pages",
        "A booking: studios, answers, join links, calendar, audit log, live controls",
        SIGNED_IN,
        (_page(), _TO_LOGIN),
        errors={404: "not_found"},
        query=(
            _TZ,
            Query(
                "ask",
                "A confirmation to show open: decline-<studio> or cancel (what the page's "
                "buttons ask for when scripts do not run); anything else is ignored",
            ),
        ),
        page=True,
    ),
    Operation(
        "POST",
        f"/bookings/{BOOKING}/answer",
        "answerFromForm",
        "Pages",
        "A partner studio confirms or declines",
        SIGNED_IN,
        (
            _redirect("the booking's page"),
            _page(422, "The booking's page with the decline dialog open: the reason is wrong"),
            _TO_LOGIN,
        ),
        errors={
            403: "forbidden: only that studio's operator, or an admin; or csrf_failed",
            404: "not_found",
            409: "invalid_transition, or conflict (taking back a decline when the studio has "
            "been booked since)",
            422: "invalid: answer must be confirm or decline, or the studio is not in it",
        },
        body=_form(
            {
                "studio": {"type": "string"},
                "answer": {"enum": ["confirm", "decline"]},
                "reason": {
                    "type": "string",
                    "maxLength": MAX_REASON,
                    "description": "Required to decline: one line, no control characters.",
                },
            },
            ("studio", "answer"),
        ),
        page=True,
    ),
    Operation(
        "POST",
        f"/bookings/{BOOKING}/continue-without",
        "continueWithoutFromForm",
        "Pages",
        "Go on without a studio that declined, from the booking page's banner",
        SIGNED_IN,
        (_redirect("the booking's page"), _TO_LOGIN),
        errors={
            403: "forbidden, or csrf_failed",
            404: "not_found",
            409: "invalid_transition, not_declined or too_few_studios",
            422: "invalid: the studio is not in it",
        },
        body=_form({"studio": {"type": "string"}}, ("studio",)),
        roles=BOOKERS,
        page=True,
    ),
    Operation(
        "POST",
        f"/bookings/{BOOKING}/cancel",
        "cancelFromForm",
        "Pages",
        "Cancel from the booking page",
        SIGNED_IN,
        (_redirect("the booking's page"), _TO_LOGIN),
        errors={403: "forbidden, or csrf_failed", 404: "not_found", 409: "invalid_transition"},
        body=_form({"reason": {"type": "string"}}),
        roles=BOOKERS,
        page=True,
    ),
    Operation(
        "GET",
        "/calendar",
        "calendarPage",
        "Pages",
        "A week of bookings on a 24-hour grid",
        SIGNED_IN,
        (_page(), _TO_LOGIN),
        query=(Query("week", "An ISO week, e.g. 2026-W49 (default: this week)"), _TZ),
        page=True,
    ),
    Operation(
        "GET",
        "/join/{booking_id}/{studio_id}",
        "joinPage",
        "Pages",
        "A studio's join link: when it opens, that it closed, or the studio console",
        JOIN_LINK,
        (_page(200, "The console, or when the link opens"), _page(410, "The link has closed")),
        errors={403: "invalid_link", 404: "not_found: no such booking"},
        query=(Query("relay", "`1`: TURN relays only (to test a firewall)", {"enum": ["1"]}),),
        page=True,
    ),
    Operation(
        "GET",
        "/monitor",
        "monitorPage",
        "Pages",
        "Master control's monitor wall",
        SIGNED_IN,
        (_page(), _TO_LOGIN),
        errors={403: "forbidden"},
        roles=BOOKERS,
        page=True,
    ),
    Operation(
        "GET",
        "/archive",
        "archivePage",
        "Pages",
        "The archive: search by text, studio and dates",
        SIGNED_IN,
        (_page(), _TO_LOGIN),
        errors={422: "invalid: from or to"},
        query=(
            Query("q", "Words of the title"),
            Query("studio", "A studio"),
            Query("from", "YYYY-MM-DD"),
            Query("to", "YYYY-MM-DD"),
            Query("booking", "A booking id"),
        ),
        page=True,
    ),
    Operation(
        "GET",
        f"/archive/{RECORDING}",
        "playerPage",
        "Pages",
        "The player: the program, each studio's ISO at the same moment, downloads",
        SIGNED_IN,
        (_page(), _TO_LOGIN),
        errors={403: "forbidden", 404: "not_found"},
        page=True,
    ),
    Operation(
        "GET",
        f"/watch/{BOOKING}",
        "watchPage",
        "Pages",
        "The broadcast's player: waiting for the start, the live program, then the recording",
        PUBLIC,
        (_page(),),
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
        (_page(),),
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
    Operation(
        "GET",
        "/static/{filename}",
        "staticFile",
        "Pages",
        "The pages' scripts and style sheets",
        PUBLIC,
        (Reply(200, "The file", "*/*", {"type": "string"}),),
        errors={404: "not_found"},
        query=(Query("v", "A content hash the pages add, so browsers may keep the file"),),
        page=True,
        stored=False,
    ),
)
