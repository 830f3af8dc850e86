"""One error shape for the whole app: `{"error": {"code", "message", "fields"?}}`."""

from __future__ import annotations

import errno
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web

from bridge.errors import (
    BadOffer,
    BridgeError,
    NoMicrophone,
    RoomClosed,
    UnknownControl,
    UnknownStudio,
)
from schedules.errors import (
    Conflict,
    DuplicateId,
    InvalidTransition,
    NotAllowed,
    NotFound,
    ScheduleError,
    ValidationError,
)
from schedules.outage import database_down, describe
from schedules.timeutil import rfc3339

log = logging.getLogger("telebridge.web")

# Seconds a caller should wait before retrying while the database does not answer.
DATABASE_RETRY_AFTER = 5

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ApiError(Exception):
    """An error the web layer raises itself (bad credentials, malformed bodies, ...)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        fields: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = dict(fields or {})
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})  # more members of the error document


def error_body(
    code: str, message: str, fields: Mapping[str, str] | None = None, **extra: Any
) -> dict[str, Any]:
    """The error document."""
    inner: dict[str, Any] = {"code": code, "message": message}
    if fields:
        inner["fields"] = dict(fields)
    inner.update(extra)
    return {"error": inner}


def from_schedule_error(exc: ScheduleError) -> tuple[int, dict[str, Any]]:
    """Status and body for a domain error."""
    if isinstance(exc, ValidationError):
        return 422, error_body("invalid", exc.message, exc.fields)
    if isinstance(exc, NotFound):
        return 404, error_body("not_found", str(exc))
    if isinstance(exc, Conflict):
        conflicts = [
            {
                "booking_id": c.booking_id,
                "studio_id": c.studio_id,
                "title": c.title,
                "starts_at": rfc3339(c.starts_at),
                "ends_at": rfc3339(c.ends_at),
                # The window that conflicts: its line check to its teardown.
                **({"setup_starts_at": rfc3339(c.busy_from)} if c.busy_from else {}),
                **({"teardown_ends_at": rfc3339(c.busy_until)} if c.busy_until else {}),
            }
            for c in exc.conflicts
        ]
        return 409, error_body("conflict", str(exc), conflicts=conflicts)
    if isinstance(exc, InvalidTransition):
        return 409, error_body("invalid_transition", str(exc))
    if isinstance(exc, DuplicateId):
        return 409, error_body("duplicate", str(exc))
    if isinstance(exc, NotAllowed):  # its own code: not_declined, too_few_studios
        return 409, error_body(exc.code, str(exc))
    return 400, error_body(exc.code, str(exc))


# The bridge's named errors, each with its status and code (bridge/errors.py): what a live
# room cannot do is the caller's request at fault, never a 500, wherever it is raised.
BRIDGE_ERRORS: tuple[tuple[type[BridgeError], int, str], ...] = (
    (BadOffer, 400, "bad_offer"),
    (UnknownStudio, 404, "not_found"),
    (UnknownControl, 404, "not_found"),
    (NoMicrophone, 409, "no_microphone"),
    (RoomClosed, 409, "room_closed"),
)


def from_bridge_error(exc: BridgeError) -> tuple[int, dict[str, Any]]:
    """Status and body for a bridge error (a new kind without its own entry: 400)."""
    for kind, status, code in BRIDGE_ERRORS:
        if isinstance(exc, kind):
            return status, error_body(code, str(exc))
    return 400, error_body("bad_request", str(exc))


def names_no_file(exc: Exception) -> bool:
    """A path longer than the file system takes (aiohttp's static files stat it as it came):
    no file has that name, so it is a 404, not a server error."""
    return isinstance(exc, OSError) and exc.errno == errno.ENAMETOOLONG


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
}


def json_error(
    status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None
) -> web.Response:
    """A JSON error response."""
    return web.json_response(body, status=status, headers=headers, dumps=_dumps)


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False)


def wants_json(request: web.Request) -> bool:
    """Whether the caller is a tool (JSON errors) rather than a person (HTML errors)."""
    path = request.path
    if path.startswith(
        ("/api/", "/whip/", "/calendar/", "/recordings/", "/metrics", "/healthz", "/ws/")
    ):
        return True
    if path.startswith("/join/") and path.rstrip("/").count("/") > 3:
        return True  # below the join page /join/{booking}/{studio}: the console's own calls
    return "application/json" in request.headers.get("Accept", "") and "text/html" not in (
        request.headers.get("Accept", "")
    )


HtmlErrorRenderer = Callable[[web.Request, int, str], Awaitable[web.StreamResponse]]


def error_middleware(render_html: HtmlErrorRenderer) -> Any:
    """Middleware that turns every failure into the error shape; never leaks a traceback."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except ApiError as exc:
            status, body, headers = (
                exc.status,
                error_body(exc.code, exc.message, exc.fields, **exc.extra),
                exc.headers,
            )
        except ScheduleError as exc:
            status, body = from_schedule_error(exc)
            headers = {}
        except BridgeError as exc:
            status, body = from_bridge_error(exc)
            headers = {}
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            status = exc.status
            message = exc.reason
            if status == 413:
                message = "The request body is too large"
            body = error_body(_HTTP_CODES.get(status, "http_error"), message)
            headers = {k: v for k, v in exc.headers.items() if k in ("Allow", "Retry-After")}
        except Exception as exc:
            if names_no_file(exc):
                status, body, headers = 404, error_body("not_found", "No such file"), {}
            elif not database_down(exc):
                log.exception("unhandled error on %s %s", request.method, request.path)
                status = 500
                body = error_body(
                    "internal", "Something went wrong on the server; nothing was saved"
                )
                headers = {}
            else:
                # A transaction either committed or did not start: nothing is half-written,
                # and the caller may simply send the same request again.
                log.warning(
                    "database unavailable on %s %s: %s", request.method, request.path, describe(exc)
                )
                status = 503
                body = error_body(
                    "database_unavailable",
                    "The database is not answering; nothing was saved. Live rooms go on. "
                    f"Try again in {DATABASE_RETRY_AFTER} seconds.",
                )
                headers = {"Retry-After": str(DATABASE_RETRY_AFTER)}
        if wants_json(request):
            return json_error(status, body, headers)
        response = await render_html(request, status, body["error"]["message"])
        response.headers.update(headers)
        return response

    return middleware
