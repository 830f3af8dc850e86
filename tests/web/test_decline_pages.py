"""The pages of declines and cancellations (issue 14): the decline dialog asks for a reason and
says what it will do, the producer is told and decides, a declined or cancelled booking's page
neither counts down nor offers join links, and the bookings list is sorted by time and says
what each booking waits for."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from webtools import ClockedApp, login, session_csrf, stored_state

from web.demo import DEMO_PASSWORD

FMT = "%Y-%m-%dT%H:%M:%SZ"
THREE = ["trend", "dha", "kabar"]


async def as_user(c: ClockedApp, name: str) -> str:
    """Log the test's client in as `name` (after anyone else); its CSRF token."""
    c.client.session.cookie_jar.clear()
    await login(c.client, name, DEMO_PASSWORD)
    return await session_csrf(c.client)


async def book(c: ClockedApp, hours: float, studios: list[str], title: str = "Joint hour") -> str:
    """Book an hour starting `hours` from the app's now, as the producer's token; its id."""
    starts = c.clock() + timedelta(hours=hours)
    body = {
        "title": title,
        "studios": studios,
        "starts_at": starts.strftime(FMT),
        "ends_at": (starts + timedelta(hours=1)).strftime(FMT),
    }
    resp = await c.client.post("/api/bookings", json=body, headers=c.headers["producer"])
    assert resp.status == 201, await resp.text()
    booking_id: str = (await resp.json())["booking"]["id"]
    return booking_id


async def api(c: ClockedApp, booking_id: str, step: str, role: str, body: Any) -> dict[str, Any]:
    resp = await c.client.post(
        f"/api/bookings/{booking_id}/{step}", json=body, headers=c.headers[role]
    )
    assert resp.status == 200, await resp.text()
    doc: dict[str, Any] = (await resp.json())["booking"]
    return doc


async def page(c: ClockedApp, path: str, status: int = 200) -> str:
    resp = await c.client.get(path)
    text = await resp.text()
    assert resp.status == status, f"{path}: {resp.status} {text[:300]}"
    return text


def dialog(html: str, dialog_id: str) -> str:
    """The markup of one <dialog>, opening tag included."""
    match = re.search(rf'<dialog[^>]*id="{dialog_id}"[^>]*>.*?</dialog>', html, re.S)
    assert match, f"no dialog {dialog_id}"
    return match.group(0)


def is_open(markup: str) -> bool:
    return re.search(r"<dialog[^>]*\sopen[\s>]", markup) is not None


async def test_the_decline_dialog_needs_a_reason_and_says_what_it_does(
    clocked: ClockedApp,
) -> None:
    c = clocked
    three = await book(c, 30, THREE)
    two = await book(c, 60, ["trend", "dha"])
    csrf = await as_user(c, "operator-trend")
    html = await page(c, f"/bookings/{three}")
    box = dialog(html, "decline-trend")
    assert not is_open(box)
    assert "The producer will decide whether to go on without Trend." in box
    assert re.search(r'<input type="text" id="decline-trend-reason" name="reason" required', box)
    assert 'maxlength="500"' in box
    assert "The telebridge will be declined for every studio." in dialog(
        await page(c, f"/bookings/{two}"), "decline-trend"
    )
    # Without scripts the Decline button asks the server for the dialog, open.
    assert is_open(dialog(await page(c, f"/bookings/{three}?ask=decline-trend"), "decline-trend"))
    assert not is_open(dialog(await page(c, f"/bookings/{three}?ask=nonsense"), "decline-trend"))

    before = await stored_state(c.app)
    for reason, problem in (
        ("", "is required"),
        ("   ", "is required"),
        ("no\tcrew", "must be one line, without control characters"),
        ("x" * 501, "must be at most 500 characters"),
    ):
        resp = await c.client.post(
            f"/bookings/{three}/answer",
            data={"csrf_token": csrf, "studio": "trend", "answer": "decline", "reason": reason},
            allow_redirects=False,
        )
        text = await resp.text()
        assert resp.status == 422, text[:300]
        box = dialog(text, "decline-trend")
        assert is_open(box), reason
        assert problem in box and 'aria-invalid="true"' in box
        assert await stored_state(c.app) == before, reason
    resp = await c.client.post(
        f"/bookings/{three}/answer",
        data={"csrf_token": csrf, "studio": "trend", "answer": "decline", "reason": " No crew "},
        allow_redirects=False,
    )
    assert resp.status == 303 and resp.headers["Location"].endswith("?declined=1")
    doc = await (await c.client.get(f"/api/bookings/{three}")).json()
    assert doc["booking"]["status"] == "requested"
    assert doc["booking"]["studios"][0]["decline_reason"] == "No crew"


async def test_the_producer_is_told_and_goes_on_without_the_studio(clocked: ClockedApp) -> None:
    c = clocked
    b = await book(c, 30, THREE)
    for studio in ("dha", "kabar"):
        await api(c, b, "confirm", "admin", {"studio": studio})
    await api(c, b, "decline", "operator", {"studio": "trend", "reason": "No crew <today>"})
    # Another partner reads who declined, why, and that the producer decides.
    await as_user(c, "operator-dha")
    html = await page(c, f"/bookings/{b}")
    banner = re.search(
        r'<section class="decision-banner" id="declined-trend".*?</section>', html, re.S
    )
    assert banner, html
    assert "Trend declined at" in banner.group(0)
    assert "«No crew &lt;today&gt;»" in banner.group(0)  # escaped
    assert "The producer decides whether to go on without Trend." in banner.group(0)
    assert "continue-without" not in html
    # The producer gets the decision.
    csrf = await as_user(c, "producer")
    html = await page(c, f"/bookings/{b}")
    assert "Continue without Trend" in html
    assert "Trend declined — your decision" in html
    assert 'data-opens="cancel"' in html
    resp = await c.client.post(
        f"/bookings/{b}/continue-without",
        data={"csrf_token": csrf, "studio": "trend"},
        allow_redirects=False,
    )
    assert resp.status == 303, await resp.text()
    html = await page(c, resp.headers["Location"])
    assert "The telebridge goes on without the studio that declined." in html
    assert "decision-banner" not in html
    assert "pill-confirmed" in html and "every studio confirmed" in html


async def test_called_off_bookings_neither_count_down_nor_offer_links(clocked: ClockedApp) -> None:
    c = clocked
    live_soon = await book(c, 3, ["trend", "dha"])
    declined = await book(c, 5, ["trend", "dha"], "Declined one")
    cancelled = await book(c, 7, ["trend", "dha"], "Cancelled one")
    await api(c, declined, "decline", "operator", {"studio": "trend", "reason": "Studio flooded"})
    await api(c, cancelled, "cancel", "producer", {"reason": "Story dropped"})
    await as_user(c, "producer")
    html = await page(c, f"/bookings/{live_soon}")
    assert "data-countdown=" in html and 'class="joinlinks"' in html  # the control case
    html = await page(c, f"/bookings/{declined}")
    assert "data-countdown=" not in html and 'class="joinlinks"' not in html
    assert "Trend declined at" in html and "«Studio flooded»" in html
    assert "The telebridge is declined for every studio." in html
    html = await page(c, f"/bookings/{cancelled}")
    assert "data-countdown=" not in html and 'class="joinlinks"' not in html
    assert "Cancelled by" in html and "producer-bot (token)" in html
    assert "«Story dropped»" in html
    # Cancelling asks first, in the page: no window.confirm, no form that posts at once.
    html = await page(c, f"/bookings/{live_soon}")
    assert "data-confirm" not in html
    box = dialog(html, "cancel")
    assert not is_open(box) and 'action="/bookings/' in box and 'name="reason"' in box
    assert is_open(dialog(await page(c, f"/bookings/{live_soon}?ask=cancel"), "cancel"))


def rows(html: str) -> list[str]:
    return re.findall(r'<tr class="row-\w+" data-booking="(\w+)"', html)


def row(html: str, booking_id: str) -> str:
    match = re.search(rf'<tr class="row-\w+" data-booking="{booking_id}".*?</tr>', html, re.S)
    assert match, f"no row {booking_id}"
    return match.group(0)


async def test_the_list_is_by_time_and_says_what_each_booking_waits_for(
    clocked: ClockedApp,
) -> None:
    c = clocked  # 08:00 UTC
    later = await book(c, 9, THREE, "Evening link")  # 17:00
    declined = await book(c, 4, ["trend", "dha"], "Declined at noon")  # 12:00 today
    soon = await book(c, 1, ["trend", "kabar"], "Morning link")  # 09:00
    early = await book(c, 0.5, ["dha", "uza"], "Earliest")  # 08:30
    await api(c, declined, "decline", "operator", {"studio": "trend", "reason": "No crew"})
    await api(c, later, "confirm", "admin", {"studio": "dha"})
    await api(c, later, "decline", "admin", {"studio": "kabar", "reason": "Off air"})
    await api(c, soon, "confirm", "admin", {"studio": "kabar"})

    await as_user(c, "producer")
    html = await page(c, "/bookings")
    listed = [b for b in rows(html) if b in (later, declined, soon, early)]
    assert listed == [early, soon, declined, later]  # by time, whatever the status
    assert "pill-declined" in row(html, declined)
    assert "declined by Trend" in row(html, declined)
    assert "waiting for DHA, UzA" in row(html, early)
    assert "waiting for Trend" in row(html, soon)
    assert "Kabar declined — your decision" in row(html, later)
    assert declined not in rows(await page(c, "/bookings?when=past"))

    await as_user(c, "operator-trend")
    html = await page(c, "/bookings")
    assert "needs your answer" in row(html, soon)
    assert "needs your answer" in row(html, later)
    assert early not in rows(html)  # not Trend's
    await api(c, later, "confirm", "operator", {"studio": "trend"})
    html = await page(c, "/bookings")
    assert "Kabar declined — waiting for the producer" in row(html, later)

    # Past: by the clock alone, the latest first; the declined one once its end has passed.
    c.clock.set(c.clock() + timedelta(hours=6))  # 14:00: all but the evening link are over
    await as_user(c, "producer")
    html = await page(c, "/bookings?when=past")
    assert [b for b in rows(html) if b in (later, declined, soon, early)] == [
        declined,
        soon,
        early,
    ]
    upcoming = rows(await page(c, "/bookings"))
    assert [b for b in upcoming if b in (later, declined, soon, early)] == [later]
