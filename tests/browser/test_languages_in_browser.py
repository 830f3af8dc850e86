"""The studio console in each partner's language: a browser set to that language joins live and
everything it shows, the tally and the producer's cues included, is in it (one screenshot per
language); the operator acknowledges a cue with one click and the producer sees it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from live_helpers import LIGHT_QUALITY, wait

from harness.api import api, book
from harness.server import producer_token
from schedules.accounts import LANGUAGES
from web.pages.i18n import Catalogs

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("test_network")]
# Joined live in these (each join costs seconds); the others are checked before joining.
LIVE_IN = ("az", "kk", "ru")
BROWSER_LANGUAGE = {  # as each partner's browsers send it
    "en": "en-GB,en;q=0.9",
    "az": "az-AZ,az;q=0.9,ru;q=0.5",
    "tr": "tr-TR,tr;q=0.9",
    "kk": "kk-KZ,kk;q=0.9,ru;q=0.8",
    "ky": "ky-KG,ky;q=0.9,ru;q=0.8",
    "uz": "uz-UZ,uz;q=0.9,ru;q=0.8",
    "ru": "ru-RU,ru;q=0.9,en;q=0.5",
}


def test_the_console_speaks_each_partners_language_live(
    server: str, browser_context: Any, tmp_path: Path
) -> None:
    assert set(BROWSER_LANGUAGE) == set(LANGUAGES)
    token = producer_token(tmp_path / "data")
    links = book(server, token, ["trend", "ansa"], timedelta(minutes=5), quality=LIGHT_QUALITY)
    rome = browser_context.new_page()
    rome.goto(links["ansa"])
    rome.click("#join")
    wait(rome, "() => window.telebridge && window.telebridge.stats.outbound", 30)
    catalogs = Catalogs()
    for lang, header in BROWSER_LANGUAGE.items():
        t = catalogs.get(lang)
        baku = browser_context.new_page()
        baku.set_extra_http_headers({"Accept-Language": header})
        baku.goto(links["trend"])
        assert baku.evaluate("document.documentElement.lang") == lang
        tally = baku.locator("#tally .tally-label")
        if lang not in LIVE_IN:  # the console before joining, in the language
            assert tally.inner_text() == t.gettext("LINE CHECK")
            assert baku.locator("#quality-text").inner_text() == t.gettext("Not connected")
            baku.screenshot(path=str(ARTIFACTS / f"console-{lang}.png"))
            baku.close()
            continue
        baku.click("#join")  # replaces the previous language's connection of the studio
        assert tally.inner_text() == t.gettext("LINE CHECK")
        if lang != "en":
            assert tally.inner_text() != "LINE CHECK"
            assert baku.get_by_role("button", name=t.gettext("Leave")).count() == 1
        baku.wait_for_function(
            "(text) => [...document.querySelectorAll('.tile-status')]"
            ".some((e) => e.textContent === text)",
            arg=t.gettext("receiving"),  # a partner tile, its picture arriving
            timeout=30_000,
        )
        if lang in ("kk", "ru"):  # a cue, shown large in the language, acknowledged
            _cue_round_trip(server, token, links["trend"], baku, lang)
        if lang == "az":  # the chat beside the picture, both ways
            _chat_round_trip(server, token, links["trend"], baku, lang)
        baku.screenshot(path=str(ARTIFACTS / f"console-{lang}.png"))
        baku.close()


def _chat_round_trip(server: str, token: str, link: str, page: Any, lang: str) -> None:
    gettext = Catalogs().get(lang).gettext
    booking_id = link.split("/join/")[1].split("/")[0]
    messages = f"/api/bookings/{booking_id}/messages"
    api(server, token, "POST", messages, {"text": "Baku, <i>mic 2</i> please", "to": "trend"})
    item = page.locator("#chat-log .chat-item").last
    item.wait_for(timeout=45_000)
    assert item.locator(".chat-text").inner_text() == "Baku, <i>mic 2</i> please"  # as text
    who = item.locator(".chat-who").inner_text()
    assert who.startswith(gettext("Production")) and gettext("private") in who, who
    assert page.locator("#chat-new").is_visible()  # announced, beside the picture
    page.locator("#chat-text").fill("Mic 2 is fixed")
    page.locator("#chat-private").check()
    page.get_by_role("button", name=gettext("Send")).click()
    page.locator("#chat-log .chat-item", has_text="Mic 2 is fixed").wait_for(timeout=45_000)
    page.screenshot(path=str(ARTIFACTS / f"console-chat-{lang}.png"))
    seen = api(server, token, "GET", messages)["messages"]
    assert (seen[-1]["from"], seen[-1]["to"], seen[-1]["text"]) == (
        "trend",
        "trend",
        "Mic 2 is fixed",
    )


def _cue_round_trip(server: str, token: str, link: str, page: Any, lang: str) -> None:
    gettext = Catalogs().get(lang).gettext
    booking_id = link.split("/join/")[1].split("/")[0]
    cues = f"/api/bookings/{booking_id}/cues"
    sent = api(
        server, token, "POST", cues, {"studio": "trend", "cue": "ten_seconds", "text": "<b>2</b>"}
    )["cue"]
    box = page.locator("#cue")
    box.wait_for(state="visible", timeout=45_000)
    assert page.locator("#cue-label").inner_text() == gettext("10 SECONDS")
    assert page.locator("#cue-text").inner_text() == "<b>2</b>"  # text, never markup
    page.screenshot(path=str(ARTIFACTS / f"console-cue-{lang}.png"))
    page.get_by_role("button", name=gettext("Got it")).click()
    box.wait_for(state="hidden", timeout=45_000)
    seen = {c["id"]: c for c in api(server, token, "GET", cues)["cues"]}
    assert seen[sent["id"]]["acknowledged_by"] == "trend console", seen
