"""A booking's live outputs over the API: who may manage them, every bad body refused by field,
and secrets that never come back (API, audit log, booking)."""

from __future__ import annotations

from typing import Any

from webtools import Client, assert_error, create, stored_state

from web.access.joinlinks import watch_token_matches
from web.services import SIGNER

H = dict[str, dict[str, str]]
KEY = "yt-key-5f3a-SECRET-9b1c"
PASSPHRASE = "correct-horse-battery"


async def _add(client: Client, booking_id: str, h: dict[str, str], body: Any) -> Any:
    resp = await client.post(f"/api/bookings/{booking_id}/outputs", json=body, headers=h)
    text = await resp.text()
    assert resp.status == 201, f"{resp.status} {text}"
    return (await resp.json())["output"]


async def test_outputs_are_added_listed_masked_and_removed(
    client: Client, headers: H, app: Any
) -> None:
    booking = await create(client, headers["producer"])
    bid = booking["id"]
    rtmp = await _add(
        client,
        bid,
        headers["producer"],
        {"kind": "rtmp", "name": "YouTube", "url": "rtmp://a.rtmp.youtube.com/live2", "key": KEY},
    )
    srt = await _add(
        client,
        bid,
        headers["admin"],
        {
            "kind": "srt",
            "name": "Playout",
            "url": "srt://playout.example:9000",
            "passphrase": PASSPHRASE,
            "latency_ms": 400,
        },
    )
    hls = await _add(client, bid, headers["producer"], {"kind": "hls", "name": "Web player"})
    listener = await _add(
        client, bid, headers["producer"], {"kind": "srt", "name": "Pull", "url": "srt://:9001"}
    )
    assert rtmp["target"] == "rtmp://a.rtmp.youtube.com/live2/••••"
    assert srt["target"] == "srt://playout.example:9000 (passphrase set)"
    assert (srt["latency_ms"], srt["listener"], listener["listener"]) == (400, False, True)
    assert hls["target"] == f"/live/{bid}/index.m3u8"
    assert all(o["state"] == "idle" for o in (rtmp, srt, hls, listener))

    # Everyone who may see the booking sees its outputs in order; nobody sees a secret.
    for role in ("producer", "viewer", "operator", "admin"):
        resp = await client.get(f"/api/bookings/{bid}/outputs", headers=headers[role])
        text = await resp.text()
        assert resp.status == 200, text
        assert [o["name"] for o in (await resp.json())["outputs"]] == [
            "YouTube",
            "Playout",
            "Web player",
            "Pull",
        ]
        assert KEY not in text and PASSPHRASE not in text
    resp = await client.get(f"/api/bookings/{bid}/audit", headers=headers["admin"])
    audit = await resp.text()
    added = [e["details"] for e in (await resp.json())["events"] if e["action"] == "output added"]
    assert [d.get("target") for d in added] == [rtmp["target"], srt["target"], None, "srt://:9001"]
    assert KEY not in audit and PASSPHRASE not in audit

    resp = await client.delete(
        f"/api/bookings/{bid}/outputs/{rtmp['id']}", headers=headers["producer"]
    )
    assert resp.status == 204
    resp = await client.get(f"/api/bookings/{bid}/outputs", headers=headers["producer"])
    assert [o["id"] for o in (await resp.json())["outputs"]] == [
        srt["id"],
        hls["id"],
        listener["id"],
    ]
    audit = await (await client.get(f"/api/bookings/{bid}/audit", headers=headers["admin"])).text()
    assert "output removed" in audit and KEY not in audit
    # Stored to be used: the secrets are in the database, and only there.
    stored = await stored_state(app)
    assert any(PASSPHRASE in str(row) for row in stored.get("booking_outputs", []))


async def test_only_producers_and_admins_manage_outputs(client: Client, headers: H) -> None:
    booking = await create(client, headers["producer"])
    bid = booking["id"]
    body = {"kind": "hls", "name": "Web"}
    for role in ("viewer", "operator"):
        resp = await client.post(f"/api/bookings/{bid}/outputs", json=body, headers=headers[role])
        error = await assert_error(resp, 403, "forbidden")
        assert "producers and admins" in error["message"]
    resp = await client.post(
        f"/api/bookings/{bid}/outputs", json=body, headers=headers["anonymous"]
    )
    assert resp.status == 401
    output = await _add(client, bid, headers["producer"], body)
    for path in (f"outputs/{output['id']}/start", f"outputs/{output['id']}/stop"):
        resp = await client.post(f"/api/bookings/{bid}/{path}", headers=headers["viewer"])
        await assert_error(resp, 403, "forbidden")
    resp = await client.delete(
        f"/api/bookings/{bid}/outputs/{output['id']}", headers=headers["viewer"]
    )
    await assert_error(resp, 403, "forbidden")


LONG_KEY = "k" * 513


BAD_BODIES: list[tuple[dict[str, Any], set[str]]] = [
    ({"kind": "rtmp", "name": "YT"}, {"url"}),
    ({"kind": "rtmp", "name": "YT", "url": "http://a.example/live"}, {"url"}),
    ({"kind": "rtmp", "name": "YT", "url": "rtmp://a.example"}, {"url"}),
    ({"kind": "rtmp", "name": "YT", "url": "rtmp:///live"}, {"url"}),
    ({"kind": "rtmp", "name": "YT", "url": "rtmp://a.example/live", "key": LONG_KEY}, {"key"}),
    ({"kind": "rtmp", "name": "YT", "url": "rtmp://a.example/live", "key": "a b"}, {"key"}),
    ({"kind": "rtmp", "name": "YT", "url": "rtmp://a.example/live", "key": 5}, {"key"}),
    ({"kind": "rtmp", "name": "YT", "url": "rtmp://a.example:99999/live"}, {"url"}),
    ({"kind": "srt", "name": "TV", "url": "srt://tv.example"}, {"url"}),
    ({"kind": "srt", "name": "TV", "url": "srt://:80"}, {"url"}),
    ({"kind": "srt", "name": "TV", "url": "srt://tv.example:9000?passphrase=x"}, {"url"}),
    (
        {"kind": "srt", "name": "TV", "url": "srt://tv.example:9000", "passphrase": "short"},
        {"passphrase"},
    ),
    (
        {"kind": "srt", "name": "TV", "url": "srt://tv.example:9000", "passphrase": "p" * 80},
        {"passphrase"},
    ),
    (
        {"kind": "srt", "name": "TV", "url": "srt://tv.example:9000", "latency_ms": 5},
        {"latency_ms"},
    ),
    (
        {"kind": "srt", "name": "TV", "url": "srt://tv.example:9000", "latency_ms": "400"},
        {"latency_ms"},
    ),
    (
        {"kind": "srt", "name": "TV", "url": "srt://tv.example:9000", "latency_ms": True},
        {"latency_ms"},
    ),
    (
        {
            "kind": "rtmp",
            "name": "YT",
            "url": "rtmp://a.example/live",
            "passphrase": "0123456789",
        },
        {"passphrase"},
    ),
    ({"kind": "hls", "name": "Web", "url": "https://cdn.example/x.m3u8"}, {"url"}),
    ({"kind": "hls", "name": "Web", "key": "abc"}, {"key"}),
    ({"kind": "webrtc", "name": "X"}, {"kind"}),
    ({"kind": None, "name": "X"}, {"kind"}),
    ({"name": "X"}, {"kind"}),
    ({"kind": "hls"}, {"name"}),
    ({"kind": "hls", "name": "  "}, {"name"}),
    ({"kind": "hls", "name": "n" * 101}, {"name"}),
    ({"kind": "hls", "name": "Web", "colour": "red"}, {"colour"}),
]


async def test_a_bad_output_body_is_refused_by_field_and_stores_nothing(
    client: Client, headers: H, app: Any
) -> None:
    booking = await create(client, headers["producer"])
    before = await stored_state(app)
    for body, fields in BAD_BODIES:
        resp = await client.post(
            f"/api/bookings/{booking['id']}/outputs", json=body, headers=headers["producer"]
        )
        error = await assert_error(resp, 422, "invalid", fields=fields)
        for secret in ("a b", LONG_KEY, "0123456789"):
            assert secret not in str(error)  # a refused secret is not echoed either
    assert await stored_state(app) == before


async def test_outputs_of_unknown_finished_or_cancelled_bookings(
    client: Client, headers: H
) -> None:
    h = headers["producer"]
    for method, path in (
        ("GET", "/api/bookings/nosuchbooking/outputs"),
        ("POST", "/api/bookings/nosuchbooking/outputs"),
        ("GET", "/api/bookings/nosuchbooking/watch-link"),
    ):
        resp = await client.request(method, path, json={"kind": "hls", "name": "W"}, headers=h)
        await assert_error(resp, 404, "not_found")
    booking = await create(client, h)
    bid = booking["id"]
    for path in ("outputs/nosuchoutput/start", "outputs/nosuchoutput/stop"):
        await assert_error(
            await client.post(f"/api/bookings/{bid}/{path}", headers=h), 404, "not_found"
        )
    resp = await client.delete(f"/api/bookings/{bid}/outputs/nosuchoutput", headers=h)
    await assert_error(resp, 404, "not_found")
    # Not live: its room is not open, so an output cannot start by hand.
    output = await _add(client, bid, h, {"kind": "hls", "name": "Web"})
    resp = await client.post(f"/api/bookings/{bid}/outputs/{output['id']}/start", headers=h)
    await assert_error(resp, 409, "room_not_open")
    # One HLS output per booking: it is the booking's own playlist.
    resp = await client.post(
        f"/api/bookings/{bid}/outputs", json={"kind": "hls", "name": "Again"}, headers=h
    )
    await assert_error(resp, 422, "invalid", fields={"kind"})
    # Broken JSON, and a body that is not an object.
    resp = await client.post(f"/api/bookings/{bid}/outputs", data=b"{", headers=h)
    await assert_error(resp, 400, "invalid_json")
    resp = await client.post(f"/api/bookings/{bid}/outputs", json=[1], headers=h)
    await assert_error(resp, 422, "invalid")
    # A cancelled booking takes no new output.
    resp = await client.post(f"/api/bookings/{bid}/cancel", headers=h)
    assert resp.status == 200
    resp = await client.post(
        f"/api/bookings/{bid}/outputs",
        json={"kind": "rtmp", "name": "YT", "url": "rtmp://a.example/live"},
        headers=h,
    )
    await assert_error(resp, 409, "invalid_transition")


async def test_the_watch_link_is_signed_for_a_private_stream_and_plain_for_a_public_one(
    client: Client, headers: H, app: Any
) -> None:
    h = headers["producer"]
    private = await create(client, h)
    assert private["stream"] == "private"
    resp = await client.get(f"/api/bookings/{private['id']}/watch-link", headers=headers["viewer"])
    link = await resp.json()
    assert link["stream"] == "private" and "?token=" in link["url"]
    token = link["url"].split("?token=", 1)[1]
    assert watch_token_matches(app[SIGNER], token, private["id"])
    assert not watch_token_matches(app[SIGNER], token, "otherbooking")
    assert link["embed_url"].endswith(f"/embed/{private['id']}?token={token}")
    assert link["hls_url"].endswith(f"/live/{private['id']}/index.m3u8?token={token}")

    public = await create(client, h, days=4, stream="public")
    assert public["stream"] == "public"
    link = await (await client.get(f"/api/bookings/{public['id']}/watch-link", headers=h)).json()
    assert link["url"].endswith(f"/watch/{public['id']}") and "token" not in link["hls_url"]
    resp = await client.post(
        "/api/bookings", json={**_body_of(public), "stream": "everyone"}, headers=h
    )
    await assert_error(resp, 422, "invalid", fields={"stream"})


def _body_of(booking: dict[str, Any]) -> dict[str, Any]:
    return {
        "title": booking["title"],
        "studios": [s["id"] for s in booking["studios"]],
        "starts_at": booking["starts_at"],
        "ends_at": booking["ends_at"],
    }
