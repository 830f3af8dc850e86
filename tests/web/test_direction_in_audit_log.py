"""The booking's chat and cues are kept with it and shown in its audit log on the booking page:
as text (markup escaped, never run), and to each reader only what the API would show it."""

from __future__ import annotations

import re

import pytest
from markupsafe import escape
from webtools import Client, create

H = dict[str, dict[str, str]]
SCRIPT = '<script>alert("chat")</script> & <b>bold</b>'
IMAGE = "<img src=x onerror=alert(1)>"
PRIVATE = "Istanbul only: <i>mic 2</i>"


@pytest.fixture
def backend() -> str:
    """Storage is tested on both databases in tests/schedules."""
    return "sqlite"


async def page(client: Client, booking_id: str, headers: dict[str, str]) -> str:
    resp = await client.get(f"/bookings/{booking_id}", headers=headers)
    assert resp.status == 200, await resp.text()
    return await resp.text()


async def test_messages_and_cues_are_shown_as_text_to_whom_they_were_for(
    client: Client, headers: H
) -> None:
    booking = await create(client, headers["producer"])
    bid = booking["id"]
    producer = headers["producer"]
    for body in ({"text": SCRIPT}, {"text": PRIVATE, "to": "dha"}):
        resp = await client.post(f"/api/bookings/{bid}/messages", json=body, headers=producer)
        assert resp.status == 201, await resp.text()
    resp = await client.post(
        f"/api/bookings/{bid}/cues",
        json={"studio": "trend", "cue": "free", "text": IMAGE},
        headers=producer,
    )
    cue = (await resp.json())["cue"]
    resp = await client.post(
        f"/api/bookings/{bid}/cues/{cue['id']}/ack", headers=headers["operator"]
    )
    assert resp.status == 200, await resp.text()
    resp = await client.post(
        f"/api/bookings/{bid}/cues", json={"studio": "dha", "cue": "wrap_up"}, headers=producer
    )
    assert resp.status == 201, await resp.text()

    seen = await page(client, bid, producer)
    for text in (SCRIPT, PRIVATE, IMAGE):
        assert str(escape(text)) in seen, text  # shown, as text
        assert text not in seen, text  # never as markup
    assert 'id="audit-chat"' in seen and "WRAP UP" in seen
    assert re.search(r"acknowledged \d\d:\d\d \(operator-bot \(token\)\)", seen)
    assert "not acknowledged" in seen  # Istanbul has not seen its cue

    # Trend's operator: the message to everyone and its own cue; not Istanbul's private line
    # nor Istanbul's cue.
    operator = await page(client, bid, headers["operator"])
    assert str(escape(SCRIPT)) in operator and str(escape(IMAGE)) in operator
    assert str(escape(PRIVATE)) not in operator and "WRAP UP" not in operator

    # Viewers take no part in the chat: none of it on their page.
    viewer = await page(client, bid, headers["viewer"])
    assert 'id="audit-chat"' not in viewer
    assert str(escape(SCRIPT)) not in viewer
