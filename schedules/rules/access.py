"""Who is asking and what they may do: the caller, and the role matrix over bookings, join
links, calendar feeds and recordings.

How a caller is recognized (sessions, bearer tokens) is `web.access.auth`'s business; the rules
here only read the role and the studio a caller is bound to.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from schedules.archive import Recording
from schedules.model import Booking, Role, Studio

BOOKERS = frozenset({Role.ADMIN, Role.PRODUCER})


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: a logged-in user or an API token."""

    name: str
    role: Role
    studio_id: str | None
    user_id: int | None = None
    language: str | None = None
    via_token: bool = False
    # The zone the caller reads pages in when it picked one or is an operator (rules.zones);
    # "" = the site's default.
    time_zone: str = ""


def can_book(p: Principal) -> bool:
    """Producers and admins book, edit and cancel; operators and viewers do not."""
    return p.role in BOOKERS


def can_direct(p: Principal) -> bool:
    """Producers and admins run a show live (program, sound, recording) and watch master
    control; operators run only their own console."""
    return p.role in BOOKERS


def takes_part(p: Principal, booking: Booking) -> bool:
    """Producers and admins, and the operators of the booking's studios, are the show's crew:
    they read and write its chat; viewers (partner staff reading the archive) do not."""
    if p.role is Role.OPERATOR:
        return p.studio_id in booking.studio_ids
    return can_direct(p)


def can_see(p: Principal, booking: Booking) -> bool:
    """Operators see only their own studio's bookings; everyone else sees all."""
    if p.role is Role.OPERATOR:
        return p.studio_id in booking.studio_ids
    return True


def can_answer(p: Principal, studio_id: str) -> bool:
    """A studio's operator confirms or declines for it; admins may answer for any studio."""
    if p.role is Role.ADMIN:
        return True
    return p.role is Role.OPERATOR and p.studio_id == studio_id


def visible_join_studios(p: Principal, booking: Booking) -> tuple[str, ...]:
    """The studios whose join links the caller may see."""
    if p.role in BOOKERS:
        return booking.studio_ids
    if p.role is Role.OPERATOR and p.studio_id in booking.studio_ids:
        return (p.studio_id,)
    return ()


def can_see_calendar_feed(p: Principal, studio_id: str) -> bool:
    """Producers and admins may hand out every studio's calendar feed; others their own only."""
    return p.role in BOOKERS or p.studio_id == studio_id


def studio_scope(p: Principal) -> list[str] | None:
    """The studios a listing is limited to (None: all)."""
    if p.role is Role.OPERATOR and p.studio_id:
        return [p.studio_id]
    return None


def can_delete_recording(p: Principal) -> bool:
    """Only admins delete a recording: the partners share what a show leaves, and deleting it
    takes it from every one of them."""
    return p.role is Role.ADMIN


def can_see_recording(p: Principal, recording: Recording, studios: Mapping[str, Studio]) -> bool:
    """Admins and producers see all; others only recordings their organisation took part in."""
    if p.role in BOOKERS:
        return True
    own = studios.get(p.studio_id or "")
    if own is None:
        return False
    return any(
        studios[sid].organisation == own.organisation for sid in recording.studios if sid in studios
    )
