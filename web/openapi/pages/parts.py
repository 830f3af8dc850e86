"""What the pages' rows share: the HTML reply, the form body with its CSRF token, the
redirects (to the login among them), the time-zone query and the roles that book."""

from __future__ import annotations

from web.openapi.model import FORM, HTML, Body, Query, Reply, Schema

BOOKERS = ("admin", "producer")
_CSRF = {
    "type": "string",
    "description": "The token the page put in its form (the X-CSRF-Token header also works).",
}
TO_LOGIN = Reply(303, "Not logged in", None, headers={"Location": "/login?next=<this page>"})
TZ = Query(
    "tz",
    "Show times in this IANA zone (default: the reader's own, picked at /time-zone; else an "
    "operator's studio's; else the `timezone` setting)",
)


def page(status: int = 200, description: str = "The page") -> Reply:
    """An HTML page as the reply."""
    return Reply(status, description, HTML, {"type": "string"})


def form(fields: Schema, required: tuple[str, ...] = ()) -> Body:
    """A form's body: `fields`, and the CSRF token every form carries."""
    return Body(
        FORM,
        {
            "type": "object",
            "required": [*required, "csrf_token"],
            "properties": {**fields, "csrf_token": _CSRF},
        },
    )


def redirect(to: str) -> Reply:
    """A 303 to `to`, where a form goes once done."""
    return Reply(303, "Done", None, headers={"Location": to})
