"""The booking service: every change to studios and bookings goes through here, audited."""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from schedules import store
from schedules.errors import Conflict, ConflictItem, InvalidTransition, ValidationError
from schedules.fields import RESCHEDULING, changes, drafted_values
from schedules.model import (
    AuditEvent,
    Booking,
    BookingStatus,
    BookingStudio,
    PartnerAnswer,
    SeriesResult,
    SkippedOccurrence,
    Studio,
)
from schedules.rules import conflicts
from schedules.rules.lifecycle import Action, after_answer, next_status, without_studio
from schedules.rules.recurrence import weekly_occurrences
from schedules.timeutil import known_zone, rfc3339, utc_now
from schedules.validation import parse_draft, parse_reason

Clock = Callable[[], datetime]
# Told of each booking an edit has stored (see BookingService.on_edit).
EditListener = Callable[[Booking], Awaitable[None]]
STUDIO_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
EDITABLE = frozenset({BookingStatus.REQUESTED, BookingStatus.CONFIRMED, BookingStatus.DECLINED})


def new_id() -> str:
    """A short unguessable id for a booking or series."""
    return secrets.token_hex(5)


class BookingService:
    """Studios and bookings on one database; writes are serialized and audited.

    `layouts` are the program layouts a booking may ask for: the live side declares them, and
    the composition root hands them over.
    """

    def __init__(
        self, engine: AsyncEngine, clock: Clock = utc_now, *, layouts: Sequence[str]
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.layouts = tuple(layouts)
        # One writer at a time in this process; PostgreSQL row locks cover other processes
        # (conflicts.lock_studios, store.lock_booking).
        self.write_lock = asyncio.Lock()
        self._edit_listeners: list[EditListener] = []

    def on_edit(self, listener: EditListener) -> None:
        """Tell `listener` of every booking an edit has stored, once it is committed: the live
        side follows a change of an open room's studios at once, not at its next look.

        A listener must not raise: the edit is stored whatever it does.
        """
        self._edit_listeners.append(listener)

    # Studios

    async def studios(self) -> list[Studio]:
        """Every studio."""
        async with self.engine.connect() as conn:
            return await store.list_studios(conn)

    async def studios_by_id(self, ids: Sequence[str] | None = None) -> dict[str, Studio]:
        """Studios by id: those among `ids`, or all."""
        async with self.engine.connect() as conn:
            if ids is None:
                return {s.id: s for s in await store.list_studios(conn)}
            return await store.get_studios(conn, ids)

    async def add_studio(self, data: object) -> Studio:
        """Validate and store a new studio."""
        studio = parse_studio(data)
        async with self.write_lock, self.engine.begin() as conn:
            await store.insert_studio(conn, studio, self.clock())
        return studio

    # Reading bookings

    async def get(self, booking_id: str) -> Booking:
        """One booking, or NotFound."""
        async with self.engine.connect() as conn:
            return await store.get_booking(conn, booking_id)

    async def search(
        self,
        start: datetime | None = None,
        end: datetime | None = None,
        studio_ids: Sequence[str] | None = None,
        statuses: Sequence[BookingStatus] | None = None,
    ) -> list[Booking]:
        """Bookings whose busy window overlaps [start, end), optionally for some studios."""
        async with self.engine.connect() as conn:
            return await store.query_bookings(
                conn, start=start, end=end, studio_ids=studio_ids, statuses=statuses
            )

    async def audit(self, booking_id: str) -> list[AuditEvent]:
        """A booking's audit log (NotFound for an unknown booking)."""
        async with self.engine.connect() as conn:
            await store.get_booking(conn, booking_id)
            return await store.audit_of(conn, booking_id)

    async def note(
        self,
        booking_id: str,
        actor: str,
        action: str,
        details: dict[str, object],
        at: datetime | None = None,
    ) -> None:
        """Add something that happened to a booking (not a change of it) to its audit log, at
        the time it happened (`at`; now when not given)."""
        async with self.write_lock, self.engine.begin() as conn:
            await store.get_booking(conn, booking_id)
            await store.append_audit(
                conn, AuditEvent(booking_id, at or self.clock(), actor, action, details)
            )

    # Changing bookings

    async def create(self, data: object, actor: str) -> SeriesResult:
        """Book a telebridge (or a weekly series); Conflict when nothing could be booked."""
        draft = parse_draft(data, self.layouts)
        now = self.clock()
        if draft.starts_at < now:
            raise ValidationError("starts_at: is in the past", {"starts_at": "is in the past"})
        async with self.write_lock, self.engine.begin() as conn:
            studios = await self._known_studios(conn, draft.studio_ids)
            await conflicts.lock_studios(conn, draft.studio_ids)
            windows = [(draft.starts_at, draft.ends_at)]
            series_id = None
            if draft.recurrence is not None:
                windows = weekly_occurrences(
                    draft.starts_at,
                    draft.ends_at,
                    draft.recurrence,
                    # The wall clock the times were typed on, else the first studio's.
                    default_zone=draft.zone or studios[draft.studio_ids[0]].timezone,
                )
                if not windows:
                    # `until` was checked against the UTC date, but occurrences count on the
                    # series' wall clock, where the first one may already be a day later.
                    problem = "until must not be before the first occurrence"
                    raise ValidationError(f"recurrence: {problem}", {"recurrence": problem})
                series_id = new_id()
            created: list[Booking] = []
            skipped: list[SkippedOccurrence] = []
            all_conflicts: list[ConflictItem] = []
            for starts_at, ends_at in windows:
                booking = Booking(
                    id=new_id(),
                    series_id=series_id,
                    status=BookingStatus.REQUESTED,
                    sequence=0,
                    studios=tuple(BookingStudio(s) for s in draft.studio_ids),
                    created_by=actor,
                    created_at=now,
                    updated_at=now,
                    # The draft's fields, at this occurrence's times.
                    **{**drafted_values(draft), "starts_at": starts_at, "ends_at": ends_at},
                )
                in_the_way = await conflicts.find_conflicts(conn, booking)
                if in_the_way:
                    all_conflicts.extend(in_the_way)
                    skipped.append(SkippedOccurrence(starts_at, ends_at, tuple(in_the_way)))
                    continue
                await store.insert_booking(conn, booking)
                details: dict[str, object] = {
                    "title": booking.title,
                    "studios": list(booking.studio_ids),
                    "starts_at": rfc3339(starts_at),
                    "ends_at": rfc3339(ends_at),
                }
                if series_id is not None:
                    details["series_id"] = series_id
                await store.append_audit(
                    conn, AuditEvent(booking.id, now, actor, "created", details)
                )
                created.append(booking)
            if not created:
                raise Conflict(all_conflicts)
        return SeriesResult(created=tuple(created), skipped=tuple(skipped))

    async def update(self, booking_id: str, data: object, actor: str) -> Booking:
        """Edit or reschedule; a change of time or studios re-checks conflicts and asks again."""
        old, new = await self._update(booking_id, data, actor)
        if new is not old:
            for listener in self._edit_listeners:
                await listener(new)
        return new

    async def _update(self, booking_id: str, data: object, actor: str) -> tuple[Booking, Booking]:
        """The booking before and after the edit (the same object when nothing changed)."""
        async with self.write_lock, self.engine.begin() as conn:
            await store.lock_booking(conn, booking_id)
            old = await store.get_booking(conn, booking_id)
            if old.status not in EDITABLE:
                raise InvalidTransition(old.status.value, "edit")
            draft = parse_draft(data, self.layouts, base=old, allow_recurrence=False)
            now = self.clock()
            changed = changes(old, draft)
            if not changed:
                return old, old
            reschedule = not RESCHEDULING.isdisjoint(changed)
            if reschedule and draft.starts_at < now:
                raise ValidationError("starts_at: is in the past", {"starts_at": "is in the past"})
            await self._known_studios(conn, draft.studio_ids)
            status = old.status
            parts = old.studios
            if reschedule:
                status = next_status(old.status, Action.RESCHEDULE)
                parts = tuple(BookingStudio(s) for s in draft.studio_ids)
            new = replace(
                old,
                **drafted_values(draft),
                studios=parts,
                status=status,
                sequence=old.sequence + 1,
                updated_at=now,
            )
            if reschedule:
                await conflicts.lock_studios(conn, draft.studio_ids)
                in_the_way = await conflicts.find_conflicts(conn, new)
                if in_the_way:
                    raise Conflict(in_the_way)
            await store.update_booking(conn, new)
            action = "rescheduled" if reschedule else "edited"
            await store.append_audit(conn, AuditEvent(old.id, now, actor, action, changed))
            return old, new

    async def confirm(self, booking_id: str, studio_id: str, actor: str) -> Booking:
        """A partner studio accepts; the booking is confirmed once every studio has."""
        return await self._answer(booking_id, studio_id, actor, PartnerAnswer.ACCEPTED)

    async def decline(
        self,
        booking_id: str,
        studio_id: str,
        actor: str,
        reason: object = None,
        *,
        reason_required: bool = False,
    ) -> Booking:
        """A partner studio declines, with its reason (checked by `parse_reason`).

        With two studios (or too few left besides) the booking is declined; otherwise the
        booking waits, requested, for the producer to go on without the studio or cancel.
        """
        text = parse_reason(reason, required=reason_required)
        return await self._answer(booking_id, studio_id, actor, PartnerAnswer.DECLINED, text)

    async def continue_without(self, booking_id: str, studio_id: str, actor: str) -> Booking:
        """The producer goes on without a studio that declined (see lifecycle.without_studio);
        the booking is confirmed when every remaining studio has accepted."""
        async with self.write_lock, self.engine.begin() as conn:
            await store.lock_booking(conn, booking_id)
            old = await store.get_booking(conn, booking_id)
            now = self.clock()
            new = without_studio(old, studio_id, now)
            await store.update_booking(conn, new)
            details: dict[str, object] = {
                "studio": studio_id,
                "studios": list(new.studio_ids),
                "status": new.status.value,
            }
            await store.append_audit(
                conn, AuditEvent(old.id, now, actor, "continued without", details)
            )
        # The studio leaves an open room at once, as after an edit of the studios.
        for listener in self._edit_listeners:
            await listener(new)
        return new

    async def cancel(self, booking_id: str, actor: str, reason: str = "") -> Booking:
        """The producer calls the telebridge off; its studios are free again."""
        return await self._step(booking_id, Action.CANCEL, actor, "cancelled", reason)

    async def go_live(self, booking_id: str, actor: str) -> Booking:
        """The booking goes on air (the autopilot's step)."""
        return await self._step(booking_id, Action.GO_LIVE, actor, "went live")

    async def complete(self, booking_id: str, actor: str) -> Booking:
        """The booking has ended on air."""
        return await self._step(booking_id, Action.COMPLETE, actor, "completed")

    # Internals

    async def _known_studios(self, conn: AsyncConnection, ids: Sequence[str]) -> dict[str, Studio]:
        found = await store.get_studios(conn, ids)
        unknown = [i for i in ids if i not in found]
        if unknown:
            problem = "unknown studio: " + ", ".join(unknown)
            raise ValidationError(f"studios: {problem}", {"studios": problem})
        return found

    async def _step(
        self, booking_id: str, action: Action, actor: str, verb: str, reason: str = ""
    ) -> Booking:
        async with self.write_lock, self.engine.begin() as conn:
            await store.lock_booking(conn, booking_id)
            old = await store.get_booking(conn, booking_id)
            now = self.clock()
            new = replace(
                old,
                status=next_status(old.status, action),
                # Calendars show a cancellation; going live or completing changes nothing there.
                sequence=old.sequence + (1 if action is Action.CANCEL else 0),
                updated_at=now,
            )
            await store.update_booking(conn, new)
            details: dict[str, object] = {"from": old.status.value, "to": new.status.value}
            if reason:
                details["reason"] = reason[:1000]
            await store.append_audit(conn, AuditEvent(old.id, now, actor, verb, details))
            return new

    async def _answer(
        self,
        booking_id: str,
        studio_id: str,
        actor: str,
        answer: PartnerAnswer,
        reason: str = "",
    ) -> Booking:
        async with self.write_lock, self.engine.begin() as conn:
            await store.lock_booking(conn, booking_id)
            old = await store.get_booking(conn, booking_id)
            now = self.clock()
            new = after_answer(old, studio_id, answer, now, reason)
            if new is old:
                return old  # answering twice the same way changes nothing
            if old.answer_of(studio_id) is PartnerAnswer.DECLINED:
                # Taking back a decline: the studio's time was free meanwhile and may have
                # been booked since.
                await conflicts.lock_studios(conn, [studio_id])
                in_the_way = await conflicts.find_conflicts(conn, new)
                if in_the_way:
                    raise Conflict(in_the_way)
            await store.update_booking(conn, new)
            details: dict[str, object] = {"studio": studio_id, "status": new.status.value}
            if reason:
                details["reason"] = reason
            action = "confirmed" if answer is PartnerAnswer.ACCEPTED else "declined"
            await store.append_audit(conn, AuditEvent(old.id, now, actor, action, details))
        # A studio that declined leaves an open room at once (one that takes its decline back
        # may join again), as after an edit of the studios.
        for listener in self._edit_listeners:
            await listener(new)
        return new


def parse_studio(data: object) -> Studio:
    """Validate a new studio's fields."""
    if not isinstance(data, dict):
        raise ValidationError("The body must be a JSON object")
    errors: dict[str, str] = {}
    values: dict[str, str] = {}
    for name, limit in (
        ("id", 63),
        ("name", 200),
        ("organisation", 200),
        ("city", 100),
        ("timezone", 64),
    ):
        value = data.get(name)
        if not isinstance(value, str) or not value.strip():
            errors[name] = "is required"
        elif len(value) > limit:
            errors[name] = f"must be at most {limit} characters"
        else:
            values[name] = value.strip()
    if "id" in values and not STUDIO_ID.match(values["id"]):
        errors["id"] = "use lower-case letters, digits and dashes, such as trend-baku"
    if "timezone" in values and not known_zone(values["timezone"]):
        errors["timezone"] = "must be an IANA zone such as Asia/Baku"
    if errors:
        raise ValidationError("The studio has problems in: " + ", ".join(sorted(errors)), errors)
    return Studio(**values)
