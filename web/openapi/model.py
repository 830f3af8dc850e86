"""The table rows: one `Operation` per route and method, in the words of the route modules."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

Schema = dict[str, Any]
# One security requirement per alternative; an empty tuple means no credentials at all.
Security = tuple[Mapping[str, list[str]], ...]

JSON = "application/json"
HTML = "text/html"
SDP = "application/sdp"
FORM = "application/x-www-form-urlencoded"


def ref(name: str) -> Schema:
    """A reference to a schema of `components.schemas`."""
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: Schema) -> Schema:
    """`schema`, or null (OpenAPI 3.1 writes null as a JSON Schema type)."""
    return {"anyOf": [schema, {"type": "null"}]}


STRING: Schema = {"type": "string"}
MOMENT: Schema = {"type": "string", "format": "date-time"}


@dataclass(frozen=True)
class Query:
    """A query parameter."""

    name: str
    description: str
    schema: Schema = field(default_factory=lambda: dict(STRING))
    required: bool = False


@dataclass(frozen=True)
class Body:
    """A request body of one media type."""

    media: str
    schema: Schema
    description: str = ""
    required: bool = True


@dataclass(frozen=True)
class Reply:
    """A response the handler itself gives (errors are listed apart, by status)."""

    status: int
    description: str
    media: str | None = JSON
    schema: Schema | None = None
    headers: Mapping[str, str] = field(default_factory=dict)  # name -> what it carries


@dataclass(frozen=True)
class Operation:
    """One method on one route.

    `path` is written as the route module writes it, `{name:regex}` included, so that the
    description's path parameters carry the same patterns the router matches.
    """

    method: str
    path: str
    operation_id: str
    tag: str
    summary: str
    security: Security
    replies: tuple[Reply, ...]
    errors: Mapping[int, str] = field(default_factory=dict)  # status -> the codes it carries
    query: tuple[Query, ...] = ()
    headers: tuple[Query, ...] = ()  # request headers, described like query parameters
    body: Body | None = None
    description: str = ""
    roles: tuple[str, ...] = ()  # empty: any signed-in caller (or the credential says it all)
    page: bool = False  # an HTML page: its errors come as HTML pages too
    stored: bool = True  # reads or writes the database, so it can answer 503
    # Headers on every response of the operation, errors included (CORS): name -> what it says.
    every_reply_headers: Mapping[str, str] = field(default_factory=dict)


# The ids in paths, written as the route modules write them (the router matches these).
BOOKING = "{booking_id:[A-Za-z0-9_-]{1,40}}"
STUDIO = "{studio_id:[a-z0-9-]{1,63}}"
RECORDING = "{recording_id:[0-9a-f]{12}}"
SESSION = "{session_id:[0-9a-f]{16}}"

# Who may call: the alternatives of `security` (see document.SECURITY_SCHEMES).
PUBLIC: Security = ()
SIGNED_IN: Security = ({"bearerToken": []}, {"sessionCookie": []})
# A change by a session caller needs the CSRF header too; token callers need none.
SIGNED_IN_CHANGE: Security = ({"bearerToken": []}, {"sessionCookie": [], "csrfHeader": []})
JOIN_LINK: Security = ({"joinToken": []},)
WHIP: Security = ({"whipBearer": []},)
CALENDAR_FEED: Security = ({"calendarToken": []},)
CLUSTER_NODE: Security = ({"nodeToken": []},)
