"""Lifecycle: the transition table, the partners' answers, edits, reschedules and the audit log."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from schedules.errors import Conflict, InvalidTransition, ValidationError
from schedules.model import BookingStatus, PartnerAnswer
from schedules.rules.lifecycle import TRANSITIONS, Action, allowed_actions, next_status

R, C, L, D, X, F = (
    BookingStatus.REQUESTED,
    BookingStatus.CONFIRMED,
    BookingStatus.LIVE,
    BookingStatus.DECLINED,
    BookingStatus.CANCELLED,
    BookingStatus.COMPLETED,
)
A = Action

# Written out in full on purpose: a change to lifecycle.TRANSITIONS must change this test too.
# Rows: from-status; columns: confirm, decline, withdraw (one of 3+ studios declined), leave
# out (the producer goes on without it), cancel, reschedule, go live, complete.
EXPECTED = {
    #     CONFIRM DECLINE WITHDRAW LEAVE_OUT CANCEL RESCHEDULE GO_LIVE COMPLETE
    R: (C, D, R, R, X, R, None, None),
    C: (None, D, R, C, X, R, L, None),
    D: (None, None, None, None, X, R, None, None),
    L: (None, None, None, None, None, None, None, F),
    F: (None, None, None, None, None, None, None, None),
    X: (None, None, None, None, None, None, None, None),
}
COLUMNS = (
    A.CONFIRM,
    A.DECLINE,
    A.WITHDRAW,
    A.LEAVE_OUT,
    A.CANCEL,
    A.RESCHEDULE,
    A.GO_LIVE,
    A.COMPLETE,
)


def test_table_covers_every_status_and_action():
    assert set(EXPECTED) == set(BookingStatus) == set(TRANSITIONS)
    assert set(COLUMNS) == set(Action)


@pytest.mark.parametrize(
    ("status", "action", "expected"),
    [
        pytest.param(s, a, EXPECTED[s][i], id=f"{s.value} x {a.value}")
        for s in BookingStatus
        for i, a in enumerate(COLUMNS)
    ],
)
def test_transition_table(status, action, expected):
    if expected is None:
        assert action not in allowed_actions(status)
        with pytest.raises(InvalidTransition) as caught:
            next_status(status, action)
        assert str(caught.value) == f'Cannot {action.value} a booking whose status is "{status}"'
        assert (caught.value.status, caught.value.action) == (status.value, action.value)
    else:
        assert action in allowed_actions(status)
        assert next_status(status, action) is expected


@pytest.mark.parametrize("status", list(BookingStatus), ids=str)
def test_no_transitions_beyond_the_expected_table(status):
    expected = {a: EXPECTED[status][i] for i, a in enumerate(COLUMNS) if EXPECTED[status][i]}
    assert TRANSITIONS[status] == expected


THREE = ["trend", "dha", "kabar"]


async def test_confirmed_only_when_every_studio_confirmed(service, book, clock):
    booking = await book(studios=THREE)
    for i, studio_id in enumerate(THREE):
        clock.advance(minutes=1)
        booking = await service.confirm(booking.id, studio_id, f"op-{studio_id}")
        assert booking.answer_of(studio_id) is PartnerAnswer.ACCEPTED
        assert booking.status is (C if i == len(THREE) - 1 else R)
        assert booking.sequence == 0  # an answer is not a revision of the booking
    stored = await service.get(booking.id)
    assert stored.status is C
    assert [s.answered_at for s in stored.studios] == [
        datetime(2026, 11, 20, 12, m, tzinfo=UTC) for m in (1, 2, 3)
    ]
    # Answering twice the same way changes nothing.
    assert await service.confirm(booking.id, "dha", "op-dha") == stored


@pytest.mark.parametrize("confirmed_first", [False, True], ids=["from requested", "from confirmed"])
async def test_decline_declines_the_booking(service, book, confirmed_first):
    booking = await book()
    if confirmed_first:
        await service.confirm(booking.id, "trend", "op-trend")
        assert (await service.confirm(booking.id, "dha", "op-dha")).status is C
    declined = await service.decline(booking.id, "dha", "op-dha", "crew ill")
    assert declined.status is D
    assert declined.answer_of("dha") is PartnerAnswer.DECLINED
    assert declined.sequence == booking.sequence + 1  # calendars must see it cancelled
    audit = await service.audit(booking.id)
    assert audit[-1].action == "declined"
    assert audit[-1].details == {"studio": "dha", "status": "declined", "reason": "crew ill"}


async def test_cancel_go_live_complete(service, book):
    first = await book()
    cancelled = await service.cancel(first.id, "producer", "no story")
    assert cancelled.status is X
    assert cancelled.sequence == 1  # calendars must see the cancellation as a new revision

    second = await book(starts_at="2026-12-02T14:00:00Z", ends_at="2026-12-02T15:00:00Z")
    await service.confirm(second.id, "trend", "op-trend")
    await service.confirm(second.id, "dha", "op-dha")
    live = await service.go_live(second.id, "autopilot")
    assert live.status is L
    done = await service.complete(second.id, "autopilot")
    assert done.status is F
    assert (await service.get(second.id)).status is F


async def _to(service, booking_id, status):
    """Walk a fresh (requested) booking of trend + dha to `status` through the service."""
    if status is R:
        return
    if status is D:
        await service.decline(booking_id, "dha", "op-dha")
        return
    if status is X:
        await service.cancel(booking_id, "producer")
        return
    await service.confirm(booking_id, "trend", "op-trend")
    await service.confirm(booking_id, "dha", "op-dha")
    if status in (L, F):
        await service.go_live(booking_id, "autopilot")
    if status is F:
        await service.complete(booking_id, "autopilot")


# (status to reach, the illegal step, the verb in the message)
ILLEGAL = [
    pytest.param(R, "go_live", "go live", id="go live while requested"),
    pytest.param(R, "complete", "complete", id="complete while requested"),
    pytest.param(C, "complete", "complete", id="complete while confirmed"),
    pytest.param(D, "go_live", "go live", id="go live while declined"),
    pytest.param(D, "confirm", "confirm", id="confirm while declined"),
    pytest.param(D, "decline", "decline", id="decline while declined"),
    pytest.param(L, "cancel", "cancel", id="cancel while live"),
    pytest.param(L, "confirm", "confirm", id="confirm while live"),
    pytest.param(L, "update", "edit", id="edit while live"),
    pytest.param(L, "go_live", "go live", id="go live twice"),
    pytest.param(F, "cancel", "cancel", id="cancel when completed"),
    pytest.param(F, "update", "edit", id="edit when completed"),
    pytest.param(X, "cancel", "cancel", id="cancel twice"),
    pytest.param(X, "confirm", "confirm", id="confirm when cancelled"),
    pytest.param(X, "decline", "decline", id="decline when cancelled"),
    pytest.param(X, "update", "edit", id="edit when cancelled"),
]


@pytest.mark.parametrize(("status", "step", "verb"), ILLEGAL)
async def test_illegal_steps(service, book, counts, status, step, verb):
    booking = await book()
    await _to(service, booking.id, status)
    stored = await service.get(booking.id)
    assert stored.status is status
    before = await counts()
    calls = {
        "go_live": lambda: service.go_live(booking.id, "autopilot"),
        "complete": lambda: service.complete(booking.id, "autopilot"),
        "cancel": lambda: service.cancel(booking.id, "producer"),
        "confirm": lambda: service.confirm(booking.id, "trend", "op-trend"),
        "decline": lambda: service.decline(booking.id, "trend", "op-trend"),
        "update": lambda: service.update(booking.id, {"title": "New title"}, "producer"),
    }
    with pytest.raises(InvalidTransition) as caught:
        await calls[step]()
    assert str(caught.value) == f'Cannot {verb} a booking whose status is "{status.value}"'
    assert await service.get(booking.id) == stored
    assert await counts() == before


async def test_answer_from_a_studio_outside_the_booking(service, book):
    booking = await book()
    with pytest.raises(ValidationError) as caught:
        await service.confirm(booking.id, "ansa", "op-ansa")
    assert set(caught.value.fields) == {"studio"}


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param(
            {"starts_at": "2026-12-01T16:00:00Z", "ends_at": "2026-12-01T17:00:00Z"}, id="new start"
        ),
        pytest.param({"ends_at": "2026-12-01T15:30:00Z"}, id="longer"),
        pytest.param({"setup_minutes": 30}, id="longer line check"),
        pytest.param({"studios": ["trend", "dha", "ansa"]}, id="another studio"),
    ],
)
async def test_reschedule_asks_every_studio_again(service, book, clock, changes):
    booking = await book()
    await service.confirm(booking.id, "trend", "op-trend")
    assert (await service.confirm(booking.id, "dha", "op-dha")).status is C
    clock.advance(hours=1)
    moved = await service.update(booking.id, changes, "producer")
    assert moved.status is R
    assert moved.sequence == 1
    assert moved.updated_at == clock.now
    assert all(s.answer is PartnerAnswer.PENDING and s.answered_at is None for s in moved.studios)
    assert await service.get(booking.id) == moved
    assert (await service.audit(booking.id))[-1].action == "rescheduled"


async def test_reschedule_of_a_declined_booking_asks_again(service, book):
    booking = await book()
    await service.decline(booking.id, "dha", "op-dha")
    moved = await service.update(booking.id, {"studios": ["trend", "aa"]}, "producer")
    assert moved.status is R
    assert [(s.studio_id, s.answer) for s in moved.studios] == [
        ("trend", PartnerAnswer.PENDING),
        ("aa", PartnerAnswer.PENDING),
    ]


async def test_reschedule_onto_another_booking_is_a_conflict(service, book, counts):
    other = await book(
        title="Bosphorus noon",
        studios=["dha", "aa"],
        starts_at="2026-12-01T09:00:00Z",
        ends_at="2026-12-01T10:00:00Z",
    )
    booking = await book()
    await service.confirm(booking.id, "trend", "op-trend")
    stored = await service.get(booking.id)
    before = await counts()
    with pytest.raises(Conflict) as caught:
        # 12:30 in Baku is 08:30 UTC: the line check and the show overlap the other booking.
        await service.update(
            booking.id,
            {"starts_at": "2026-12-01T12:30:00+04:00", "ends_at": "2026-12-01T13:30:00+04:00"},
            "producer",
        )
    assert [(c.booking_id, c.studio_id) for c in caught.value.conflicts] == [(other.id, "dha")]
    assert await service.get(booking.id) == stored
    assert await counts() == before


async def test_reschedule_may_overlap_its_own_old_window(service, book):
    booking = await book()
    moved = await service.update(
        booking.id,
        {"starts_at": "2026-12-01T14:30:00Z", "ends_at": "2026-12-01T15:30:00Z"},
        "producer",
    )
    assert moved.starts_at == datetime(2026, 12, 1, 14, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"title": "Caspian evening"}, id="title"),
        pytest.param({"notes": "Bring the Azerbaijani flag"}, id="notes"),
        pytest.param({"layout": "grid", "record": False}, id="layout and record"),
    ],
)
async def test_edit_without_reschedule_keeps_confirmations(service, book, changes):
    booking = await book()
    await service.confirm(booking.id, "trend", "op-trend")
    confirmed = await service.confirm(booking.id, "dha", "op-dha")
    edited = await service.update(booking.id, changes, "producer")
    assert edited.status is C
    assert edited.sequence == 1
    assert edited.studios == confirmed.studios
    audit = await service.audit(booking.id)
    assert audit[-1].action == "edited"
    assert set(audit[-1].details) == set(changes)


async def test_edit_that_changes_nothing_is_not_a_revision(service, book):
    booking = await book()
    assert await service.update(booking.id, {"title": "Caspian  morning"}, "producer") == booking
    assert [e.action for e in await service.audit(booking.id)] == ["created"]


async def test_audit_log_in_order_with_actors(service, book, clock):
    booking = await book(actor="leyla", studios=THREE)
    steps = [
        lambda: service.confirm(booking.id, "trend", "op-trend"),
        lambda: service.confirm(booking.id, "dha", "op-dha"),
        lambda: service.update(booking.id, {"title": "Caspian evening"}, "leyla"),
        lambda: service.confirm(booking.id, "kabar", "op-kabar"),
        lambda: service.update(
            booking.id,
            {"starts_at": "2026-12-01T16:00:00Z", "ends_at": "2026-12-01T17:00:00Z"},
            "emre",
        ),
        lambda: service.decline(booking.id, "kabar", "op-kabar", "studio flooded"),
        lambda: service.update(booking.id, {"studios": ["trend", "dha", "uza"]}, "leyla"),
        lambda: service.confirm(booking.id, "trend", "op-trend"),
        lambda: service.confirm(booking.id, "dha", "op-dha"),
        lambda: service.confirm(booking.id, "uza", "op-uza"),
        lambda: service.go_live(booking.id, "autopilot"),
        lambda: service.complete(booking.id, "autopilot"),
    ]
    for step in steps:
        clock.advance(minutes=5)
        await step()
    audit = await service.audit(booking.id)
    assert [(e.action, e.actor) for e in audit] == [
        ("created", "leyla"),
        ("confirmed", "op-trend"),
        ("confirmed", "op-dha"),
        ("edited", "leyla"),
        ("confirmed", "op-kabar"),
        ("rescheduled", "emre"),
        ("declined", "op-kabar"),
        ("rescheduled", "leyla"),
        ("confirmed", "op-trend"),
        ("confirmed", "op-dha"),
        ("confirmed", "op-uza"),
        ("went live", "autopilot"),
        ("completed", "autopilot"),
    ]
    assert [e.at for e in audit] == sorted(e.at for e in audit)
    assert audit[0].details["studios"] == THREE
    assert audit[3].details == {"title": ["Caspian morning", "Caspian evening"]}
    assert audit[5].details == {
        "starts_at": ["2026-12-01T14:00:00Z", "2026-12-01T16:00:00Z"],
        "ends_at": ["2026-12-01T15:00:00Z", "2026-12-01T17:00:00Z"],
    }
    assert audit[4].details["status"] == "confirmed"
    assert audit[-2].details == {"from": "confirmed", "to": "live"}
    final = await service.get(booking.id)
    # edited, rescheduled, declined (calendars show it cancelled), rescheduled: four revisions
    assert (final.status, final.sequence) == (F, 4)
