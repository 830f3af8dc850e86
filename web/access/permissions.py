"""The role matrix: what each role may see and do with bookings."""

from __future__ import annotations

from schedules.model import Booking, Role
from web.access.auth import Principal

BOOKERS = frozenset({Role.ADMIN, Role.PRODUCER})


def can_book(p: Principal) -> bool:
    """Producers and admins book, edit and cancel; operators and viewers do not."""
    return p.role in BOOKERS


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


def studio_scope(p: Principal) -> list[str] | None:
    """The studios a listing is limited to (None: all)."""
    if p.role is Role.OPERATOR and p.studio_id:
        return [p.studio_id]
    return None
