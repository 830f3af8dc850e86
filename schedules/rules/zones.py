"""Whose clock a time is read on: the zone a booking was entered in, and the zone each person
reads pages in.

A producer in Baku types 17:00 and means 17:00 Baku: the booking keeps that zone, so its form
shows and edits 17:00 Baku again instead of 13:00 UTC. Everyone else reads times on their own
clock: the zone they picked, else (an operator) their studio's, else the site's default.
"""

from __future__ import annotations

from schedules.model import Role
from schedules.timeutil import known_zone

ZONE_PROBLEM = "must be an IANA zone such as Asia/Baku"


def check_zone(value: object) -> str:
    """`value` as a zone name for a booking or a login: an IANA zone, or "" for none.

    ValueError (with ZONE_PROBLEM) for anything else: a typo must not become a silent UTC.
    """
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError(ZONE_PROBLEM)
    name = value.strip()
    if name and not known_zone(name):
        raise ValueError(ZONE_PROBLEM)
    return name


def reading_zone(own: str, role: Role, studio_zone: str | None, default: str) -> str:
    """The zone a person's pages show times in.

    `own` is the zone they picked ("" when they have not), `studio_zone` their studio's (an
    operator's), `default` the site's. A zone that this machine no longer knows (a renamed tz
    entry) falls through to the next, so a page never fails over a stored name.
    """
    if own and known_zone(own):
        return own
    if role is Role.OPERATOR and studio_zone and known_zone(studio_zone):
        return studio_zone
    return default


def entry_zone(booking_zone: str, reader: str) -> str:
    """The zone a booking's form shows its times in: the one they were entered in, else (a
    booking from before zones were kept) the reader's."""
    return booking_zone if booking_zone and known_zone(booking_zone) else reader
