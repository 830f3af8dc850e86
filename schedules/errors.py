"""The few named errors the booking domain raises; `web` maps each to one HTTP status."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime


class ScheduleError(Exception):
    """Base of every error the booking domain raises on purpose."""

    code = "schedule_error"


class ValidationError(ScheduleError):
    """Input that cannot become a booking; `fields` maps a field name to what is wrong with it."""

    code = "invalid"

    def __init__(self, message: str, fields: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = dict(fields or {})


class NotFound(ScheduleError):
    """An id that names nothing stored."""

    code = "not_found"

    def __init__(self, kind: str, ident: str) -> None:
        super().__init__(f'{kind} "{ident}" does not exist')
        self.kind = kind
        self.ident = ident


@dataclass(frozen=True)
class ConflictItem:
    """One booking in the way: which booking holds which studio, when that booking runs, and
    when it keeps the studio busy (line check to teardown: the window that conflicts)."""

    booking_id: str
    studio_id: str
    title: str
    starts_at: datetime
    ends_at: datetime
    busy_from: datetime | None = None
    busy_until: datetime | None = None


class Conflict(ScheduleError):
    """The studios' busy windows (setup + show + teardown) overlap another booking's."""

    code = "conflict"

    def __init__(self, conflicts: Sequence[ConflictItem]) -> None:
        names = ", ".join(sorted({f"{c.studio_id} in {c.booking_id}" for c in conflicts}))
        super().__init__(f"Studio already booked at that time: {names}")
        self.conflicts = list(conflicts)


class InvalidTransition(ScheduleError):
    """A lifecycle step that the booking's current status does not allow."""

    code = "invalid_transition"

    def __init__(self, status: str, action: str) -> None:
        super().__init__(f'Cannot {action} a booking whose status is "{status}"')
        self.status = status
        self.action = action


class NotAllowed(ScheduleError):
    """A step the booking's status allows but its studios do not (leaving out a studio that has
    not declined, or one that would leave too few); `code` names which, for programs."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class DuplicateId(ScheduleError):
    """An id that is already taken (a studio or a user added twice)."""

    code = "duplicate"

    def __init__(self, kind: str, ident: str) -> None:
        super().__init__(f'{kind} "{ident}" already exists')
        self.kind = kind
        self.ident = ident
