"""Declining with a reason and going on without that studio, through the JSON API and the
calendars (issue 14): bad input gets a clear error and changes nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from icalendar import Calendar
from webtools import Client, assert_error, create, guarded_table

from web.access.joinlinks import calendar_token
from web.services import SIGNER

H = dict[str, dict[str, str]]
THREE = ["trend", "dha", "kabar"]


async def post(client: Client, path: str, h: dict[str, str], body: Any) -> dict[str, Any]:
    resp = await client.post(path, json=body, headers=h)
    text = await resp.text()
    assert resp.status == 200, f"POST {path}: {resp.status} {text}"
    booking: dict[str, Any] = (await resp.json())["booking"]
    return booking


async def test_operator_declines_producer_goes_on_without_the_studio(
    client: Client, headers: H
) -> None:
    b = await create(client, headers["producer"], studios=THREE)
    path = f"/api/bookings/{b['id']}"
    for studio in ("dha", "kabar"):
        await post(client, path + "/confirm", headers["admin"], {"studio": studio})
    declined = await post(
        client, path + "/decline", headers["operator"], {"studio": "trend", "reason": " No crew "}
    )
    assert declined["status"] == "requested"  # not declined: the producer decides
    assert [(s["id"], s["status"], s["decline_reason"]) for s in declined["studios"]] == [
        ("trend", "declined", "No crew"),
        ("dha", "accepted", ""),
        ("kabar", "accepted", ""),
    ]
    assert declined["sequence"] == b["sequence"] + 1
    # Only producers and admins decide.
    for role in ("operator", "viewer"):
        resp = await client.post(
            path + "/continue-without", json={"studio": "trend"}, headers=headers[role]
        )
        await assert_error(resp, 403, "forbidden")
    going = await post(client, path + "/continue-without", headers["producer"], {"studio": "trend"})
    assert going["status"] == "confirmed"  # every studio left has accepted
    assert [s["id"] for s in going["studios"]] == ["dha", "kabar"]
    assert going["sequence"] == declined["sequence"] + 1
    events = (await (await client.get(path + "/audit", headers=headers["viewer"])).json())["events"]
    assert [(e["action"], e["actor"]) for e in events[-2:]] == [
        ("declined", "operator-bot (token)"),
        ("continued without", "producer-bot (token)"),
    ]
    assert events[-2]["details"] == {"studio": "trend", "status": "requested", "reason": "No crew"}
    assert events[-1]["details"] == {
        "studio": "trend",
        "studios": ["dha", "kabar"],
        "status": "confirmed",
    }


async def test_two_studios_decline_without_a_reason_still_works(client: Client, headers: H) -> None:
    """Scripts that send no reason keep working; an empty one is none."""
    b = await create(client, headers["producer"])
    path = f"/api/bookings/{b['id']}/decline"
    declined = await post(client, path, headers["operator"], {"studio": "trend", "reason": ""})
    assert declined["status"] == "declined"
    assert declined["studios"][0]["decline_reason"] == ""


# (case, booking, role, body, status, code, fields named)
Row = tuple[str, str, str, Any, int, str, tuple[str, ...]]
ONE_LINE = "must be one line, without control characters"
BAD_DECLINES: list[Row] = [
    ("reason too long", "b", "operator", {"studio": "trend", "reason": "x" * 501}, 422, "invalid",
     ("reason",)),
    ("reason with a line break", "b", "operator", {"studio": "trend", "reason": "no\ncrew"}, 422,
     "invalid", ("reason",)),
    ("reason with a tab", "b", "operator", {"studio": "trend", "reason": "a\tb"}, 422, "invalid",
     ("reason",)),
    ("reason with a NUL", "b", "operator", {"studio": "trend", "reason": "a\x00"}, 422,
     "invalid", ("reason",)),
    ("reason a number", "b", "operator", {"studio": "trend", "reason": 5}, 422, "invalid",
     ("reason",)),
    ("studio missing", "b", "operator", {"reason": "no crew"}, 422, "invalid", ("studio",)),
    ("unknown studio", "b", "admin", {"studio": "nowhere", "reason": "x"}, 422, "invalid",
     ("studio",)),
    ("studio not in it", "b", "admin", {"studio": "ansa", "reason": "x"}, 422, "invalid",
     ("studio",)),
    ("another studio's operator", "b", "operator", {"studio": "dha", "reason": "x"}, 403,
     "forbidden", ()),
    ("viewer", "b", "viewer", {"studio": "trend", "reason": "x"}, 403, "forbidden", ()),
    ("cancelled booking", "over", "operator", {"studio": "trend", "reason": "x"}, 409,
     "invalid_transition", ()),
]  # fmt: skip
BAD_CONTINUES: list[Row] = [
    ("not declined", "b", "producer", {"studio": "dha"}, 409, "not_declined", ()),
    ("studio missing", "b", "producer", {}, 422, "invalid", ("studio",)),
    ("studio a number", "b", "producer", {"studio": 3}, 422, "invalid", ("studio",)),
    ("studio not in it", "b", "producer", {"studio": "ansa"}, 422, "invalid", ("studio",)),
    ("operator", "b", "operator", {"studio": "kabar"}, 403, "forbidden", ()),
    ("viewer", "b", "viewer", {"studio": "kabar"}, 403, "forbidden", ()),
    ("unknown booking", "0000000000", "producer", {"studio": "kabar"}, 404, "not_found", ()),
    ("two studios: declined", "two", "producer", {"studio": "dha"}, 409, "invalid_transition",
     ()),
    ("cancelled", "gone", "producer", {"studio": "dha"}, 409, "invalid_transition", ()),
]  # fmt: skip


def cases(
    client: Client, headers: H, step: str, ids: dict[str, str], rows: list[Row]
) -> list[tuple[str, Callable[[], Awaitable[None]]]]:
    """Each row as a case: the request, and the error it must get."""

    def one(row: Row) -> Callable[[], Awaitable[None]]:
        _case, booking, role, body, status, code, fields = row

        async def run() -> None:
            path = f"/api/bookings/{ids.get(booking, booking)}/{step}"
            resp = await client.post(path, json=body, headers=headers[role])
            error = await assert_error(resp, status, code, fields=fields)
            reason = body.get("reason")
            if "reason" in fields and isinstance(reason, str) and len(reason) < 500:
                assert error["fields"] == {"reason": ONE_LINE}  # a control character

        return run

    return [(row[0], one(row)) for row in rows]


async def test_bad_declines_change_nothing(app: Any, client: Client, headers: H) -> None:
    b = await create(client, headers["producer"], studios=THREE)
    over = await create(client, headers["producer"], days=4, studios=THREE)
    await post(client, f"/api/bookings/{over['id']}/cancel", headers["producer"], {})
    ids = {"b": b["id"], "over": over["id"]}
    await guarded_table(app, client, headers["admin"])(
        cases(client, headers, "decline", ids, BAD_DECLINES)
    )


async def test_bad_continue_without_changes_nothing(app: Any, client: Client, headers: H) -> None:
    producer, admin = headers["producer"], headers["admin"]
    b = await create(client, producer, studios=THREE)
    await post(client, f"/api/bookings/{b['id']}/decline", admin, {"studio": "kabar"})
    two = await create(client, producer, days=4)
    await post(client, f"/api/bookings/{two['id']}/decline", admin, {"studio": "dha"})
    gone = await create(client, producer, days=5, studios=THREE)
    await post(client, f"/api/bookings/{gone['id']}/decline", admin, {"studio": "dha"})
    await post(client, f"/api/bookings/{gone['id']}/cancel", producer, {})
    ids = {"b": b["id"], "two": two["id"], "gone": gone["id"]}
    await guarded_table(app, client, admin)(
        cases(client, headers, "continue-without", ids, BAD_CONTINUES)
    )


def event_of(text: str, uid_prefix: str) -> Any:
    events = [
        e for e in Calendar.from_ical(text).walk("VEVENT") if str(e["UID"]).startswith(uid_prefix)
    ]
    assert len(events) == 1, text
    return events[0]


async def test_calendars_say_who_declined_and_why(app: Any, client: Client, headers: H) -> None:
    b = await create(client, headers["producer"], studios=THREE)
    await post(
        client,
        f"/api/bookings/{b['id']}/decline",
        headers["operator"],
        {"studio": "trend", "reason": "Crew ill, sorry"},
    )
    signer = app[SIGNER]
    feeds = {}
    for studio in ("trend", "dha"):
        token = calendar_token(signer, studio)
        resp = await client.get(f"/calendar/{studio}.ics", params={"token": token})
        assert resp.status == 200, await resp.text()
        feeds[studio] = event_of(await resp.text(), b["id"])
    # Trend's own calendar: cancelled for it. DHA's: still on, and it says why Trend is out.
    assert str(feeds["trend"]["STATUS"]) == "CANCELLED"
    assert str(feeds["dha"]["STATUS"]) == "TENTATIVE"
    for event in feeds.values():
        assert "Trend declined on " in str(event["DESCRIPTION"])
        assert str(event["DESCRIPTION"]).endswith(": Crew ill, sorry")
        assert int(event["SEQUENCE"]) == b["sequence"] + 1
    # The booking's own .ics: as the reader's studio sees it.
    path = f"/api/bookings/{b['id']}.ics"
    mine = event_of(await (await client.get(path, headers=headers["operator"])).text(), b["id"])
    theirs = event_of(await (await client.get(path, headers=headers["producer"])).text(), b["id"])
    assert (str(mine["STATUS"]), str(theirs["STATUS"])) == ("CANCELLED", "TENTATIVE")
