"""Cues and chat over the API: who may send and read what, every refusal with its documented
status, markup kept as text, and every answer in the shape the API description gives."""

from __future__ import annotations

from typing import Any

from openapi_check import response_validator
from webtools import Client, assert_error, create

H = dict[str, dict[str, str]]
ONE = "/api/bookings/{booking_id}"


async def checked(client: Client, method: str, path: str, status: int, **kw: Any) -> Any:
    """Call the API; the answer has `status` and matches its schema in /api/openapi.json."""
    doc = await (await client.get("/api/openapi.json")).json()
    resp = await client.request(method, path, **kw)
    text = await resp.text()
    assert resp.status == status, f"{method} {path}: {resp.status} {text}"
    body = await resp.json()
    parts = path.split("?")[0].split("/")  # "", api, bookings, id, cues|messages[, id, ack]
    template = "/".join([ONE, parts[4], *(["{cue_id}", "ack"] if len(parts) > 5 else [])])
    validator = response_validator(doc, method, template, status, resp.content_type)
    errors = [e.message for e in validator.iter_errors(body)]
    assert not errors, errors
    return body


async def test_a_cue_reaches_its_studio_which_acknowledges_it(client: Client, headers: H) -> None:
    booking = await create(client, headers["producer"])
    bid = booking["id"]
    sent = await checked(
        client,
        "POST",
        f"/api/bookings/{bid}/cues",
        201,
        json={"studio": "trend", "cue": "ten_seconds"},
        headers=headers["producer"],
    )
    cue = sent["cue"]
    assert (cue["studio"], cue["cue"], cue["acknowledged_at"]) == ("trend", "ten_seconds", None)
    other = await checked(
        client,
        "POST",
        f"/api/bookings/{bid}/cues",
        201,
        json={"studio": "dha", "cue": "free", "text": "<i>Slow</i> down"},
        headers=headers["admin"],
    )
    assert other["cue"]["text"] == "<i>Slow</i> down"

    # Trend's operator sees only the cue to Trend, and acknowledges it; Istanbul's is not its.
    mine = await checked(
        client, "GET", f"/api/bookings/{bid}/cues", 200, headers=headers["operator"]
    )
    assert [c["id"] for c in mine["cues"]] == [cue["id"]]
    foreign = await client.post(
        f"/api/bookings/{bid}/cues/{other['cue']['id']}/ack", headers=headers["operator"]
    )
    await assert_error(foreign, 404, "not_found")
    acked = await checked(
        client,
        "POST",
        f"/api/bookings/{bid}/cues/{cue['id']}/ack",
        200,
        headers=headers["operator"],
    )
    assert acked["cue"]["acknowledged_by"] == "operator-bot (token)"
    everything = await checked(
        client, "GET", f"/api/bookings/{bid}/cues", 200, headers=headers["producer"]
    )
    assert [c["acknowledged_at"] is not None for c in everything["cues"]] == [True, False]


async def test_cue_refusals(client: Client, headers: H) -> None:
    booking = await create(client, headers["producer"])
    cues = f"/api/bookings/{booking['id']}/cues"
    producer = headers["producer"]
    for role in ("operator", "viewer"):
        refused = await client.post(
            cues, json={"studio": "trend", "cue": "stand_by"}, headers=headers[role]
        )
        await assert_error(refused, 403, "forbidden")
    await assert_error(
        await client.post(cues, json={"studio": "trend", "cue": "stand_by"}), 401, "unauthorized"
    )
    bad = await client.post(cues, json={"studio": "ansa", "cue": "dance"}, headers=producer)
    await assert_error(bad, 422, "invalid", fields=["studio", "cue"])
    await assert_error(
        await client.post(cues, data=b"{not json", headers=producer), 400, "invalid_json"
    )
    unknown = await client.post(
        "/api/bookings/nosuch/cues", json={"studio": "trend", "cue": "stand_by"}, headers=producer
    )
    await assert_error(unknown, 404, "not_found")
    await assert_error(
        await client.post(f"{cues}/1/ack", headers=producer), 403, "forbidden"
    )  # production does not acknowledge for a studio
    await assert_error(await client.get(cues, headers=headers["viewer"]), 403, "forbidden")
    await client.post(f"/api/bookings/{booking['id']}/cancel", json={}, headers=producer)
    over = await client.post(cues, json={"studio": "trend", "cue": "off_air"}, headers=producer)
    await assert_error(over, 409, "invalid_transition")


async def test_chat_to_everyone_and_privately(client: Client, headers: H) -> None:
    booking = await create(client, headers["producer"])
    messages = f"/api/bookings/{booking['id']}/messages"
    producer, operator = headers["producer"], headers["operator"]
    everyone = await checked(
        client, "POST", messages, 201, json={"text": "Two minutes"}, headers=producer
    )
    private = await checked(
        client,
        "POST",
        messages,
        201,
        json={"text": "<script>alert(1)</script> Istanbul, mic 2", "to": "dha"},
        headers=producer,
    )
    back = await checked(
        client,
        "POST",
        messages,
        201,
        json={"text": "Our guest is late", "to": "trend"},
        headers=operator,
    )
    assert back["message"]["from"] == "trend" and everyone["message"]["from"] is None
    assert private["message"]["text"] == "<script>alert(1)</script> Istanbul, mic 2"

    seen = await checked(client, "GET", messages, 200, headers=producer)
    assert [m["text"] for m in seen["messages"]] == [
        "Two minutes",
        "<script>alert(1)</script> Istanbul, mic 2",
        "Our guest is late",
    ]
    trend = await checked(client, "GET", messages, 200, headers=operator)
    assert [m["id"] for m in trend["messages"]] == [
        everyone["message"]["id"],
        back["message"]["id"],
    ]
    later = await checked(
        client,
        "GET",
        f"{messages}?after={everyone['message']['id']}",
        200,
        headers=operator,
    )
    assert [m["id"] for m in later["messages"]] == [back["message"]["id"]]


async def test_chat_refusals(client: Client, headers: H) -> None:
    booking = await create(client, headers["producer"])
    messages = f"/api/bookings/{booking['id']}/messages"
    producer = headers["producer"]
    for body, fields in (
        ({"text": ""}, ["text"]),
        ({"text": "x" * 2001}, ["text"]),
        ({"text": "a\x00b"}, ["text"]),
        ({"text": "hi", "to": "ansa"}, ["to"]),
        ({"text": "hi", "to": "dha", "from": "trend"}, ["from"]),
    ):
        await assert_error(
            await client.post(messages, json=body, headers=producer), 422, "invalid", fields=fields
        )
    whisper = await client.post(
        messages, json={"text": "psst", "to": "dha"}, headers=headers["operator"]
    )
    await assert_error(whisper, 422, "invalid", fields=["to"])
    for after in ("-1", "x", "1.5", "9" * 30):
        await assert_error(
            await client.get(messages, params={"after": after}, headers=producer), 400, "invalid"
        )
    await assert_error(await client.get(messages, headers=headers["viewer"]), 403, "forbidden")
    big = await client.post(messages, data=b"x" * (2 * 1024 * 1024), headers=producer)
    assert big.status == 413
    assert (await (await client.get(messages, headers=producer)).json())["messages"] == []


async def test_the_newest_cue_to_each_studio(client: Client, headers: H) -> None:
    """What the control room polls: one cue per studio, the newest, with its acknowledgement."""
    booking = await create(client, headers["producer"], studios=["trend", "dha", "ansa"])
    cues = f"/api/bookings/{booking['id']}/cues"
    producer = headers["producer"]
    sent = []
    for studio, cue in (("trend", "stand_by"), ("dha", "stand_by"), ("trend", "ten_seconds")):
        body = {"studio": studio, "cue": cue}
        sent.append((await checked(client, "POST", cues, 201, json=body, headers=producer))["cue"])
    latest = await checked(client, "GET", f"{cues}?latest=true", 200, headers=producer)
    assert [(c["studio"], c["cue"]) for c in latest["cues"]] == [
        ("dha", "stand_by"),
        ("trend", "ten_seconds"),
    ]
    await checked(client, "POST", f"{cues}/{sent[2]['id']}/ack", 200, headers=headers["operator"])
    mine = await checked(client, "GET", f"{cues}?latest=true", 200, headers=headers["operator"])
    assert [(c["id"], c["acknowledged_at"] is not None) for c in mine["cues"]] == [
        (sent[2]["id"], True)
    ]  # an operator: only its own studio's
    everything = await checked(client, "GET", f"{cues}?latest=false", 200, headers=producer)
    assert len(everything["cues"]) == 3
    for value in ("1", "yes", "TRUE", ""):
        resp = await client.get(cues, params={"latest": value}, headers=producer)
        await assert_error(resp, 400, "invalid")
    await assert_error(
        await client.get(f"{cues}?latest=true", headers=headers["viewer"]), 403, "forbidden"
    )
