"""The chat and the cues from a studio console, with its join link as the only credential:
what it reads, what it writes, and what a wrong link or a bad body gets."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from webtools import Client, assert_error, create

from web.access.joinlinks import join_token
from web.services import SIGNER

H = dict[str, dict[str, str]]


@pytest.fixture
def backend() -> str:
    """Storage is tested on both databases in tests/schedules."""
    return "sqlite"


def console(app: web.Application, booking_id: str, studio: str) -> str:
    return (
        f"/join/{booking_id}/{studio}/messages?token={join_token(app[SIGNER], booking_id, studio)}"
    )


async def test_a_console_reads_what_is_meant_for_its_studio_and_writes_back(
    app: web.Application, client: Client, headers: H
) -> None:
    booking = await create(client, headers["producer"], studios=["trend", "dha", "ansa"])
    bid = booking["id"]
    api = f"/api/bookings/{bid}/messages"
    producer = headers["producer"]
    for body in ({"text": "Two minutes"}, {"text": "Istanbul, mic 2", "to": "dha"}):
        assert (await client.post(api, json=body, headers=producer)).status == 201
    baku, istanbul = console(app, bid, "trend"), console(app, bid, "dha")

    async def texts(link: str, after: int = 0) -> list[Any]:
        resp = await client.get(f"{link}&after={after}")
        assert resp.status == 200, await resp.text()
        return [(m["from"], m["to"], m["text"]) for m in (await resp.json())["messages"]]

    assert await texts(baku) == [(None, None, "Two minutes")]
    assert await texts(istanbul) == [(None, None, "Two minutes"), (None, "dha", "Istanbul, mic 2")]

    to_all = await client.post(baku, json={"text": "Ready in Baku <ok>"})
    private = await client.post(baku, json={"text": "Guest is late", "to": "trend"})
    assert to_all.status == private.status == 201
    sent = (await private.json())["message"]
    assert (sent["from"], sent["to"], sent["author"]) == ("trend", "trend", "trend console")
    assert (None, None, "Two minutes") not in await texts(baku, after=2)
    assert ("trend", None, "Ready in Baku <ok>") in await texts(istanbul)
    assert ("trend", "trend", "Guest is late") not in await texts(istanbul)  # production's only
    everything = await (await client.get(api, headers=producer)).json()
    assert [m["text"] for m in everything["messages"]][-1] == "Guest is late"


async def test_console_refusals(app: web.Application, client: Client, headers: H) -> None:
    booking = await create(client, headers["producer"])
    bid = booking["id"]
    baku = console(app, bid, "trend")
    wrong = console(app, bid, "dha").replace("/dha/", "/trend/")  # Istanbul's token on Baku
    await assert_error(await client.get(wrong), 403, "invalid_link")
    await assert_error(await client.post(wrong, json={"text": "hi"}), 403, "invalid_link")
    await assert_error(await client.get(baku.split("?")[0]), 403, "invalid_link")
    await assert_error(
        await client.post(baku, json={"text": "psst", "to": "dha"}), 422, "invalid", fields=["to"]
    )
    await assert_error(await client.post(baku, json={"text": " "}), 422, "invalid", fields=["text"])
    await assert_error(await client.get(f"{baku}&after=-3"), 400, "invalid")
    stranger = console(app, bid, "ansa")  # a valid signature for a studio not in the booking
    await assert_error(await client.post(stranger, json={"text": "hi"}), 404, "not_found")
    cue = await client.post(
        f"/api/bookings/{bid}/cues",
        json={"studio": "dha", "cue": "wrap_up"},
        headers=headers["producer"],
    )
    cue_id = (await cue.json())["cue"]["id"]
    ack = baku.replace("/messages?", f"/cues/{cue_id}/ack?")
    await assert_error(await client.post(ack), 404, "not_found")  # Istanbul's cue, not Baku's
    assert (await client.get(baku)).status == 200
