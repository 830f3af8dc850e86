"""`GET /api/openapi.json`: the description, public (it holds no data, and a tool reads it
before it has a token)."""

from __future__ import annotations

import functools
import json

from aiohttp import web

from web.openapi.document import build_document

routes = web.RouteTableDef()


@functools.cache
def _body() -> bytes:
    return json.dumps(build_document(), ensure_ascii=False, indent=1).encode()


@routes.get("/api/openapi.json")
async def openapi(_request: web.Request) -> web.Response:
    """The OpenAPI 3.1 description of every route."""
    return web.Response(body=_body(), content_type="application/json", charset="utf-8")
