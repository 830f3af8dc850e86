"""Signed links: one join link per booking and studio, one calendar feed per studio, and one
viewing link per privately streamed booking.

When a join link works is the booking's timeline (`schedules.rules.timeline`); here are only the
tokens, which never expire by themselves, so invitations already sent stay valid.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

from web.access.security import Signer

# The ids a join link names, as route paths match them: /join/{booking}/{studio}/...
LINK_IDS = r"{booking_id:[A-Za-z0-9_-]{1,40}}/{studio_id:[a-z0-9-]{1,63}}"

JOIN_PURPOSE = "join"
CALENDAR_PURPOSE = "calendar"


def join_token(signer: Signer, booking_id: str, studio_id: str) -> str:
    """The signed token of one studio's join link (stable, so sent invitations stay valid)."""
    return signer.sign(JOIN_PURPOSE, {"b": booking_id, "s": studio_id})


def join_path(signer: Signer, booking_id: str, studio_id: str) -> str:
    """The path and query of a join link."""
    token = join_token(signer, booking_id, studio_id)
    return f"/join/{quote(booking_id)}/{quote(studio_id)}?token={quote(token)}"


def token_matches(signer: Signer, token: str | None, booking_id: str, studio_id: str) -> bool:
    """Whether `token` is the join token of exactly this booking and studio."""
    payload = signer.unsign(JOIN_PURPOSE, token or "")
    return payload is not None and payload == {"b": booking_id, "s": studio_id}


def calendar_token(signer: Signer, studio_id: str) -> str:
    """The token of a studio's calendar subscription feed."""
    return signer.sign(CALENDAR_PURPOSE, {"s": studio_id})


def calendar_token_matches(signer: Signer, token: str | None, studio_id: str) -> bool:
    """Whether `token` opens the calendar feed of `studio_id`."""
    return signer.unsign(CALENDAR_PURPOSE, token or "") == {"s": studio_id}


WATCH_PURPOSE = "watch"


def watch_token(signer: Signer, booking_id: str) -> str:
    """The token of a private broadcast's viewing link (stable, like the join links)."""
    return signer.sign(WATCH_PURPOSE, {"b": booking_id})


def watch_path(signer: Signer, booking_id: str) -> str:
    """The path and query of a private broadcast's viewing link."""
    return f"/watch/{quote(booking_id)}?token={quote(watch_token(signer, booking_id))}"


def watch_token_matches(signer: Signer, token: str | None, booking_id: str) -> bool:
    """Whether `token` opens the viewing link of exactly this booking."""
    return signer.unsign(WATCH_PURPOSE, token or "") == {"b": booking_id}


def viewing_query(signer: Signer, booking_id: str, stream: str) -> str:
    """What a viewer's addresses of the booking carry: `?token=...` for a private stream,
    nothing for a public one."""
    if stream == "public":
        return ""
    return "?" + urlencode({"token": watch_token(signer, booking_id)})
