"""The router against the OpenAPI description: which routes are served, which are described.

Used by tests/web/test_openapi.py and tests/test_architecture.py.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

# A route's operations, each with its path parameters' regexes (None: aiohttp's default).
Operations = dict[tuple[str, str], dict[str, str | None]]

DEFAULT_SEGMENT = "[^{}/]+"  # what aiohttp matches for a plain {name}
STATIC_PARAMETER = "filename"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
DOCUMENT_URI = "urn:telebridge:openapi"


def group_regexes(pattern: str) -> dict[str, str | None]:
    """The regex of every named group of a route's compiled pattern."""
    out: dict[str, str | None] = {}
    for m in re.finditer(r"\(\?P<(\w+)>", pattern):
        depth, i = 1, m.end()
        while depth:  # to the parenthesis that closes this group
            if pattern[i] == "\\":
                i += 2
                continue
            depth += {"(": 1, ")": -1}.get(pattern[i], 0)
            i += 1
        regex = pattern[m.end() : i - 1]
        out[m.group(1)] = None if regex == DEFAULT_SEGMENT else regex
    return out


def served(app: web.Application) -> Operations:
    """Every (method, OpenAPI path) the router serves; HEAD is GET's shadow and left out."""
    out: Operations = {}
    for route in app.router.routes():
        if route.method == "HEAD":
            continue
        resource = route.resource
        assert resource is not None
        if isinstance(resource, web.StaticResource):
            out[(route.method, f"{resource.canonical}/{{{STATIC_PARAMETER}}}")] = {
                STATIC_PARAMETER: None
            }
            continue
        pattern = resource.get_info().get("pattern")
        params = group_regexes(pattern.pattern) if pattern is not None else {}
        out[(route.method, resource.canonical)] = params
    return out


def described(document: dict[str, Any]) -> Operations:
    """Every (method, path) the document describes, with its path parameters' patterns."""
    out: Operations = {}
    for path, item in document["paths"].items():
        for method in METHODS:
            if method not in item:
                continue
            params: dict[str, str | None] = {}
            for p in item[method].get("parameters", []) + item.get("parameters", []):
                if p["in"] == "path":
                    pattern = p["schema"].get("pattern")
                    params[p["name"]] = pattern[1:-1] if pattern else None  # without ^ and $
            out[(method.upper(), path)] = params
    return out


def drift(app: web.Application, document: dict[str, Any]) -> list[str]:
    """Every disagreement between the router and the document, worded as what to fix."""
    have, said = served(app), described(document)
    problems = [
        f"{m} {p} is served but not described: add a row to a table in web/openapi/ "
        "(api_table, live_table, or a page table in web/openapi/pages/)"
        for m, p in sorted(have.keys() - said.keys())
    ]
    problems += [
        f"{m} {p} is described but not served: remove its row from web/openapi/, or register "
        "the route module in web/app.py"
        for m, p in sorted(said.keys() - have.keys())
    ]
    for key in sorted(have.keys() & said.keys()):
        if have[key] != said[key]:
            problems.append(
                f"{key[0]} {key[1]}: the router's path parameters {have[key]} differ from the "
                f"description's {said[key]}: write the path in web/openapi/ as the route "
                "module writes it ({name:regex})"
            )
    return problems


def response_validator(
    document: dict[str, Any], method: str, path: str, status: int, media: str
) -> Draft202012Validator:
    """A validator of one described response body (the document's $refs resolved)."""
    responses = document["paths"][path][method.lower()]["responses"]
    assert str(status) in responses, f"{method} {path} does not describe status {status}"
    content = responses[str(status)].get("content", {})
    assert media in content, f"{method} {path} {status} does not describe {media}"
    registry: Registry[Any] = Registry().with_resource(
        DOCUMENT_URI, Resource.from_contents(document, default_specification=DRAFT202012)
    )
    pointer = "/".join(
        part.replace("~", "~0").replace("/", "~1")
        for part in ("paths", path, method.lower(), "responses", str(status), "content", media)
    )
    return Draft202012Validator(
        {"$ref": f"{DOCUMENT_URI}#/{pointer}/schema"},
        registry=registry,
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )
