"""An edit of an open booking's studios reaches its live room at once (issue 12).

Real aiortc studios join the real app over HTTP. A studio taken out of the booking while it is
connected is cut off by the server, leaves its partners' pictures, the program and the mix,
stops its ISO (what it recorded is kept and finalized with the others) and cannot come back:
its link says why. A studio put in during the line check joins with its new link and sees the
others at once; each partner sees it once it offers again (as the console does when its tally
names the new partner), and it takes its place in the program.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from live_studios import Link, Studio, book, join_links, live_pair, offer_of, sees
from webtools import ClockedApp, assert_error

from bridge.room import Room
from harness.waiting import eventually
from web.services import BOOKINGS, LIVE

# WebRTC on the test veth pair. The edit is stored the same way in both databases (their
# part is tested with the booking API); the live side is what is tested here: one is enough.
pytestmark = [
    pytest.mark.usefixtures("test_network"),
    pytest.mark.parametrize("backend", ["sqlite"]),
]

SHADES = {"trend": 40, "dha": 200, "kabar": 120}  # each camera's own shade, told apart by sees()


async def _edit_studios(c: ClockedApp, booking_id: str, studio_ids: list[str]) -> None:
    resp = await c.client.patch(
        f"/api/bookings/{booking_id}", json={"studios": studio_ids}, headers=c.headers["producer"]
    )
    assert resp.status == 200, await resp.text()


async def _recording(c: ClockedApp, booking_id: str, verb: str) -> None:
    resp = await c.client.post(
        f"/api/bookings/{booking_id}/recording/{verb}", headers=c.headers["producer"]
    )
    assert resp.status == 200, await resp.text()


async def _tally(c: ClockedApp, link: Link) -> dict[str, Any]:
    resp = await c.client.get(f"/join/{link.booking}/{link.studio}/state?token={link.token}")
    assert resp.status == 200, await resp.text()
    return dict(await resp.json())


async def _in_program(room: Room, *studio_ids: str) -> bool:
    """Whether each studio's picture has reached the program (it has a newest frame there)."""
    return all([await room.thumbnail(s) is not None for s in studio_ids])


async def _finished_isos(c: ClockedApp, booking_id: str) -> set[str]:
    """The studios whose own recording (ISO) was finalized, by the booking's audit log."""
    resp = await c.client.get(f"/api/bookings/{booking_id}/audit", headers=c.headers["producer"])
    events = (await resp.json())["events"]
    return {
        e["details"]["studio"]
        for e in events
        if e["action"] == "recording finished" and e["details"].get("file") == "iso"
    }


def _iso_written(room: Room, studio_id: str) -> bool:
    iso = room.isos.get(studio_id)
    return iso is not None and iso.recorder is not None and iso.recorder.counters.packets >= 15


async def _three_joined(
    c: ClockedApp, studios: Callable[..., Studio]
) -> tuple[dict[str, Link], tuple[Studio, Studio, Studio]]:
    """A booking of Trend, DHA and Kabar in its line check, all three joined and seeing DHA
    (and DHA seeing Trend): the join links, and the studios in that order."""
    ln = await book(c, c.clock() + timedelta(minutes=5), ("trend", "dha", "kabar"))
    joined = {sid: studios(sid, SHADES[sid], partners=2) for sid in ln}
    for sid, studio in joined.items():
        await studio.join(c.client, ln[sid])
    trend, dha, kabar = joined["trend"], joined["dha"], joined["kabar"]
    await sees(trend, dha)
    await sees(dha, trend)
    await sees(kabar, dha)
    return ln, (trend, dha, kabar)


async def test_a_studio_removed_while_connected_is_cut_off_at_once_and_told_why(
    clocked: ClockedApp, studios: Callable[..., Studio]
) -> None:
    c = clocked
    ln, (trend, dha, kabar) = await _three_joined(c, studios)
    booking_id = ln["trend"].booking
    room = c.app[LIVE].get(booking_id)
    assert room is not None and room.production is not None
    await eventually(
        lambda: _in_program(room, "trend", "dha", "kabar"), message="all three in the program"
    )
    await _recording(c, booking_id, "start")  # by hand, during the line check
    await eventually(lambda: _iso_written(room, "dha"), message="DHA's own feed recorded")
    before = await c.app[BOOKINGS].get(booking_id)

    await _edit_studios(c, booking_id, ["trend", "kabar"])
    # By the time the edit is answered, the room has let DHA go: its connection, its place in
    # the program and the mix, its ISO.
    assert [s.id for s in room.spec.studios] == ["trend", "kabar"]
    assert set(room.sessions) == {"trend", "kabar"}
    assert room.production.studio_ids == ["trend", "kabar"]
    assert set(room.production.audio.mixer.channels) == {"trend", "kabar"}
    assert set(room.isos) == {"trend", "kabar"}
    assert room.production.on_program("dha") is False
    # The booking as an autopilot tick may have read it just before the edit changes nothing.
    assert await c.app[LIVE].open(before) is room
    assert [s.id for s in room.spec.studios] == ["trend", "kabar"]
    # The server closed DHA's peer connection: its partners' tracks end at its side.
    await eventually(
        lambda: dha.pc.connectionState in ("failed", "closed"),
        message=lambda: f"DHA's connection closed by the server ({dha.pc.connectionState})",
    )
    # Its partners get none of its media any more (what was on its way arrives in the first
    # stretch), while they go on seeing each other.
    for viewer in (trend, kabar):
        await viewer.fresh(f"{'kabar' if viewer is trend else 'trend'}/video", frames=15)
    frozen = {v.studio_id: len(v.seen["dha/video"]) for v in (trend, kabar)}
    await sees(trend, kabar)
    await sees(kabar, trend)
    await trend.fresh("kabar/video", frames=30)
    await kabar.fresh("trend/video", frames=30)
    assert {v.studio_id: len(v.seen["dha/video"]) for v in (trend, kabar)} == frozen
    # It cannot come back, and its link says why: the console's offer and tally poll, the page.
    offer = await offer_of(("video", "sendrecv"), ("audio", "sendrecv"))
    resp = await c.client.post(ln["dha"].session(), json={"sdp": offer})
    error = await assert_error(resp, 403, "studio_removed")
    assert error["message"] == "This studio is no longer part of this booking"
    resp = await c.client.get(f"/join/{booking_id}/dha/state?token={ln['dha'].token}")
    await assert_error(resp, 403, "studio_removed")
    resp = await c.client.get(f"/join/{booking_id}/dha?token={ln['dha'].token}")
    assert resp.status == 403
    assert "This studio is no longer part of this booking" in await resp.text()
    assert "dha" not in room.sessions
    # The partners' tallies name their partners as they are now.
    assert [p["id"] for p in (await _tally(c, ln["trend"]))["partners"]] == ["kabar"]
    assert [p["id"] for p in (await _tally(c, ln["kabar"]))["partners"]] == ["trend"]
    # What DHA sent before it was removed is kept: its ISO is finalized with the others.
    await _recording(c, booking_id, "stop")
    finished: set[str] = set()

    async def all_three() -> bool:
        # Each studio's file is finalized and logged on its own: wait for all of them.
        finished.update(await _finished_isos(c, booking_id))
        return finished == {"trend", "dha", "kabar"}

    await eventually(
        all_three,
        timeout=30,
        message=lambda: f"every studio's recording finished in the audit log, not {finished}",
    )


async def test_a_studio_added_during_the_line_check_joins_is_relayed_and_composed(
    clocked: ClockedApp, studios: Callable[..., Studio]
) -> None:
    c = clocked
    ln, trend, dha = await live_pair(c, studios)
    booking_id = ln["trend"].booking
    room = c.app[LIVE].get(booking_id)
    assert room is not None and room.production is not None
    await _recording(c, booking_id, "start")

    await _edit_studios(c, booking_id, ["trend", "dha", "kabar"])
    assert [s.id for s in room.spec.studios] == ["trend", "dha", "kabar"]
    assert room.production.studio_ids == ["trend", "dha", "kabar"]
    # The newcomer joins by its new link and sees everyone at once.
    links = await join_links(c, booking_id)
    kabar = studios("kabar", SHADES["kabar"], partners=2)
    await kabar.join(c.client, links["kabar"])
    await sees(kabar, trend)
    await sees(kabar, dha)
    # The partners' tallies name it; each offers again with a receive pair for it (the
    # console does so by itself) and sees it, while the newcomer sees them on.
    for link in (ln["trend"], ln["dha"]):
        partners = [p["id"] for p in (await _tally(c, link))["partners"]]
        assert "kabar" in partners and link.studio not in partners
    again = {sid: studios(sid, SHADES[sid], partners=2) for sid in ("trend", "dha")}
    for sid, studio in again.items():
        await studio.join(c.client, ln[sid])
    for studio in again.values():
        await sees(studio, kabar)
        await sees(kabar, studio)
    await sees(again["trend"], again["dha"])
    # In the program: its picture in its own tile (auto: a grid of three), its sound in the mix.
    await eventually(lambda: _in_program(room, "kabar"), message="Kabar's picture in the program")
    assert room.production.on_program("kabar")
    assert room.production.engine.labels[2].startswith("Kabar")
    await eventually(
        lambda: room.audio_state()["kabar"].level_dbfs is not None,
        message="Kabar heard in the program's sound",
    )
    # And its own feed is recorded on the recording that was running when it was added.
    await eventually(lambda: _iso_written(room, "kabar"), message="Kabar's own feed recorded")
    await _recording(c, booking_id, "stop")
    finished: set[str] = set()

    async def all_three() -> bool:
        # Each studio's file is finalized and logged on its own: wait for all of them.
        finished.update(await _finished_isos(c, booking_id))
        return finished == {"trend", "dha", "kabar"}

    await eventually(
        all_three,
        timeout=30,
        message=lambda: f"every studio's recording finished in the audit log, not {finished}",
    )


async def test_a_studio_that_declines_during_the_line_check_leaves_and_its_link_says_why(
    clocked: ClockedApp, studios: Callable[..., Studio]
) -> None:
    """With three studios a decline leaves the booking waiting for the producer, the studio
    still listed in it; it once stayed in the room and its link went on working."""
    c = clocked
    ln, (trend, dha, kabar) = await _three_joined(c, studios)
    booking_id = ln["trend"].booking
    room = c.app[LIVE].get(booking_id)
    assert room is not None

    resp = await c.client.post(
        f"/api/bookings/{booking_id}/decline",
        json={"studio": "trend", "reason": "No crew tonight"},
        headers=c.headers["operator"],
    )
    assert resp.status == 200, await resp.text()
    booking = (await resp.json())["booking"]
    assert booking["status"] == "requested"  # the producer decides; Trend is still listed
    assert [s["id"] for s in booking["studios"]] == ["trend", "dha", "kabar"]
    # By the time the decline is answered, the room has let Trend go.
    assert [s.id for s in room.spec.studios] == ["dha", "kabar"]
    assert set(room.sessions) == {"dha", "kabar"}
    await eventually(
        lambda: trend.pc.connectionState in ("failed", "closed"),
        message=lambda: f"Trend's connection closed by the server ({trend.pc.connectionState})",
    )
    # Its link says why, with its own reason: offer, state poll, page (in the page's language).
    offer = await offer_of(("video", "sendrecv"), ("audio", "sendrecv"))
    resp = await c.client.post(ln["trend"].session(), json={"sdp": offer})
    error = await assert_error(resp, 403, "studio_declined")
    assert error["message"] == "This studio declined this telebridge: No crew tonight"
    assert error["reason"] == "No crew tonight"
    resp = await c.client.get(f"/join/{booking_id}/trend/state?token={ln['trend'].token}")
    await assert_error(resp, 403, "studio_declined")
    resp = await c.client.get(
        f"/join/{booking_id}/trend?token={ln['trend'].token}", headers={"Accept-Language": "ru"}
    )
    assert resp.status == 403
    assert "Эта студия отказалась от этого телемоста: No crew tonight" in await resp.text()
    assert [p["id"] for p in (await _tally(c, ln["dha"]))["partners"]] == ["kabar"]
    await sees(dha, kabar)  # the others go on

    # It takes its decline back: its link works again and it joins.
    resp = await c.client.post(
        f"/api/bookings/{booking_id}/confirm",
        json={"studio": "trend"},
        headers=c.headers["operator"],
    )
    assert resp.status == 200, await resp.text()
    assert {s.id for s in room.spec.studios} == {"trend", "dha", "kabar"}
    back = studios("trend", SHADES["trend"], partners=2)
    await back.join(c.client, ln["trend"])
    await sees(back, dha)
