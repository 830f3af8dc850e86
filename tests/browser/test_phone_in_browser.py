"""Every page on a phone (issue 14), in Chromium at 390 x 844: no page scrolls sideways, the
top bar folds its links under a Menu button (by mouse and keyboard; without scripts it wraps),
tables become a card per row with each cell's heading, the booking page's join links are
"Open console" and "Copy link" buttons, the calendar is a list of days and the console one
column. The same pages at 1440 x 900 keep the bar, the tables and the week grid."""

from __future__ import annotations

from datetime import timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from login import log_in

from harness.api import book
from harness.server import producer_token

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}
DESK = {"width": 1440, "height": 900}
TITLE = "Phone check: a joint hour from Baku, Istanbul and Rome"

# Each table cell's display, and the heading its card shows over it (the ::before's content).
CELLS = """() => [...document.querySelectorAll('table.table')].filter((t) => t.offsetParent)
  .flatMap((t) => [...t.querySelectorAll('tbody tr')].map((tr) => [...tr.cells].map((td) => ({
    display: getComputedStyle(td).display,
    empty: td.childNodes.length === 0,
    label: td.dataset.label || null,
    shown: getComputedStyle(td, '::before').content,
    heading: t.tHead.rows[0].cells[td.cellIndex].textContent.trim(),
  }))))"""
# What sticks out past the right edge of the screen (to say why a page scrolls sideways).
WIDE = """() => [...document.querySelectorAll('body *')]
  .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 1)
  .slice(0, 5).map((el) => `${el.tagName.toLowerCase()}.${el.className}`)"""


def _booked(server: str, tmp_path: Path) -> tuple[str, dict[str, str]]:
    """A booking of three studios whose line check is on now: (its id, its join links)."""
    token = producer_token(tmp_path / "data")
    links = book(server, token, ["trend", "dha", "ansa"], timedelta(minutes=5), title=TITLE)
    return next(iter(links.values())).split("/join/")[1].split("/")[0], links


def _pages(booking: str) -> dict[str, str]:
    return {
        "bookings": "/bookings",
        "calendar": "/calendar",
        "booking": f"/bookings/{booking}",
        "archive": "/archive",
        "studios": "/studios",
        "monitor": "/monitor",
        "new-booking": "/bookings/new",
    }


def _fits(page: Any, what: str) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"{what} is {width} px wide: {page.evaluate(WIDE)}"


def _menu_folds_and_opens(page: Any, what: str, keyboard: bool = False) -> None:
    """The nav is folded under the Menu button; the button opens it as a column and closes it."""
    toggle = page.locator("button.navtoggle")
    nav = page.locator("#mainnav")
    assert toggle.is_visible(), f"{what}: no Menu button"
    assert toggle.get_attribute("aria-expanded") == "false"
    assert "mainnav" in (toggle.get_attribute("aria-controls") or "").split()
    assert not nav.is_visible(), f"{what}: the nav is not folded"
    if keyboard:
        toggle.focus()
        page.keyboard.press("Enter")
    else:
        toggle.click()
    assert toggle.get_attribute("aria-expanded") == "true"
    nav.wait_for(state="visible")
    boxes = [link.bounding_box() for link in nav.locator("a").all()]
    assert len(boxes) >= 5 and all(boxes), boxes
    # A vertical list: each link under the one before, at the same left edge, on the screen.
    for above, below in pairwise(boxes):
        assert below["y"] >= above["y"] + above["height"] - 1, (what, boxes)
        assert abs(below["x"] - above["x"]) < 2, (what, boxes)
    assert all(b["x"] + b["width"] <= PHONE["width"] for b in boxes), (what, boxes)
    _fits(page, f"{what} with the menu open")
    if keyboard:
        # The links follow the button in the tab order; Escape folds them, back on the button.
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.closest('#mainnav') !== null"), what
        page.screenshot(path=str(ARTIFACTS / "phone-menu-open.png"))
        page.keyboard.press("Escape")
        assert page.evaluate("document.activeElement.matches('button.navtoggle')"), what
    else:
        toggle.click()
    assert toggle.get_attribute("aria-expanded") == "false"
    nav.wait_for(state="hidden")


def _rows_are_cards(page: Any, what: str) -> int:
    """Each cell of each table row is a line of its card, under its column's heading."""
    rows = page.evaluate(CELLS)
    for row in rows:
        for cell in row:
            # A cell with nothing in it takes no line of the card.
            wanted = "none" if cell["empty"] else "block"
            assert cell["display"] == wanted, f"{what}: a cell is {cell['display']}"
            if cell["heading"]:
                assert cell["label"], f"{what}: the {cell['heading']} cell has no data-label"
                assert cell["shown"] == f'"{cell["label"]}"', (what, cell)
    return len(rows)


def test_every_page_fits_a_phone(server: str, browser_context: Any, tmp_path: Path) -> None:
    booking, links = _booked(server, tmp_path)
    browser_context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server)
    page = browser_context.new_page()
    page.set_viewport_size(PHONE)
    log_in(page, server, "producer")

    card_rows = {}
    for name, path in _pages(booking).items():
        page.goto(server + path)
        _fits(page, name)
        _menu_folds_and_opens(page, name, keyboard=name == "bookings")
        card_rows[name] = _rows_are_cards(page, name)
        page.screenshot(path=str(ARTIFACTS / f"phone-{name}.png"), full_page=True)
    # The bookings list and the booking's studios were tables (the archive has no recording).
    assert card_rows["bookings"] >= 2 and card_rows["booking"] == 3, card_rows
    assert card_rows["studios"] >= 9, card_rows

    # The calendar on a phone: the week's days as a list, the booking under its day.
    page.goto(server + "/calendar")
    assert not page.locator(".weekgrid").is_visible()
    assert page.locator(".agenda-day").count() == 7
    # (Under both days when the hour it is booked for runs over midnight.)
    items = page.locator(f".agenda-item a[href='/bookings/{booking}']")
    assert items.count() in (1, 2)
    assert items.first.is_visible() and TITLE in items.first.inner_text()

    # The join links are buttons: "Open console" opens the link, "Copy link" copies it.
    page.goto(f"{server}/bookings/{booking}")
    rows = page.locator(".joinlinks li")
    assert rows.count() == 3
    first = rows.first
    opener = first.get_by_role("link", name="Open console")
    url = opener.get_attribute("href")
    assert url in links.values(), url
    assert opener.get_attribute("target") == "_blank"
    # No token to read on the page: the link itself is folded away until asked for.
    assert not first.locator("input").is_visible()
    first.get_by_role("button", name="Copy link").click()
    status = first.locator("[data-copy-status]")
    assert status.get_attribute("role") == "status"
    page.wait_for_function(
        "(el) => el.textContent === 'Copied'", arg=status.element_handle(), polling=100
    )
    assert page.evaluate("navigator.clipboard.readText()") == url
    box = first.bounding_box()
    assert box and box["x"] + box["width"] <= PHONE["width"], box
    first.screenshot(path=str(ARTIFACTS / "phone-join-link-copied.png"))

    # The console: its header above the tally, the program and the partners in one column.
    console = browser_context.new_page()
    console.set_viewport_size(PHONE)
    console.goto(links["trend"])
    console.locator("#tally").wait_for()
    _fits(console, "console")
    title = console.locator(".console-head h1").bounding_box()
    tally = console.locator("#tally").bounding_box()
    assert title and tally and tally["y"] >= title["y"] + title["height"], (title, tally)
    tiles = [t.bounding_box() for t in console.locator(".console-main .tile").all()]
    assert len(tiles) == 3 and all(tiles), tiles  # the program and two partners
    for above, below in pairwise(tiles):
        assert below["y"] >= above["y"] + above["height"], tiles
        assert abs(below["x"] - above["x"]) < 2 and abs(below["width"] - above["width"]) < 2
    _menu_folds_and_opens(console, "console")
    console.screenshot(path=str(ARTIFACTS / "phone-console.png"), full_page=True)

    # Without scripts the Menu button never shows: the bar wraps and every link is on screen.
    bare = browser_context.new_page()
    bare.set_viewport_size(PHONE)
    bare.route("**/static/*.js", lambda route: route.abort())
    bare.goto(server + "/bookings")
    assert not bare.locator("button.navtoggle").is_visible()
    for link in bare.locator("#mainnav a").all():
        box = link.bounding_box()
        assert link.is_visible() and box and box["x"] + box["width"] <= PHONE["width"], box
    _fits(bare, "bookings without scripts")
    bare.screenshot(path=str(ARTIFACTS / "phone-bookings-without-scripts.png"))


def test_the_same_pages_on_a_desk_keep_the_bar_tables_and_week(
    server: str, browser_context: Any, tmp_path: Path
) -> None:
    booking, links = _booked(server, tmp_path)
    page = browser_context.new_page()
    page.set_viewport_size(DESK)
    log_in(page, server, "producer")
    for name, path in _pages(booking).items():
        page.goto(server + path)
        _fits(page, name)
        assert not page.locator("button.navtoggle").is_visible(), name
        assert page.locator("#mainnav").is_visible(), name
        for row in page.evaluate(CELLS):
            assert {cell["display"] for cell in row} == {"table-cell"}, (name, row)
        page.screenshot(path=str(ARTIFACTS / f"desk-{name}.png"), full_page=True)
    page.goto(server + "/calendar")
    assert page.locator(".weekgrid").is_visible() and not page.locator(".agenda").is_visible()
    console = browser_context.new_page()
    console.set_viewport_size(DESK)
    console.goto(links["trend"])
    console.locator("#tally").wait_for()
    _fits(console, "console")
    console.screenshot(path=str(ARTIFACTS / "desk-console.png"))
