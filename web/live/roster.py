"""An open room's studios follow its booking's: a studio taken out of the booking leaves the
live room at once, and one put in can join during the line check.

The decision (which studios changed) is made here; what leaving and joining mean for the media
is the room's own (`bridge.room.Room.remove_studio`, `add_studio`). A removed studio's join
link is still signed: what refuses it, with the reason its console shows, is here too.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from bridge.room import Room
from bridge.spec import StudioSpec
from schedules.model import Booking, PartnerAnswer, Studio
from schedules.rules.timeline import DEAD
from web.errors import ApiError

STUDIO_REMOVED = "studio_removed"  # the error code the console tells apart from the others
STUDIO_DECLINED = "studio_declined"  # the studio said no: its console stops, as when removed


@dataclass(frozen=True)
class StudioChanges:
    """The studios to take out of a room and to let in, each in booking order."""

    removed: tuple[str, ...] = ()
    added: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.removed or self.added)


def studio_changes(in_room: Sequence[str], booked: Sequence[str]) -> StudioChanges:
    """What differs between a room's studios and its booking's now. Order alone is no change:
    the studios keep their places in the program and on the consoles."""
    return StudioChanges(
        removed=tuple(s for s in in_room if s not in booked),
        added=tuple(s for s in booked if s not in in_room),
    )


def studio_spec(studio_id: str, studios: Mapping[str, Studio]) -> StudioSpec:
    """A studio as its room knows it: its id and the label the program shows."""
    studio = studios.get(studio_id)
    return StudioSpec(studio_id, f"{studio.name} · {studio.city}" if studio else studio_id)


async def follow_studios(room: Room, changes: StudioChanges, studios: Mapping[str, Studio]) -> None:
    """Take the removed studios out of `room` (their connections close now) and let the added
    ones in (`studios`: at least the added ones, for their labels)."""
    for studio_id in changes.removed:
        await room.remove_studio(studio_id)
    for studio_id in changes.added:
        room.add_studio(studio_spec(studio_id, studios))


def studio_removed() -> ApiError:
    """The refusal of a studio's join link (its token checked already) once the booking has
    dropped the studio: only a studio of the booking ever got a link, so it was removed."""
    return ApiError(403, STUDIO_REMOVED, "This studio is no longer part of this booking")


def studio_declined(reason: str) -> ApiError:
    """The refusal of the link of a studio that declined the booking (which still lists it
    until the producer goes on without it): it said no, so it does not join."""
    message = "This studio declined this telebridge"
    return ApiError(
        403,
        STUDIO_DECLINED,
        f"{message}: {reason}" if reason else message,
        extra={"reason": reason},
    )


def require_taking_part(booking: Booking, studio_id: str) -> None:
    """`studio_removed` unless the studio is in the booking, `studio_declined` when it declined
    a booking that goes on (one its decline ended is the join window's to refuse, as closed)."""
    part = booking.part_of(studio_id)
    if part is None:
        raise studio_removed()
    if part.answer is PartnerAnswer.DECLINED and booking.status not in DEAD:
        raise studio_declined(part.decline_reason)


def require_member(studio_ids: Collection[str], studio_id: str) -> None:
    """`studio_removed` unless the studio is among the booking's (or room's) studios now."""
    if studio_id not in studio_ids:
        raise studio_removed()
