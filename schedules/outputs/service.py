"""Adding and removing a booking's outputs: validated, serialized with the booking's other
writes, and audited with their secrets masked."""

from __future__ import annotations

import asyncio
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from schedules import store
from schedules.errors import InvalidTransition, ValidationError
from schedules.model import AuditEvent, BookingStatus
from schedules.outputs import store as output_store
from schedules.outputs.parse import parse_output
from schedules.outputs.record import Output, OutputKind, masked_target
from schedules.service import Clock, new_id

MAX_OUTPUTS = 12  # per booking: more would be a mistake, and each costs the server a process
# A booking that is over, called off or refused takes no new outputs.
FINAL = frozenset({BookingStatus.CANCELLED, BookingStatus.DECLINED, BookingStatus.COMPLETED})


class OutputService:
    """The outputs of bookings on the booking service's database, under its write lock."""

    def __init__(self, engine: AsyncEngine, clock: Clock, write_lock: asyncio.Lock) -> None:
        self.engine = engine
        self.clock = clock
        self._write_lock = write_lock

    async def list(self, booking_id: str) -> list[Output]:
        """The booking's outputs (NotFound for an unknown booking)."""
        async with self.engine.connect() as conn:
            await store.get_booking(conn, booking_id)
            return await output_store.outputs_of(conn, booking_id)

    async def get(self, booking_id: str, output_id: str) -> Output:
        """One output of the booking, or NotFound."""
        async with self.engine.connect() as conn:
            return await output_store.get_output(conn, booking_id, output_id)

    async def add(self, booking_id: str, data: object, actor: str) -> Output:
        """Validate and store a new output of the booking."""
        draft = parse_output(data)
        async with self._write_lock, self.engine.begin() as conn:
            await store.lock_booking(conn, booking_id)
            booking = await store.get_booking(conn, booking_id)
            if booking.status in FINAL:
                raise InvalidTransition(booking.status.value, "add an output to")
            existing = await output_store.outputs_of(conn, booking_id)
            if len(existing) >= MAX_OUTPUTS:
                problem = f"a booking has at most {MAX_OUTPUTS} outputs"
                raise ValidationError(f"kind: {problem}", {"kind": problem})
            if draft.kind is OutputKind.HLS and any(o.kind is OutputKind.HLS for o in existing):
                problem = "this booking already has its HLS output"
                raise ValidationError(f"kind: {problem}", {"kind": problem})
            now = self.clock()
            output = Output(
                kind=draft.kind,
                name=draft.name,
                url=draft.url,
                key=draft.key,
                passphrase=draft.passphrase,
                latency_ms=draft.latency_ms,
                id=new_id(),
                booking_id=booking_id,
                created_by=actor,
                created_at=now,
            )
            await output_store.insert_output(conn, output, len(existing))
            await store.append_audit(conn, _audit(output, actor, "output added", now))
            return output

    async def remove(self, booking_id: str, output_id: str, actor: str) -> Output:
        """Remove an output of the booking; returns what it was."""
        async with self._write_lock, self.engine.begin() as conn:
            await store.lock_booking(conn, booking_id)
            output = await output_store.get_output(conn, booking_id, output_id)
            await output_store.delete_output(conn, booking_id, output_id)
            await store.append_audit(conn, _audit(output, actor, "output removed", self.clock()))
            return output


def _audit(output: Output, actor: str, action: str, at: datetime) -> AuditEvent:
    details: dict[str, object] = {
        "output": output.id,
        "kind": output.kind.value,
        "name": output.name,
    }
    if output.kind is not OutputKind.HLS:  # HLS goes nowhere else: its page is the booking's
        details["target"] = masked_target(output)
    return AuditEvent(output.booking_id, at, actor, action, details)
