"""Time as each user thinks of it: a booking entered at 17:00 Baku is shown and edited as 17:00
Baku; each login reads pages in its own zone (picked from the menu, else an operator's studio's,
else the site's setting), each time with its zone's name; a conflict shows the other booking's
busy window on the form's clock; the calendar's heading says its dates."""

from __future__ import annotations

import dataclasses
import html
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from helpers import DEMO_PASSWORD
from webtools import Client, ClockedApp, assert_error, login, session_csrf

from schedules.rules.zones import ZONE_PROBLEM
from schedules.timeutil import parse_rfc3339, utc_now
from web.app import make_app
from web.demo import seed_demo
from web.pages.templating import make_environment
from web.services import ACCOUNTS, BOOKINGS
from web.settings import Settings

# The app's clock stands at Tuesday 2030-01-15 08:00 UTC (conftest.FIXED_NOW): next Monday is
# the 21st, when Baku is UTC+4 and Rome UTC+1.
MONDAY = "2030-01-21"


@pytest.fixture
def backend() -> str:
    """Pages and forms only (storage is tested on both databases in tests/schedules)."""
    return "sqlite"


def form(csrf: str, **fields: Any) -> list[tuple[str, str]]:
    """The booking form as a browser posts it: Trend (Baku) and ANSA (Rome), 17:00 Baku."""
    values: dict[str, Any] = {
        "title": "Caspian evening",
        "studios": ["trend", "ansa"],
        "starts_local": f"{MONDAY}T17:00",
        "ends_local": f"{MONDAY}T18:00",
        "zone": "Asia/Baku",
        "setup_minutes": "15",
        "teardown_minutes": "5",
        "layout": "auto",
        "quality": "720p30",
        "stream": "private",
        "record": "on",
        **fields,
    }
    out = [("csrf_token", csrf)]
    for name, value in values.items():
        out += [(name, v) for v in value] if isinstance(value, list) else [(name, value)]
    return out


async def page(client: Client, path: str) -> str:
    resp = await client.get(path)
    text = await resp.text()
    assert resp.status == 200, text
    return html.unescape(text)


async def pick_zone(client: Client, zone: str) -> None:
    """Choose the pages' zone from the menu's page, as a user does."""
    resp = await client.post(
        "/time-zone",
        data={"csrf_token": await session_csrf(client), "time_zone": zone, "next": "/bookings"},
        allow_redirects=False,
    )
    assert resp.status == 303, await resp.text()
    assert resp.headers["Location"] == "/bookings"


def zone_link(text: str) -> str:
    """The zone the menu names (the last words of its link: the zone's short name)."""
    match = re.search(r'<a class="zonelink"[^>]*>(.*?)</a>', text, re.S)
    assert match, "no time zone in the menu"
    return re.sub(r"<[^>]+>.*?</[^>]+>", "", match.group(1)).strip()


def field_value(text: str, name: str) -> str:
    match = re.search(rf'<input id="{name}"[^>]* value="([^"]*)"', text)
    assert match, f"no {name} field"
    return match.group(1)


def selected_zone(text: str) -> str:
    select = text[text.index('<select id="zone"') :]
    select = select[: select.index("</select>")]
    match = re.search(r'<option value="([^"]+)" selected', select)
    assert match, "no zone selected"
    return match.group(1)


async def test_a_baku_producer_books_1700_and_reads_and_edits_1700_baku(
    clocked: ClockedApp,
) -> None:
    client = clocked.client
    await login(client, "producer", DEMO_PASSWORD)
    assert zone_link(await page(client, "/bookings")) == "UTC"  # the menu says the zone
    await pick_zone(client, "Asia/Baku")
    assert zone_link(await page(client, "/bookings")) == "Baku"

    new = await page(client, "/bookings/new")
    assert selected_zone(new) == "Asia/Baku"  # the form starts on the user's clock
    # The studios' zones and their names are on the page for the live conversions.
    assert 'value="ansa" data-zone="Europe/Rome" data-zone-label="Rome"' in new
    assert '<script type="module" src="/static/booking_times.js">' in new

    booked = await client.post(
        "/bookings/new", data=form(await session_csrf(client)), allow_redirects=False
    )
    assert booked.status == 303, await booked.text()
    booking_id = booked.headers["Location"].split("/")[2].split("?")[0]
    doc = (await (await client.get(f"/api/bookings/{booking_id}")).json())["booking"]
    assert (doc["starts_at"], doc["zone"]) == ("2030-01-21T13:00:00Z", "Asia/Baku")

    shown = await page(client, f"/bookings/{booking_id}")
    assert "Mon, 21 Jan 2030, 17:00–18:00 Baku" in shown
    edit = await page(client, f"/bookings/{booking_id}/edit")
    assert (field_value(edit, "starts_local"), selected_zone(edit)) == (
        f"{MONDAY}T17:00",
        "Asia/Baku",
    )

    # Back to the default (UTC here): the pages read 13:00 UTC, but the booking is still edited
    # as it was entered, at 17:00 Baku (it was shown and edited as 13:00 UTC before).
    await pick_zone(client, "")
    assert "Mon, 21 Jan 2030, 13:00–14:00 UTC" in await page(client, f"/bookings/{booking_id}")
    edit = await page(client, f"/bookings/{booking_id}/edit")
    assert (field_value(edit, "starts_local"), selected_zone(edit)) == (
        f"{MONDAY}T17:00",
        "Asia/Baku",
    )

    # Saving it unchanged keeps 17:00 Baku: nothing moves by the reader's offset.
    saved = await client.post(
        f"/bookings/{booking_id}/edit",
        data=form(await session_csrf(client), title="Caspian evening news"),
        allow_redirects=False,
    )
    assert saved.status == 303, await saved.text()
    doc = (await (await client.get(f"/api/bookings/{booking_id}")).json())["booking"]
    assert (doc["starts_at"], doc["zone"], doc["status"]) == (
        "2030-01-21T13:00:00Z",
        "Asia/Baku",
        "requested",
    )


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("operator-ansa", "Mon, 21 Jan 2030, 14:00–15:00 Rome"),  # its studio's zone
        ("operator-trend", "Mon, 21 Jan 2030, 17:00–18:00 Baku"),
        ("producer", "Mon, 21 Jan 2030, 13:00–14:00 UTC"),  # the site's setting
        ("admin", "Mon, 21 Jan 2030, 13:00–14:00 UTC"),
    ],
)
async def test_each_login_reads_the_booking_in_its_default_zone(
    clocked: ClockedApp, name: str, expected: str
) -> None:
    booking = await _book_at_1700_baku(clocked)
    await login(clocked.client, name, DEMO_PASSWORD)
    assert expected in await page(clocked.client, f"/bookings/{booking}")


async def test_the_sites_setting_is_the_default_of_everyone_but_operators(
    settings: Settings,
    aiohttp_client: Callable[[web.Application], Awaitable[TestClient[Any, Any]]],
) -> None:
    app = await make_app(dataclasses.replace(settings, timezone="Asia/Tashkent"))
    await seed_demo(app[BOOKINGS], app[ACCOUNTS], utc_now())
    client = await aiohttp_client(app)
    await login(client, "viewer", DEMO_PASSWORD)
    listing = await page(client, "/bookings")
    assert "(Tashkent)" in listing  # the list's "When" column names its zone
    (demo,) = (await (await client.get("/api/bookings")).json())["bookings"]
    start = parse_rfc3339(demo["starts_at"]).astimezone(ZoneInfo("Asia/Tashkent"))
    assert f"{start:%H:%M}" == "16:00"  # 15:00 Baku
    assert f", {start:%H:%M}</strong>" in listing
    client.session.cookie_jar.clear()
    await login(client, "operator-ansa", DEMO_PASSWORD)
    assert zone_link(await page(client, "/bookings")) == "Rome"


def test_the_zone_setting_must_be_an_iana_zone() -> None:
    assert Settings.load({"TELEBRIDGE_TIMEZONE": "Asia/Baku"}).timezone == "Asia/Baku"
    assert Settings.load({}).timezone == "UTC"
    with pytest.raises(SystemExit, match="TELEBRIDGE_TIMEZONE"):
        Settings.load({"TELEBRIDGE_TIMEZONE": "Baku"})


async def test_an_unknown_zone_is_refused_and_nothing_changes(clocked: ClockedApp) -> None:
    client = clocked.client
    await login(client, "producer", DEMO_PASSWORD)
    before = (await (await client.get("/api/bookings")).json())["bookings"]
    refused = await client.post(
        "/bookings/new", data=form(await session_csrf(client), zone="Asia/Bakuu")
    )
    text = html.unescape(await refused.text())
    assert refused.status == 422
    assert f'<p class="field-error" id="zone-error" role="alert">{ZONE_PROBLEM}</p>' in text
    assert field_value(text, "starts_local") == f"{MONDAY}T17:00"  # nothing typed is lost
    assert (await (await client.get("/api/bookings")).json())["bookings"] == before

    resp = await client.post(
        "/time-zone",
        data={"csrf_token": await session_csrf(client), "time_zone": "Mars/Olympus"},
        headers={"Accept": "application/json"},
    )
    await assert_error(resp, 422, "invalid")
    assert zone_link(await page(client, "/bookings")) == "UTC"


async def test_the_api_keeps_the_zone_and_refuses_an_unknown_one(clocked: ClockedApp) -> None:
    client, h = clocked.client, clocked.headers["producer"]
    body = {
        "title": "Caspian evening",
        "studios": ["trend", "ansa"],
        "starts_at": f"{MONDAY}T17:00:00+04:00",
        "ends_at": f"{MONDAY}T18:00:00+04:00",
    }
    refused = await client.post("/api/bookings", json={**body, "zone": "Baku"}, headers=h)
    error = await assert_error(refused, 422, "invalid", fields=["zone"])
    assert error["fields"] == {"zone": ZONE_PROBLEM}

    resp = await client.post("/api/bookings", json={**body, "zone": "Asia/Baku"}, headers=h)
    assert resp.status == 201, await resp.text()
    doc = (await resp.json())["booking"]
    assert (doc["zone"], doc["starts_at"]) == ("Asia/Baku", "2030-01-21T13:00:00Z")
    patched = await client.patch(f"/api/bookings/{doc['id']}", json={"title": "Evening"}, headers=h)
    assert (await patched.json())["booking"]["zone"] == "Asia/Baku"
    refused = await client.patch(f"/api/bookings/{doc['id']}", json={"zone": 4}, headers=h)
    await assert_error(refused, 422, "invalid", fields=["zone"])

    # Without a zone the booking says none ("" in its JSON).
    resp = await client.post(
        "/api/bookings",
        json={**body, "studios": ["dha", "uza"]},
        headers=h,
    )
    assert (await resp.json())["booking"]["zone"] == ""


async def test_a_conflict_shows_the_other_bookings_busy_window_on_the_forms_clock(
    clocked: ClockedApp,
) -> None:
    await _book_at_1700_baku(clocked)  # Trend and ANSA, busy 12:45-14:05 UTC
    client = clocked.client
    await login(client, "producer", DEMO_PASSWORD)
    # 14:30 Rome is 13:30 UTC: inside that window for Trend.
    resp = await client.post(
        "/bookings/new",
        data=form(
            await session_csrf(client),
            title="Rome calling",
            studios=["trend", "kabar"],
            starts_local=f"{MONDAY}T14:30",
            ends_local=f"{MONDAY}T15:00",
            zone="Europe/Rome",
        ),
    )
    assert resp.status == 409
    text = html.unescape(await resp.text())
    item = text[text.index('class="conflict-item"') :]
    item = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", item[: item.index("</li>")]))
    assert "Trend is in Caspian energy week: busy Mon, 21 Jan 2030, 13:45–15:05 Rome" in item
    assert "(line check to teardown)" in item


@pytest.mark.parametrize(
    ("week", "lang", "heading"),
    [
        ("2030-W04", "en", "21\u2009–\u200927 Jan 2030"),
        ("2030-W05", "en", "28 Jan\u2009–\u20093 Feb 2030"),  # across months
        ("2031-W01", "en", "30 Dec 2030\u2009–\u20095 Jan 2031"),  # across years
        ("2030-W04", "ru", "21—27 янв. 2030\u202fг."),
        ("2030-W05", "az", "28 yan\u2009–\u20093 fev 2030"),
    ],
)
async def test_the_calendar_heading_says_the_weeks_dates(
    clocked: ClockedApp, week: str, lang: str, heading: str
) -> None:
    await login(clocked.client, "producer", DEMO_PASSWORD)
    resp = await clocked.client.get(f"/calendar?week={week}", cookies={"tb_lang": lang})
    text = await resp.text()
    assert resp.status == 200
    match = re.search(r'<h1 class="week-dates" data-week="([^"]+)">([^<]+)</h1>', text)
    assert match and match.groups() == (week, heading), match and match.groups()
    assert "W0" not in text[text.index("<title>") : text.index("</title>")]


async def test_a_short_booking_is_readable_and_the_zone_is_named(clocked: ClockedApp) -> None:
    client, h = clocked.client, clocked.headers["producer"]
    resp = await client.post(
        "/api/bookings",
        json={
            "title": "Quick headline swap",
            "studios": ["kabar", "uza"],
            "starts_at": f"{MONDAY}T09:00:00Z",
            "ends_at": f"{MONDAY}T09:15:00Z",
        },
        headers=h,
    )
    assert resp.status == 201, await resp.text()
    await login(client, "producer", DEMO_PASSWORD)
    text = html.unescape(await page(client, "/calendar?week=2030-W04&tz=Europe/Istanbul"))
    block = text[text.rindex("<a class=", 0, text.index("Quick headline swap")) :]
    block = block[: block.index("</a>")]
    assert "is-short" in block
    assert 'title="Quick headline swap · 12:00–12:15 Istanbul · requested"' in block
    # The corner names the zone as people say it, with its offset (the full name on hover).
    assert (
        '<div class="dayhead corner" title="Europe/Istanbul"><span class="corner-zone">Istanbul'
        '</span><span class="corner-offset">UTC+3</span></div>'
    ) in text


async def test_a_late_show_is_listed_on_its_day_though_its_teardown_runs_past_midnight(
    clocked: ClockedApp,
) -> None:
    client, h = clocked.client, clocked.headers["producer"]
    resp = await client.post(
        "/api/bookings",
        json={
            "title": "Night desk",
            "studios": ["kabar", "uza"],
            "starts_at": f"{MONDAY}T22:59:00Z",
            "ends_at": f"{MONDAY}T23:59:00Z",
            "teardown_minutes": 15,
        },
        headers=h,
    )
    assert resp.status == 201, await resp.text()
    booking = (await resp.json())["booking"]["id"]
    await login(client, "producer", DEMO_PASSWORD)
    text = html.unescape(await page(client, "/calendar?week=2030-W04&tz=UTC"))
    # The grid shades the teardown on Tuesday too; the phone's list names the show once, Monday.
    assert text.count(f'class="event status-requested" href="/bookings/{booking}"') == 2
    agenda = text[text.index('<ol class="agenda">') :]
    days = agenda.split('<li class="agenda-day')[1:]
    listed = [i for i, day in enumerate(days) if f'href="/bookings/{booking}"' in day]
    assert listed == [0], listed
    assert "Nothing booked" in days[1]


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("en", "Mon, 7 Dec 2026, 17:00–18:00 Baku · 7\u2009–\u200913 Dec 2026"),
        ("ru", "пн, 7 дек. 2026\u202fг., 17:00–18:00 Баку · 7—13 дек. 2026\u202fг."),
        ("tr", "7 Ara 2026 Pzt 17:00–18:00 Bakü · 7–13 Ara 2026"),
    ],
)
def test_times_carry_their_zones_name_in_the_readers_language(lang: str, expected: str) -> None:
    template = make_environment().from_string("{{ a|span(b) }} · {{ d|week_dates(e) }}")
    assert (
        template.render(
            lang=lang,
            reader_zone="Asia/Baku",
            a=datetime(2026, 12, 7, 13, tzinfo=UTC),
            b=datetime(2026, 12, 7, 14, tzinfo=UTC),
            d=date(2026, 12, 7),
            e=date(2026, 12, 13),
        )
        == expected
    )


async def test_the_time_zone_page_offers_the_partners_first_then_every_zone(
    clocked: ClockedApp,
) -> None:
    await login(clocked.client, "operator-ansa", DEMO_PASSWORD)
    text = await page(clocked.client, "/time-zone?next=/calendar")
    assert '<option value="" selected>Default: Rome</option>' in text
    assert "The default is your studio's zone." in text
    partners = text[text.index('<optgroup label="Partner studios">') :]
    assert partners.index("Europe/Rome") < partners.index("Every zone")
    assert '<option value="America/New_York" >New York (America/New_York)</option>' in text
    assert 'name="next" value="/calendar"' in text


async def _book_at_1700_baku(clocked: ClockedApp) -> str:
    resp = await clocked.client.post(
        "/api/bookings",
        json={
            "title": "Caspian energy week",
            "studios": ["trend", "ansa"],
            "starts_at": f"{MONDAY}T17:00:00+04:00",
            "ends_at": f"{MONDAY}T18:00:00+04:00",
            "zone": "Asia/Baku",
        },
        headers=clocked.headers["producer"],
    )
    assert resp.status == 201, await resp.text()
    return str((await resp.json())["booking"]["id"])
