"""Builds the OpenAPI 3.1 document from the tables: paths, parameters, the errors every route
shares, the security schemes."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Mapping
from importlib import metadata
from typing import Any

from web.openapi.api_table import API_OPERATIONS
from web.openapi.control_table import CONTROL_OPERATIONS, CONTROL_SCHEMAS
from web.openapi.direction_table import DIRECTION_OPERATIONS, DIRECTION_SCHEMAS
from web.openapi.graphics_table import GRAPHICS_OPERATIONS, GRAPHICS_SCHEMAS
from web.openapi.live_schemas import LIVE_SCHEMAS
from web.openapi.live_table import LIVE_OPERATIONS
from web.openapi.model import HTML, JSON, Operation, Query, Reply, Schema, ref
from web.openapi.outputs_table import OUTPUT_OPERATIONS, OUTPUT_SCHEMAS
from web.openapi.page_table import PAGE_OPERATIONS
from web.openapi.schemas import SCHEMAS

OPERATIONS: tuple[Operation, ...] = (
    API_OPERATIONS
    + OUTPUT_OPERATIONS
    + DIRECTION_OPERATIONS
    + GRAPHICS_OPERATIONS
    + CONTROL_OPERATIONS
    + LIVE_OPERATIONS
    + PAGE_OPERATIONS
)

SECURITY_SCHEMES: dict[str, Schema] = {
    "bearerToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "An API token from `telebridge token create --role ROLE`; it carries "
        "the role (and an operator's studio). Needs no CSRF token.",
    },
    "sessionCookie": {
        "type": "apiKey",
        "in": "cookie",
        "name": "tb_session",
        "description": "The session of a login (POST /login); HttpOnly, SameSite=Lax. Over "
        "HTTPS it is Secure and named `__Host-tb_session`.",
    },
    "csrfHeader": {
        "type": "apiKey",
        "in": "header",
        "name": "X-CSRF-Token",
        "description": "Session callers send it with every change: `csrf_token` of GET "
        "/api/me (or the csrf_token field of a page's form).",
    },
    "joinToken": {
        "type": "apiKey",
        "in": "query",
        "name": "token",
        "description": "The `token` of one studio's join link (GET "
        "/api/bookings/{booking_id}/join-links); valid for that booking and studio, from the "
        "line check to the end plus the grace minutes.",
    },
    "whipBearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "The same join token, sent by a WHIP encoder as its bearer token.",
    },
    "nodeToken": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Telebridge-Node-Token",
        "description": "Another node of the same cluster: a token it signs with the secret "
        "the nodes share (TELEBRIDGE_SECRET), naming it, valid for 30 s.",
    },
    "calendarToken": {
        "type": "apiKey",
        "in": "query",
        "name": "token",
        "description": "A studio's calendar feed token (the feed URL on /studios).",
    },
}

TAGS: dict[str, str] = {
    "Account": "Who is asking",
    "Studios": "The partner studios",
    "Bookings": "Telebridges booked between studios, and their lifecycle",
    "Calendars": "iCalendar files and subscription feeds",
    "Production": "The producer's live controls (the room must be open)",
    "Outputs": "Where a booking's program goes out live (RTMP, SRT, HLS) and who may watch it",
    "Direction": "Cues to a studio and the booking's chat, kept with the booking",
    "Graphics": "Lower thirds, clock and logo in a booking's program, and the site's logo",
    "Control room": "The producer's multiview over WebRTC and talkback into studios' ears",
    "Archive": "Recordings and their files",
    "Master control": "Every live room's health",
    "Studio console": "The browser console's signalling (join token in the URL)",
    "WHIP": "Encoders (OBS, GStreamer) as a studio's source, RFC 9725",
    "Pages": "HTML for people; errors come as HTML pages unless Accept asks for JSON only",
    "Service": "Health and this description",
}

PATH_PARAMETERS: dict[str, str] = {
    "booking_id": "A booking's id",
    "studio_id": "A studio's id",
    "recording_id": "A recording's id",
    "session_id": "The session id the POST answered with",
    "output_id": "A live output's id (its `id` in the booking's outputs)",
    "cue_id": "A cue's id (its `id` in the booking's cues)",
    "name": "A file name of the recording (its `files[].name`)",
    "filename": "A file of the pages",
    "file": "A file of the booking's HLS stream: index.m3u8 or seg-NNNNNN.ts",
}

# What the error middleware (web.errors) and the identity middleware (web.access.auth)
# may answer on top of what a handler says.
NO_CREDENTIALS = "unauthorized: no credentials; invalid_token: an unknown, revoked or expired token"
BAD_JSON = "invalid_json: the body is not JSON"
TOO_LARGE = "body_too_large: over the server's max_body_bytes"
CSRF = "csrf_failed: a session caller without a valid X-CSRF-Token"
DATABASE_DOWN = "database_unavailable: nothing was saved; retry after Retry-After seconds"
OTHER = "Any other error: 405 method_not_allowed (with Allow), 500 internal"


def split_path(path: str) -> tuple[str, list[tuple[str, str | None]]]:
    """An aiohttp path (`{name:regex}` allowed) as an OpenAPI path and its (name, regex)."""
    out: list[str] = []
    params: list[tuple[str, str | None]] = []
    i = 0
    while i < len(path):
        if path[i] != "{":
            out.append(path[i])
            i += 1
            continue
        depth, j = 0, i
        while True:  # the regex may hold {m,n}: find the brace that closes this one
            depth += {"{": 1, "}": -1}.get(path[j], 0)
            if depth == 0:
                break
            j += 1
        name, _, regex = path[i + 1 : j].partition(":")
        params.append((name, regex or None))
        out.append("{" + name + "}")
        i = j + 1
    return "".join(out), params


def _parameter(where: str, q: Query) -> Schema:
    return {
        "name": q.name,
        "in": where,
        "required": q.required,
        "description": q.description,
        "schema": q.schema,
    }


def _parameters(op: Operation) -> list[Schema]:
    _, in_path = split_path(op.path)
    out = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "description": PATH_PARAMETERS[name],
            "schema": {"type": "string", **({"pattern": f"^{regex}$"} if regex else {})},
        }
        for name, regex in in_path
    ]
    out += [_parameter("query", q) for q in op.query]
    out += [_parameter("header", h) for h in op.headers]
    return out


def _reply(reply: Reply) -> Schema:
    doc: Schema = {"description": reply.description}
    if reply.media is not None:
        doc["content"] = {reply.media: {"schema": reply.schema or {}}}
    if reply.headers:
        doc["headers"] = {
            name: {"description": what, "schema": {"type": "string"}}
            for name, what in reply.headers.items()
        }
    return doc


def _error(description: str, page: bool) -> Schema:
    media = {HTML: {"schema": {"type": "string"}}} if page else {JSON: {"schema": ref("Error")}}
    return {"description": description, "content": media}


def _shared_errors(op: Operation) -> Iterator[tuple[int, str]]:
    """The errors the middlewares add to what the handler itself answers."""
    alternatives = {name for requirement in op.security for name in requirement}
    if alternatives & {"bearerToken", "sessionCookie"} and not op.page:
        yield 401, NO_CREDENTIALS
    if "csrfHeader" in alternatives:
        yield 403, CSRF
    if op.body is not None:
        if op.body.media == JSON:
            yield 400, BAD_JSON
        yield 413, TOO_LARGE


def _responses(op: Operation) -> Schema:
    errors = dict(op.errors)
    for status, text in _shared_errors(op):
        errors[status] = f"{errors[status]}; {text}" if status in errors else text
    responses: Schema = {str(r.status): _reply(r) for r in op.replies}
    for status in sorted(errors):
        responses[str(status)] = _error(errors[status], op.page)
    if op.stored:
        responses["503"] = {
            **_error(DATABASE_DOWN, op.page),
            "headers": {"Retry-After": {"schema": {"type": "integer"}}},
        }
    responses["default"] = _error(OTHER, op.page)
    for response in responses.values():
        _add_headers(response, op.every_reply_headers)
    return responses


def _add_headers(response: Schema, headers: Mapping[str, str]) -> None:
    """Describe `headers` on one response, after those it names itself."""
    for name, what in headers.items():
        described = response.setdefault("headers", {})
        described.setdefault(name, {"description": what, "schema": {"type": "string"}})


def _operation(op: Operation) -> Schema:
    doc: Schema = {"operationId": op.operation_id, "tags": [op.tag], "summary": op.summary}
    description = op.description
    if op.roles:
        description = f"{description}\n\nRoles: {', '.join(op.roles)}.".strip()
        doc["x-roles"] = list(op.roles)
    if description:
        doc["description"] = description
    doc["security"] = [dict(requirement) for requirement in op.security]
    parameters = _parameters(op)
    if parameters:
        doc["parameters"] = parameters
    if op.body is not None:
        body: Schema = {
            "required": op.body.required,
            "content": {op.body.media: {"schema": op.body.schema}},
        }
        if op.body.description:
            body["description"] = op.body.description
        doc["requestBody"] = body
    doc["responses"] = _responses(op)
    return doc


def _paths(operations: Iterable[Operation]) -> dict[str, dict[str, Any]]:
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        template, _ = split_path(op.path)
        item = paths.setdefault(template, {})
        method = op.method.lower()
        if method in item:
            raise ValueError(f"{op.method} {template} is described twice")
        item[method] = _operation(op)
    return paths


def _version() -> str:
    try:
        return metadata.version("telebridge")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "0.0.0"


@functools.cache
def build_document() -> dict[str, Any]:
    """The whole OpenAPI 3.1 document (built once: the tables do not change while serving)."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Telebridge",
            "version": _version(),
            "summary": "Book telebridges between partner studios, run them live, archive them.",
            "description": "JSON in and out under /api/. Times are RFC 3339 with an offset or "
            "Z; naive times are refused. Every JSON error is "
            '`{"error": {"code", "message", "fields"?, "conflicts"?}}`. A guide for people: '
            "docs/api.md in the source.",
        },
        "tags": [{"name": name, "description": text} for name, text in TAGS.items()],
        "paths": _paths(OPERATIONS),
        "components": {
            "schemas": {
                **SCHEMAS,
                **OUTPUT_SCHEMAS,
                **DIRECTION_SCHEMAS,
                **GRAPHICS_SCHEMAS,
                **CONTROL_SCHEMAS,
                **LIVE_SCHEMAS,
            },
            "securitySchemes": SECURITY_SCHEMES,
        },
    }
