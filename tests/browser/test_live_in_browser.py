"""Studios join their telebridge from Chromium and see and hear each other through the server."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from live_helpers import relayed_rates, sees, wait

from harness.api import api, book
from harness.server import producer_token

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("test_network")]


def test_two_studios_see_and_hear_each_other_at_720p(
    server: str, browser_context: Any, tmp_path: Path
) -> None:
    token = producer_token(tmp_path / "data")
    links = book(server, token, ["trend", "ansa"], timedelta(minutes=5))
    baku = browser_context.new_page()
    rome = browser_context.new_page()
    for page, studio in ((baku, "trend"), (rome, "ansa")):
        page.goto(links[studio])
        page.click("#join")
    seconds = wait(baku, sees("ansa"), 30)
    wait(rome, sees("trend"), 30)
    # Chromium sends at the profile's bitrate (not aiortc's 0.76 Mbps estimate), and keeps the
    # resolution when its encoder runs short of CPU (it gives up frames instead).
    wait(
        baku,
        "() => { const o = window.telebridge.stats.outbound;"
        " return o && o.width === 1280 && o.height === 720 && o.targetBitrate >= 2000000"
        " && o.degradation === 'maintain-resolution'; }",
        15,
    )
    # The relay passes on every frame the sender encodes. On an idle machine that is the
    # profile's 30 fps; on a loaded one Chromium's encoder sends fewer, so the measure is the
    # ratio of what Rome receives to what Baku sends, with a floor that is still live video.
    rates = relayed_rates(baku, rome, "trend")
    print(f"\nBaku sends {rates[0]:.0f} fps, Rome receives {rates[1]:.0f} fps")
    print(f"\nJoin to 1280x720 with sound at the partner: {seconds:.1f} s")
    assert baku.locator("#tally .tally-label").inner_text() == "LINE CHECK"
    # The program comes back as the return feed: the server's H.264 at 720p, moving, with sound
    # (the mix-minus), and that is what the operator hears; the partners' own audio is muted.
    # (Its frame rate is the program's: 30 fps idle; with one core busy its picture gives up
    # frames first, and the bridge's tests hold the feed to the program's own rate.)
    wait(
        baku,
        "() => { const p = window.telebridge.stats.program; return p && p.width === 1280"
        " && p.height === 720 && p.fps > 0 && p.audioBytes > 0"
        " && p.codec === 'video/H264'; }",
        20,
    )
    muted = baku.evaluate(
        "() => [document.querySelector('#program-tile video').muted,"
        " [...document.querySelectorAll('.tile[data-partner] video')].every(v => v.muted)]"
    )
    assert muted == [False, True]
    baku.click("[data-listen=partners]")
    muted = baku.evaluate(
        "() => [document.querySelector('#program-tile video').muted,"
        " [...document.querySelectorAll('.tile[data-partner] video')].some(v => v.muted)]"
    )
    assert muted == [True, False]
    baku.screenshot(path=str(ARTIFACTS / "console-two-studios.png"))

    # Baku puts the program away: the tile folds to its caption, the operator hears Rome
    # directly (the program mix cannot be chosen), and the bridge stops sending the return
    # feed (the state poll says so; with Rome still showing it the room composes on).
    baku.click("#program-away")
    wait(
        baku,
        "async () => { const r = await fetch(JSON.parse(document.getElementById("
        "'console-data').textContent).state_url); return !(await r.json()).program_shown; }",
        10,
    )
    put_away = baku.evaluate(
        "() => [document.querySelector('#program-tile').dataset.putAway,"
        " getComputedStyle(document.querySelector('#program-tile video')).display,"
        " document.querySelector('[data-listen=program]').disabled,"
        " [...document.querySelectorAll('.tile[data-partner] video')].some(v => v.muted),"
        " document.querySelector('#program-away').textContent]"
    )
    assert put_away == ["true", "none", True, False, "Show program"]
    baku.screenshot(path=str(ARTIFACTS / "console-program-put-away.png"))
    baku.click("#program-away")  # and back: the return feed moves again
    wait(baku, "() => document.querySelector('#program-tile').dataset.putAway === 'false'", 5)
    frames = baku.evaluate("() => window.telebridge.stats.program.framesDecoded || 0")
    # A few new pictures decoded (on a loaded machine Chromium decodes the program slowly).
    wait(
        baku,
        f"() => {{ const p = window.telebridge.stats.program;"
        f" return p && (p.framesDecoded || 0) > {frames} + 3; }}",
        30,
    )

    # Rome reloads: the console rejoins by itself and Baku sees Rome again within 5 s.
    started = time.monotonic()
    rome.reload()
    rome.wait_for_function(sees("trend"), timeout=45_000, polling=200)
    baku.wait_for_function(
        "() => { const p = window.telebridge.stats.partners['ansa'];"
        " return p && p.status === 'live' && p.width === 1280; }",
        timeout=45_000,
        polling=200,
    )
    back = time.monotonic() - started
    # A figure, not a timed assertion (1.5-3 s idle; bench/glass_to_glass.py measures joins):
    # what is held is that the console rejoins by itself and is seen again, within the waits.
    print(f"\nRome was back {back:.1f} s after its reload")
    # The bridge's reports land in the booking's audit log.
    booking_id = links["trend"].split("/join/")[1].split("/")[0]
    events = api(server, token, "GET", f"/api/bookings/{booking_id}/audit")["events"]
    joined = [e["details"]["studio"] for e in events if e["action"] == "studio joined"]
    # Rome joined again after its reload (on a machine short of CPU its first attempt can fail
    # and the console tries again: each attempt that reached the room is a join).
    assert joined.count("trend") == 1 and joined.count("ansa") >= 2, joined


def test_a_join_outside_the_window_is_refused_with_the_message(
    server: str, browser_context: Any, tmp_path: Path
) -> None:
    token = producer_token(tmp_path / "data")
    links = book(server, token, ["kabar", "uza"], timedelta(days=3))
    page = browser_context.new_page()
    page.goto(links["kabar"])
    assert "opens for the line check" in page.locator(".alert").inner_text()
    assert page.locator("#join").count() == 0
    # The signalling endpoint refuses it too, with the same reason.
    session = links["kabar"].replace("/join/", "/join/", 1).split("?")
    url = f"{session[0]}/session?{session[1]}"
    request = urllib.request.Request(
        url, method="POST", data=b'{"sdp": "v=0"}', headers={"Content-Type": "application/json"}
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=45)
    assert refused.value.code == 403
    assert json.loads(refused.value.read())["error"]["code"] == "not_open_yet"


def test_a_network_drop_of_a_few_seconds_heals_by_itself(
    server: str, browser_context: Any, tmp_path: Path
) -> None:
    token = producer_token(tmp_path / "data")
    links = book(server, token, ["azertac", "albayrak"], timedelta(minutes=5))
    baku = browser_context.new_page()
    istanbul = browser_context.new_page()
    for page, studio in ((baku, "azertac"), (istanbul, "albayrak")):
        page.goto(links[studio])
        page.click("#join")
    wait(baku, sees("albayrak"), 30)
    wait(istanbul, sees("azertac"), 30)
    # The test network goes away for 4 s: both host addresses vanish, as when a newsroom's
    # uplink drops (the pages' HTTP stays on loopback).
    addresses = (("10.77.0.1/24", "tb0"), ("10.77.0.2/24", "tb1"))
    for address, link in addresses:
        subprocess.run(["ip", "addr", "del", address, "dev", link], check=True)
    try:
        baku.wait_for_function(
            "() => window.telebridge.stats.partners['albayrak'].status !== 'live'",
            timeout=45_000,
            polling=200,
        )
        time.sleep(1)  # stays: the drop lasts a while after the console has noticed it
    finally:
        for address, link in addresses:
            subprocess.run(["ip", "addr", "add", address, "dev", link], check=True)
    healed = wait(baku, sees("albayrak"), 30)
    wait(istanbul, sees("azertac"), 30)
    print(f"\nBack {healed:.1f} s after the network returned")
