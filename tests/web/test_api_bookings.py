"""The JSON API for studios and bookings, against the real app and SQLite."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from helpers import future_slot
from icalendar import Calendar
from webtools import Client, assert_error, booking_body, create

from web.access.joinlinks import calendar_token
from web.services import SETTINGS, SIGNER

H = dict[str, dict[str, str]]


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def rfc3339_utc(text: str) -> str:
    return utc(text).strftime("%Y-%m-%dT%H:%M:%SZ")


async def get(client: Client, path: str, h: dict[str, str]) -> Any:
    resp = await client.get(path, headers=h)
    text = await resp.text()
    assert resp.status == 200, f"GET {path}: {resp.status} {text}"
    return await resp.json()


async def post(client: Client, path: str, h: dict[str, str], body: Any = None) -> Any:
    resp = await client.post(path, json=body, headers=h)
    text = await resp.text()
    assert resp.status == 200, f"POST {path}: {resp.status} {text}"
    return (await resp.json())["booking"]


async def patch(client: Client, booking_id: str, h: dict[str, str], body: Any) -> Any:
    resp = await client.patch(f"/api/bookings/{booking_id}", json=body, headers=h)
    text = await resp.text()
    assert resp.status == 200, f"PATCH: {resp.status} {text}"
    return (await resp.json())["booking"]


# Studios


async def test_studios_listed_with_their_zones(client: Client, headers: H) -> None:
    doc = await get(client, "/api/studios", headers["viewer"])
    studios = {s["id"]: s for s in doc["studios"]}
    assert set(studios) == {
        "trend",
        "azertac",
        "dha",
        "albayrak",
        "aa",
        "qazcontent",
        "kabar",
        "uza",
        "ansa",
    }
    for s in studios.values():
        assert set(s) == {"id", "name", "organisation", "city", "timezone"}
    assert studios["trend"]["timezone"] == "Asia/Baku"
    assert studios["ansa"]["city"] == "Rome"


async def test_admin_adds_a_studio_once(client: Client, headers: H) -> None:
    new = {
        "id": "tass-moscow",
        "name": "TASS",
        "organisation": "TASS",
        "city": "Moscow",
        "timezone": "Europe/Moscow",
    }
    resp = await client.post("/api/studios", json=new, headers=headers["admin"])
    assert resp.status == 201, await resp.text()
    assert (await resp.json()) == {"studio": new}
    ids = [s["id"] for s in (await get(client, "/api/studios", headers["producer"]))["studios"]]
    assert "tass-moscow" in ids
    again = await client.post("/api/studios", json=new, headers=headers["admin"])
    await assert_error(again, 409, "duplicate")
    bad = await client.post(
        "/api/studios",
        json={**new, "id": "Not An Id", "timezone": "Mars/Olympus"},
        headers=headers["admin"],
    )
    await assert_error(bad, 422, "invalid", fields=["id", "timezone"])


# Creating, reading, listing


async def test_create_answers_201_with_each_studios_local_start(client: Client, headers: H) -> None:
    starts, ends = future_slot(4, 14, "Asia/Baku")
    body = {
        "title": "Turkic world morning",
        "studios": ["trend", "dha", "qazcontent", "ansa"],
        "starts_at": starts,
        "ends_at": ends,
        "setup_minutes": 20,
        "teardown_minutes": 10,
        "record": False,
        "layout": "grid",
    }
    resp = await client.post("/api/bookings", json=body, headers=headers["producer"])
    assert resp.status == 201, await resp.text()
    doc = await resp.json()
    assert set(doc) == {"booking"}
    b = doc["booking"]
    assert b["title"] == "Turkic world morning"
    assert b["status"] == "requested"
    assert b["sequence"] == 0
    assert b["starts_at"] == rfc3339_utc(starts) and b["starts_at"].endswith("Z")
    assert b["ends_at"] == rfc3339_utc(ends)
    assert (b["setup_minutes"], b["teardown_minutes"], b["record"], b["layout"]) == (
        20,
        10,
        False,
        "grid",
    )
    assert [s["id"] for s in b["studios"]] == ["trend", "dha", "qazcontent", "ansa"]
    assert all(s["status"] == "pending" for s in b["studios"])
    local = {s["id"]: s["local_start"] for s in b["studios"]}
    day = starts[:10]
    # Baku is UTC+4 and Istanbul UTC+3 all year; Astana and Rome from the zone database.
    assert local["trend"] == f"{day}T14:00:00+04:00"
    assert local["dha"] == f"{day}T13:00:00+03:00"
    for sid, zone in (("qazcontent", "Asia/Almaty"), ("ansa", "Europe/Rome")):
        expected = utc(starts).astimezone(ZoneInfo(zone))
        assert local[sid] == expected.isoformat(timespec="seconds")
        assert datetime.fromisoformat(local[sid]).utcoffset() == expected.utcoffset()

    again = await get(client, f"/api/bookings/{b['id']}", headers["viewer"])
    assert again == {"booking": b}


async def test_exactly_twelve_hours_is_allowed(client: Client, headers: H) -> None:
    starts, ends = future_slot(6, 6, "Asia/Baku", minutes=12 * 60)
    b = await create(client, headers["producer"], starts_at=starts, ends_at=ends)
    assert utc(b["ends_at"]) - utc(b["starts_at"]) == timedelta(hours=12)


async def test_list_filters_by_from_to_and_studio(client: Client, headers: H) -> None:
    h = headers["producer"]
    a = await create(client, h, days=3, hour=10, studios=["trend", "dha"])
    b = await create(client, h, days=5, hour=10, studios=["ansa", "kabar"])
    c = await create(client, h, days=7, hour=10, studios=["trend", "uza"])

    async def ids(query: str) -> list[str]:
        doc = await get(client, "/api/bookings" + query, headers["viewer"])
        return [x["id"] for x in doc["bookings"]]

    everything = await ids("")
    assert [i for i in everything if i in (a["id"], b["id"], c["id"])] == [
        a["id"],
        b["id"],
        c["id"],
    ]
    # A day either side of b (a and c are two days away), from b's own time: days counted
    # in UTC and in Baku differ between 20:00 and midnight UTC.
    day_before = utc(b["starts_at"]) - timedelta(days=1)
    day_after = utc(b["starts_at"]) + timedelta(days=1)
    window = f"?from={day_before.isoformat()}&to={day_after.isoformat()}".replace("+", "%2B")
    assert await ids(window) == [b["id"]]
    assert await ids("?studio=ansa") == [b["id"]]
    assert await ids("?studio=uza") == [c["id"]]
    later = await ids(f"?from={day_before.strftime('%Y-%m-%dT%H:%M:%SZ')}&studio=trend")
    assert later == [c["id"]]
    # The window is the busy one: setup (15 min) counts, so a window ending 10 min before
    # the show still finds it.
    show = utc(c["starts_at"])
    until = (show - timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    since = (show - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert await ids(f"?from={since}&to={until}") == [c["id"]]
    assert await ids("?studio=nowhere") == []


# Editing and rescheduling


async def test_edit_keeps_answers_reschedule_asks_again(client: Client, headers: H) -> None:
    h = headers["producer"]
    b = await create(client, h, days=3, hour=12)
    await post(client, f"/api/bookings/{b['id']}/confirm", headers["operator"], {"studio": "trend"})
    b = await post(client, f"/api/bookings/{b['id']}/confirm", headers["admin"], {"studio": "dha"})
    assert b["status"] == "confirmed" and b["sequence"] == 0

    edited = await patch(client, b["id"], h, {"title": "Caspian energy week, part 2"})
    assert edited["title"] == "Caspian energy week, part 2"
    assert edited["status"] == "confirmed"
    assert [s["status"] for s in edited["studios"]] == ["accepted", "accepted"]
    assert edited["sequence"] == 1

    starts, ends = future_slot(3, 16, "Asia/Baku", minutes=90)
    moved = await patch(client, b["id"], h, {"starts_at": starts, "ends_at": ends})
    assert moved["starts_at"] == rfc3339_utc(starts)
    assert moved["ends_at"] == rfc3339_utc(ends)
    assert moved["sequence"] == 2
    assert moved["status"] == "requested"
    assert [s["status"] for s in moved["studios"]] == ["pending", "pending"]
    assert [s["answered_at"] for s in moved["studios"]] == [None, None]
    assert moved["studios"][0]["local_start"] == f"{starts[:10]}T16:00:00+04:00"

    # An edit that changes nothing changes nothing (no new sequence, no audit event).
    same = await patch(client, b["id"], h, {"title": "Caspian energy week, part 2"})
    assert same["sequence"] == 2

    events = (await get(client, f"/api/bookings/{b['id']}/audit", headers["viewer"]))["events"]
    actions = [e["action"] for e in events]
    assert actions == ["created", "confirmed", "confirmed", "edited", "rescheduled"]
    assert events[4]["details"]["starts_at"] == [b["starts_at"], rfc3339_utc(starts)]
    assert events[4]["actor"] == "producer-bot (token)"


async def test_reschedule_into_another_booking_is_409_and_changes_nothing(
    client: Client, headers: H
) -> None:
    h = headers["producer"]
    mine = await create(client, h, days=3, hour=10, studios=["trend", "dha"])
    theirs = await create(client, h, days=3, hour=14, studios=["dha", "aa"])
    # Ends 10 minutes before the other starts: the other's 15 minutes of setup overlap.
    starts, ends = future_slot(3, 12, "Asia/Baku", minutes=110)
    resp = await client.patch(
        f"/api/bookings/{mine['id']}", json={"starts_at": starts, "ends_at": ends}, headers=h
    )
    error = await assert_error(resp, 409, "conflict")
    assert error["conflicts"] == [
        {
            "booking_id": theirs["id"],
            "studio_id": "dha",
            "title": theirs["title"],
            "starts_at": theirs["starts_at"],
            "ends_at": theirs["ends_at"],
            # The window that overlaps: its line check to its teardown.
            "setup_starts_at": theirs["setup_starts_at"],
            "teardown_ends_at": theirs["teardown_ends_at"],
        }
    ]
    assert await get(client, f"/api/bookings/{mine['id']}", h) == {"booking": mine}
    events = (await get(client, f"/api/bookings/{mine['id']}/audit", h))["events"]
    assert [e["action"] for e in events] == ["created"]

    # Moving it clear of the buffers works, and frees nothing else.
    starts, ends = future_slot(3, 12, "Asia/Baku", minutes=100)
    moved = await patch(client, mine["id"], h, {"starts_at": starts, "ends_at": ends})
    assert moved["sequence"] == 1


async def test_create_over_a_busy_studio_is_409_naming_the_booking(
    client: Client, headers: H
) -> None:
    h = headers["producer"]
    first = await create(client, h, days=3, hour=14, studios=["trend", "dha"])
    resp = await client.post(
        "/api/bookings",
        json=booking_body(days=3, hour=14, studios=["kabar", "dha"], title="Clash"),
        headers=h,
    )
    error = await assert_error(resp, 409, "conflict")
    assert [(c["booking_id"], c["studio_id"]) for c in error["conflicts"]] == [(first["id"], "dha")]
    assert error["conflicts"][0]["starts_at"] == first["starts_at"]
    listed = (await get(client, "/api/bookings?studio=kabar", h))["bookings"]
    assert listed == []


# Lifecycle


async def test_confirm_decline_cancel_lifecycle(client: Client, headers: H) -> None:
    h = headers["producer"]
    b = await create(client, h, days=3, hour=9)
    path = f"/api/bookings/{b['id']}"

    one = await post(client, path + "/confirm", headers["operator"], {"studio": "trend"})
    assert one["status"] == "requested"
    assert [s["status"] for s in one["studios"]] == ["accepted", "pending"]
    assert one["studios"][0]["answered_at"] is not None
    twice = await post(client, path + "/confirm", headers["operator"], {"studio": "trend"})
    assert twice["studios"] == one["studios"]
    both = await post(client, path + "/confirm", headers["admin"], {"studio": "dha"})
    assert both["status"] == "confirmed"

    declined = await post(
        client, path + "/decline", headers["operator"], {"studio": "trend", "reason": "No crew"}
    )
    assert declined["status"] == "declined"
    assert declined["studios"][0]["status"] == "declined"

    # A declined booking frees its studios; the producer may still cancel it.
    other = await create(client, h, days=3, hour=9, studios=["trend", "kabar"], title="Next")
    cancelled = await post(client, path + "/cancel", h, {"reason": "Partner unavailable"})
    assert cancelled["status"] == "cancelled"
    # Calendars must replace the event: a cancel is a new revision.
    assert cancelled["sequence"] == declined["sequence"] + 1

    await assert_error(
        await client.post(path + "/confirm", json={"studio": "dha"}, headers=headers["admin"]),
        409,
        "invalid_transition",
    )
    await assert_error(await client.post(path + "/cancel", headers=h), 409, "invalid_transition")
    await assert_error(
        await client.patch(path, json={"title": "Back"}, headers=h), 409, "invalid_transition"
    )

    events = (await get(client, path + "/audit", headers["viewer"]))["events"]
    assert [(e["action"], e["actor"]) for e in events] == [
        ("created", "producer-bot (token)"),
        ("confirmed", "operator-bot (token)"),
        ("confirmed", "admin-bot (token)"),
        ("declined", "operator-bot (token)"),
        ("cancelled", "producer-bot (token)"),
    ]
    assert events[3]["details"]["reason"] == "No crew"
    assert events[4]["details"] == {
        "from": "declined",
        "to": "cancelled",
        "reason": "Partner unavailable",
    }
    for e in events:
        assert set(e) == {"at", "actor", "action", "details"}
        assert e["at"].endswith("Z")
    assert other["status"] == "requested"


async def test_cancelling_frees_the_studios(client: Client, headers: H) -> None:
    h = headers["producer"]
    b = await create(client, h, days=3, hour=9)
    await post(client, f"/api/bookings/{b['id']}/cancel", h)
    again = await create(client, h, days=3, hour=9)
    assert again["id"] != b["id"]


# Join links and audit


async def test_join_links_span_setup_to_teardown_end_plus_grace(
    client: Client, headers: H, app: Any
) -> None:
    b = await create(client, headers["producer"], days=3, hour=9, setup_minutes=30)
    doc = await get(client, f"/api/bookings/{b['id']}/join-links", headers["producer"])
    links = doc["links"]
    assert [link["studio"] for link in links] == ["trend", "dha"]
    grace = app[SETTINGS].join_grace_minutes
    for link in links:
        assert set(link) == {"studio", "url", "valid_from", "valid_until"}
        assert utc(link["valid_from"]) == utc(b["starts_at"]) - timedelta(minutes=30)
        assert utc(link["valid_until"]) == utc(b["ends_at"]) + timedelta(
            minutes=b["teardown_minutes"] + grace
        )
        assert f"/join/{b['id']}/{link['studio']}?token=" in link["url"]
        assert link["url"].startswith("http://")
    assert links[0]["url"] != links[1]["url"]
    # The links are stable: asking again gives the same ones.
    assert (await get(client, f"/api/bookings/{b['id']}/join-links", headers["admin"])) == doc
    # The operator of Trend gets Trend's link only.
    mine = await get(client, f"/api/bookings/{b['id']}/join-links", headers["operator"])
    assert mine["links"] == [links[0]]


# iCalendar


def parse_ics(text: str) -> list[Any]:
    cal = Calendar.from_ical(text)
    return list(cal.walk("VEVENT"))


async def test_booking_ics_is_utc_with_stable_uid_and_sequence(client: Client, headers: H) -> None:
    h = headers["producer"]
    b = await create(client, h, days=3, hour=14, title="Silk road; news, live")
    resp = await client.get(f"/api/bookings/{b['id']}.ics", headers=headers["viewer"])
    assert resp.status == 200
    assert resp.content_type == "text/calendar"
    text = await resp.text()
    assert "\r\n" in text
    (event,) = parse_ics(text)
    uid = str(event["UID"])
    assert b["id"] in uid
    assert event["DTSTART"].dt == utc(b["starts_at"])
    assert event["DTSTART"].dt.utcoffset() == timedelta(0)
    assert event["DTEND"].dt == utc(b["ends_at"])
    assert f"DTSTART:{utc(b['starts_at']):%Y%m%dT%H%M%S}Z" in text
    assert int(event["SEQUENCE"]) == 0
    assert str(event["STATUS"]) == "TENTATIVE"
    assert str(event["SUMMARY"]) == "Silk road; news, live"

    starts, ends = future_slot(3, 17, "Asia/Baku")
    await patch(client, b["id"], h, {"starts_at": starts, "ends_at": ends})
    (moved,) = parse_ics(await (await client.get(f"/api/bookings/{b['id']}.ics", headers=h)).text())
    assert str(moved["UID"]) == uid
    assert int(moved["SEQUENCE"]) == 1
    assert moved["DTSTART"].dt == utc(starts)


async def test_studio_feed_needs_its_own_token(client: Client, headers: H, app: Any) -> None:
    h = headers["producer"]
    with_trend = await create(client, h, days=3, hour=9, studios=["trend", "dha"])
    without = await create(client, h, days=3, hour=9, studios=["ansa", "kabar"])
    signer = app[SIGNER]
    resp = await client.get(
        "/calendar/trend.ics", params={"token": calendar_token(signer, "trend")}
    )
    assert resp.status == 200, await resp.text()
    assert resp.content_type == "text/calendar"
    uids = {str(e["UID"]) for e in parse_ics(await resp.text())}
    assert any(with_trend["id"] in u for u in uids)
    assert not any(without["id"] in u for u in uids)

    for params in (
        {"token": calendar_token(signer, "dha")},
        {"token": "forged.token"},
        {"token": ""},
        {},
    ):
        await assert_error(
            await client.get("/calendar/trend.ics", params=params), 401, "invalid_token"
        )
    await assert_error(
        await client.get(
            "/calendar/nowhere.ics", params={"token": calendar_token(signer, "nowhere")}
        ),
        404,
        "not_found",
    )


# Weekly series


async def test_weekly_series_skips_conflicting_occurrences(client: Client, headers: H) -> None:
    h = headers["producer"]
    starts, ends = future_slot(8, 11, "Asia/Baku")
    first_day = date.fromisoformat(starts[:10])
    blocker_start, blocker_end = future_slot(22, 11, "Asia/Baku")
    blocker = await create(
        client,
        h,
        studios=["dha", "aa"],
        starts_at=blocker_start,
        ends_at=blocker_end,
        title="Blocker",
    )
    until = (first_day + timedelta(weeks=3)).isoformat()
    resp = await client.post(
        "/api/bookings",
        json=booking_body(starts_at=starts, ends_at=ends, recurrence={"until": until}),
        headers=h,
    )
    assert resp.status == 201, await resp.text()
    doc = await resp.json()
    series = doc["series"]
    assert set(series) >= {"id", "created", "skipped"}
    created = series["created"]
    assert doc["booking"] == created[0]
    assert len(created) == 3
    assert all(b["series_id"] == series["id"] for b in created)
    assert [b["studios"][0]["local_start"][:10] for b in created] == [
        (first_day + timedelta(weeks=w)).isoformat() for w in (0, 1, 3)
    ]
    assert {b["studios"][0]["local_start"][10:] for b in created} == {"T11:00:00+04:00"}
    (skipped,) = series["skipped"]
    assert skipped["starts_at"] == rfc3339_utc(blocker_start)
    assert [(c["booking_id"], c["studio_id"]) for c in skipped["conflicts"]] == [
        (blocker["id"], "dha")
    ]
    listed = (await get(client, "/api/bookings?studio=trend", h))["bookings"]
    assert sum(1 for b in listed if b["series_id"] == series["id"]) == 3


async def test_series_with_every_occurrence_in_conflict_is_409(client: Client, headers: H) -> None:
    h = headers["producer"]
    starts, ends = future_slot(8, 11, "Asia/Baku")
    await create(client, h, starts_at=starts, ends_at=ends, studios=["trend", "kabar"])
    before = (await get(client, "/api/bookings", h))["bookings"]
    resp = await client.post(
        "/api/bookings",
        json=booking_body(
            starts_at=starts, ends_at=ends, recurrence={"until": starts[:10]}, title="Again"
        ),
        headers=h,
    )
    await assert_error(resp, 409, "conflict")
    assert (await get(client, "/api/bookings", h))["bookings"] == before
