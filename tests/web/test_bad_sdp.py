"""Broken SDP offers from join-token holders, against the real app and real aiortc studios.

Issue 12: two of about 250 mutations of a real offer answered 500 (aiortc's ValueError and
AttributeError), and the clean-up of the half-made connection failed too. Every offer the
bridge cannot answer is a 400 `bad_offer` with the reason; the room is untouched: the two
studios live before go on seeing each other, and a third studio still joins afterwards.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from live_studios import Link, Studio, book, sees
from sdp_mutations import Offer, mutations
from webtools import Client, ClockedApp, assert_error

from bridge.room import Room
from harness.waiting import eventually
from web.services import LIVE

# The database plays no part here: one backend is enough.
pytestmark = [
    pytest.mark.usefixtures("test_network"),
    pytest.mark.parametrize("backend", ["sqlite"]),
]
SDP = "application/sdp"
LIVE_PAIR = ("trend", "dha")
# Studios of the same booking that send the broken offers, each its share of the table, one
# offer at a time: a studio's next offer replaces its last answered one, as a reload does.
SENDERS = ("kabar", "uza", "aa", "ansa")


async def offer_answered(client: Client, link: Link, offer: Offer) -> bool:
    """Send one offer (text as the console's JSON, bytes over WHIP): True when answered, and
    otherwise it must be the one 400 with a reason."""
    if isinstance(offer, str):
        resp = await client.post(link.session(), json={"sdp": offer})
        answered = 200
    else:
        headers = {"Authorization": f"Bearer {link.token}", "Content-Type": SDP}
        resp = await client.post(link.whip, data=offer, headers=headers)
        answered = 201
    if resp.status == answered:
        await resp.read()
        return True
    error = await assert_error(resp, 400, "bad_offer")
    assert len(error["message"]) > len("The offer"), error  # says what is wrong
    return False


class LoopLag:
    """How late the event loop runs a timer, sampled while the table is sent.

    The test's studios share the server's loop, and aioice gives a consent check 0.5 s before
    it counts a failure (six in a row drop the connection): each answered offer holds the loop
    for a while on a loaded machine, so the table waits for the loop to be calm between offers
    instead of starving the live pair it is about to check.
    """

    SAMPLE_S = 0.02
    CALM_S = 0.25  # calm: no recent timer ran later than half of aioice's 0.5 s

    def __init__(self) -> None:
        self.recent: deque[float] = deque(maxlen=10)
        self.worst = 0.0
        self._task: asyncio.Task[None] | None = None

    def __enter__(self) -> LoopLag:
        self._task = asyncio.ensure_future(self._sample())
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _sample(self) -> None:
        while True:
            start = time.monotonic()
            await asyncio.sleep(self.SAMPLE_S)
            lag = time.monotonic() - start - self.SAMPLE_S
            self.recent.append(lag)
            self.worst = max(self.worst, lag)

    def calm(self) -> bool:
        return len(self.recent) == self.recent.maxlen and max(self.recent) < self.CALM_S


async def send_table(
    client: Client, table: list[tuple[str, Offer]], links: list[Link]
) -> tuple[list[str], list[str], float]:
    """Every case of the table, spread over the links (each sends its share in turn);
    the ids of the answered cases, every failure by case id, and the loop's worst lag."""
    answered: list[str] = []
    failures: list[str] = []

    async def lane(link: Link, cases: list[tuple[str, Offer]], lag: LoopLag) -> None:
        for name, offer in cases:
            await eventually(lag.calm, timeout=60, message="the event loop calm again")
            try:
                if await offer_answered(client, link, offer):
                    answered.append(name)
            except AssertionError as exc:
                failures.append(f"[{name}] {exc}")

    n = len(links)
    with LoopLag() as lag:
        await asyncio.gather(*(lane(link, table[i::n], lag) for i, link in enumerate(links)))
    return answered, failures, lag.worst


async def program_blocks(room: Room, later_than: int = -1) -> int | None:
    """The blocks of sound the room's program has mixed (None until more than `later_than`).

    Its sound, not its picture: nothing here uses the program, so its picture stops a linger
    after the room opened (bridge.program.demand); the sound always runs."""
    health = await room.live_snapshot()
    assert health.program is not None, "the room has no program"
    blocks = health.program.audio_blocks
    return blocks if blocks > later_than else None


async def test_every_broken_offer_is_a_400_and_the_room_goes_on(
    clocked: ClockedApp, studios: Callable[..., Studio], caplog: pytest.LogCaptureFixture
) -> None:
    c = clocked
    ln = await book(c, c.clock() + timedelta(minutes=5), LIVE_PAIR + SENDERS)
    partners = len(LIVE_PAIR + SENDERS) - 1
    trend = studios("trend", 40, partners=partners)
    dha = studios("dha", 200, partners=partners)
    await trend.join(c.client, ln["trend"])
    await dha.join(c.client, ln["dha"])
    await sees(trend, dha)
    await sees(dha, trend)
    room = c.app[LIVE].get(ln["trend"].booking)
    assert room is not None
    before = {s: v.session_id for s, v in room.sessions.items()}
    # A real peer's offer, with receive pairs for two partners (not five: each answered
    # mutation then costs the server less, and the table is as thorough).
    real = await studios("kabar", 120, partners=2).offer()
    table = mutations(real)
    assert len(table) >= 250, len(table)

    caplog.set_level(logging.WARNING, logger="asyncio")
    started = time.monotonic()
    answered, failures, worst = await send_table(c.client, table, [ln[s] for s in SENDERS])
    print(
        f"{len(table)} broken offers in {time.monotonic() - started:.0f} s: "
        f"{len(answered)} answered, {len(table) - len(answered)} refused; "
        f"the loop ran a timer {worst:.2f} s late at worst"
    )
    assert not failures, f"{len(failures)} of {len(table)} cases failed:\n" + "\n".join(failures)
    # Nothing went wrong behind the answers either: no task of a refused connection failed.
    leaked = [
        message
        for message in (r.getMessage() for r in caplog.records if r.name == "asyncio")
        if not _replaced_while_connecting(message)
    ]
    assert not leaked, leaked[:5]

    # The room went on: the live pair kept its connections and still sees each other, and
    # the program is still being made.
    assert {s: getattr(room.sessions.get(s), "session_id", None) for s in LIVE_PAIR} == before
    await sees(trend, dha)
    await sees(dha, trend)
    start = await program_blocks(room) or 0

    # Any: mypy infers no T for harness.waiting.eventually from a coroutine of int | None.
    async def a_second_more() -> Any:
        return await program_blocks(room, later_than=start + 47)

    await eventually(a_second_more, message="a second more of the program's sound")
    # And a valid studio still joins where the broken offers came from, and is seen and sees.
    kabar = studios("kabar", 120, partners=partners)
    await kabar.join(c.client, ln["kabar"])
    for viewer, source in ((kabar, trend), (kabar, dha), (trend, kabar), (dha, kabar)):
        await sees(viewer, source, within=5)


async def test_the_real_offer_is_answered(
    clocked: ClockedApp, studios: Callable[..., Studio]
) -> None:
    """The table's source offer itself is fine: each case's refusal is the mutation's doing."""
    c = clocked
    ln = await book(c, c.clock() + timedelta(minutes=5), ("trend", "kabar"))
    real = await studios("kabar", 120).offer()
    assert await offer_answered(c.client, ln["kabar"], real)
    assert await offer_answered(c.client, ln["kabar"], real.encode())  # and over WHIP


def _replaced_while_connecting(message: str) -> bool:
    """aiortc's own connect task, left unawaited, failing because the session was closed while
    its ICE was starting: each sender's next offer replaces its last answered session, and a
    replaced session closes at once. Harmless (the new session is the studio's), and aiortc's
    to retrieve; a per-studio lock in Room.connect that lets a session's ICE start before it
    is replaced would avoid it (not done yet). Two forms: its ICE transport closed under it, or
    its transceiver's transport already gone when it looked."""
    return "RTCPeerConnection.__connect" in message and (
        "RTCIceTransport is closed" in message
        or "'NoneType' object has no attribute 'transport'" in message
    )
