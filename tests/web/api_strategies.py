"""Hypothesis strategies for requests to the JSON API, drawn from the app's own OpenAPI
description (web/openapi): each route's path parameters, query string and body, mostly as the
description says and now and then hostile, so that most requests get past the first check
and some are accepted (tests/web/test_fuzz_api.py).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from hypothesis import strategies as st

from web.openapi.document import build_document

JSON = Any
# The JSON API and the files it links to; not the pages (forms and cookies), nor the live
# routes that need a peer (WebRTC offers: the SDP fuzz) or a WebSocket.
API_PREFIXES = ("/api/", "/calendar/", "/recordings/", "/healthz", "/metrics")
LIVE_ONLY = ("/api/live/", "/ws/")
METHODS = ("get", "post", "put", "patch", "delete")
PARAM = re.compile(r"\{([^}]+)\}")
# Mostly callers who may do things, so that requests get past the access checks.
ROLES = ("admin", "admin", "producer", "producer", "operator", "viewer", "anonymous")

# Text a URL can carry (no lone surrogates, which no client can encode).
LETTERS = st.characters(exclude_categories=["Cs"])
TEXT = st.text(LETTERS, max_size=60)
HOSTILE_TEXT = st.one_of(
    TEXT,
    st.sampled_from(
        [
            "",
            " ",
            "\x00",
            "../../etc/passwd",
            "%00",
            "'; DROP TABLE bookings; --",
            "<script>alert(1)</script>",
            "9" * 400,
            "ü€😀",
            "x" * 5000,
            "null",
            "NaN",
        ]
    ),
)
HOSTILE_JSON: st.SearchStrategy[JSON] = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**70), 2**70),
        st.floats(allow_nan=True, allow_infinity=True),
        HOSTILE_TEXT,
    ),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(TEXT, inner, max_size=4)),
    max_leaves=8,
)
# Times: near enough to be booked (never within a day: a room opened by the autopilot would
# start composing its program), at the ends of the calendar, and not times at all.
OFFSETS = st.sampled_from(["Z", "+04:00", "-05:00", "+14:00", "-23:59", "+23:59", "+05:45"])


def _future(now: datetime) -> st.SearchStrategy[str]:
    return st.builds(
        lambda minutes, offset: (
            (now + timedelta(days=2, minutes=minutes))
            .replace(second=0, microsecond=0)
            .strftime("%Y-%m-%dT%H:%M:%S")
            + offset
        ),
        st.integers(0, 300 * 24 * 60),
        OFFSETS,
    )


EDGES = [
    datetime(9999, 12, 31, 23),
    datetime(1, 1, 1),
    datetime(2100, 1, 1),
    datetime(1969, 12, 31),
]
FAR_TIMES = st.builds(
    lambda moment, offset: moment.isoformat(timespec="seconds") + offset,
    st.one_of(  # the ends of the calendar as often as anything in between
        st.sampled_from(EDGES),
        st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59)),
    ),
    OFFSETS,
)


@dataclass(frozen=True)
class Operation:
    """One route and method of the description."""

    method: str
    path: str
    params: tuple[Mapping[str, Any], ...]
    body: Mapping[str, Any] | None  # the JSON body's schema, if it takes one

    @property
    def path_params(self) -> list[str]:
        return PARAM.findall(self.path)

    @property
    def query(self) -> bool:
        return any(p.get("in") == "query" for p in self.params)

    @property
    def takes_times(self) -> bool:
        """Whether a query parameter or the body is a time (from, to, starts_at, ends_at)."""
        named = {p["name"] for p in self.params if p.get("in") == "query"}
        body = str(self.body or "")
        return bool(named & {"from", "to"}) or "Booking" in body


@dataclass(frozen=True)
class ApiRequest:
    """A request as drawn: what to send, and as whom."""

    method: str
    path: str
    role: str
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    body: JSON = None
    has_body: bool = False

    def __repr__(self) -> str:  # what hypothesis prints of a failing example
        body = f" body={self.body!r:.300}" if self.has_body else ""
        return f"{self.method} {self.path} as {self.role} query={self.query}{body}"


def operations() -> list[Operation]:
    """The API's operations, from the description."""
    doc = build_document()
    out = []
    for path, item in doc["paths"].items():
        if not path.startswith(API_PREFIXES) or path.startswith(LIVE_ONLY):
            continue
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            content = op.get("requestBody", {}).get("content", {})
            body = content.get("application/json", {}).get("schema")
            out.append(Operation(method.upper(), path, tuple(op.get("parameters", ())), body))
    return out


class Strategies:
    """Strategies for one app: its schemas, its studios, the ids it holds, its clock."""

    def __init__(
        self,
        ids: Mapping[str, Sequence[str]],
        studios: Sequence[str],
        now: datetime,
        times: st.SearchStrategy[str] | None = None,
    ):
        self.components = build_document()["components"]["schemas"]
        self.ids = ids
        self.studios = list(studios)
        self.times = (
            times if times is not None else st.one_of(_future(now), FAR_TIMES, HOSTILE_TEXT)
        )

    def request(self, ops: Sequence[Operation]) -> st.SearchStrategy[ApiRequest]:
        # Routes that take a body or a query string are drawn more often: there is more to
        # get wrong in them than in a bare GET of an id.
        weighted = [op for op in ops for _ in range(3 if op.body or op.query else 1)]
        return st.sampled_from(weighted).flatmap(self._request_for)

    def _request_for(self, op: Operation) -> st.SearchStrategy[ApiRequest]:
        path = st.fixed_dictionaries({p: self._path_value(p) for p in op.path_params}).map(
            lambda values: PARAM.sub(lambda m: _quote(values[m.group(1)]), op.path)
        )
        query = st.fixed_dictionaries(
            {},
            optional={p["name"]: self._query_value(p) for p in op.params if p.get("in") == "query"},
        )
        headers = st.fixed_dictionaries(
            {},
            optional={
                p["name"]: st.one_of(
                    st.sampled_from(["bytes=0-", "bytes=5-1", "bytes=-0", "bytes=99999999999-"]),
                    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=60),
                )
                for p in op.params
                if p.get("in") == "header"
            },
        )
        body: st.SearchStrategy[tuple[bool, JSON]] = st.just((False, None))
        if op.body is not None:
            body = st.one_of(
                self._schema(op.body).map(self._coherent), HOSTILE_JSON, st.just(b"{")
            ).map(lambda b: (True, b))
        return st.builds(
            lambda p, q, h, b, role: ApiRequest(op.method, p, role, q, h, b[1], b[0]),
            path,
            query,
            headers,
            body,
            st.sampled_from(ROLES),
        )

    def _path_value(self, name: str) -> st.SearchStrategy[str]:
        known = list(self.ids.get(name, ()))
        if name == "studio_id":
            known = self.studios
        # A "/" would make another path, and "." or ".." another route: those are not drawn.
        hostile = HOSTILE_TEXT.map(lambda t: t.replace("/", "|").replace(".", ","))
        if not known:
            return hostile
        return _mostly(st.sampled_from(known), hostile)

    def _query_value(self, param: Mapping[str, Any]) -> st.SearchStrategy[str]:
        name = param["name"]
        if name in ("from", "to"):
            valid: st.SearchStrategy[str] = st.one_of(self.times, self.times.map(lambda t: t[:10]))
        elif name == "studio":
            valid = st.sampled_from(self.studios)
        elif name == "booking":
            valid = st.sampled_from(list(self.ids.get("booking_id", ["x"])))
        else:
            valid = TEXT
        return _mostly(valid, HOSTILE_TEXT)

    def _schema(self, schema: Mapping[str, Any], name: str = "") -> st.SearchStrategy[JSON]:
        """Values a schema describes; each property hostile once in a while."""
        if "$ref" in schema:
            return self._schema(self.components[schema["$ref"].rsplit("/", 1)[1]], name)
        if "enum" in schema:
            return st.sampled_from(schema["enum"])
        kind = schema.get("type")
        if isinstance(kind, list):
            return st.one_of(*(self._schema({**schema, "type": k}, name) for k in kind))
        if kind == "object":
            props = schema.get("properties", {})
            required = set(schema.get("required", ()))
            values = {k: _mostly(self._schema(v, k), HOSTILE_JSON) for k, v in props.items()}
            return st.fixed_dictionaries(
                {k: s for k, s in values.items() if k in required},
                optional={k: s for k, s in values.items() if k not in required},
            )
        if kind == "array":
            items = (
                st.sampled_from(self.studios)
                if name == "studios"
                else self._schema(schema.get("items", {}))
            )
            top = min(schema.get("maxItems", 6), 8)
            # Unique by repr: items may be objects (lower-third texts), which do not hash.
            min_size = schema.get("minItems", 0)
            return st.lists(items, min_size=min_size, max_size=top, unique_by=repr)
        if kind == "string":
            return self._string(schema, name)
        if kind == "integer":
            return st.integers(schema.get("minimum", -(2**31)), schema.get("maximum", 2**31))
        if kind == "number":
            return st.floats(schema.get("minimum", -1e9), schema.get("maximum", 1e9))
        if kind == "boolean":
            return st.booleans()
        if kind == "null":
            return st.none()
        return HOSTILE_JSON

    def _string(self, schema: Mapping[str, Any], name: str) -> st.SearchStrategy[str]:
        fmt = schema.get("format")
        if fmt == "date-time":
            return self.times
        if fmt == "date":
            return self.times.map(lambda t: t[:10])
        if name == "studio":
            return st.sampled_from(self.studios)
        if name in ("timezone", "zone"):  # a studio's zone, a booking's
            return st.sampled_from(["Asia/Baku", "Europe/Rome", "UTC", "Mars/Olympus"])
        if "pattern" in schema:
            return st.from_regex(schema["pattern"], fullmatch=True)
        return st.text(LETTERS, max_size=schema.get("maxLength", 80))

    @staticmethod
    def _coherent(body: JSON) -> JSON:
        """A booking body whose end is an hour after its start when both were drawn as times
        (two times drawn apart would hardly ever make a booking that can be accepted)."""
        if not isinstance(body, dict):
            return body
        try:
            start = datetime.fromisoformat(body["starts_at"])
            datetime.fromisoformat(body["ends_at"])
            end = (start + timedelta(hours=1)).astimezone(UTC)
        except (KeyError, TypeError, ValueError, OverflowError):
            return body
        return {**body, "ends_at": end.isoformat()}


def _mostly(
    valid: st.SearchStrategy[Any], hostile: st.SearchStrategy[Any]
) -> st.SearchStrategy[Any]:
    """`valid` nine times in ten, `hostile` otherwise."""
    return st.integers(0, 9).flatmap(lambda n: hostile if n == 0 else valid)


def _quote(value: str) -> str:
    return quote(value, safe="")
