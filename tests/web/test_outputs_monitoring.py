"""Live outputs on master control: their state, bitrate and last error in /api/live, /ws/monitor,
/metrics and the monitor page, an alert for one not live on air, and never a secret.

The bridge's figures are built here as the bridge hands them (`OutputFigures` in a room's
`RoomHealth`); everything from there on is the real app: the outputs stored through the API, the
monitor's sampler, its alerts, the routes and the page in three languages.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from helpers import bearer
from openapi_check import response_validator
from prometheus_client.parser import text_string_to_metric_families
from webtools import ClockedApp, MovableClock

from bridge.room import Room
from bridge.spec import OutputFigures, OutputKind, OutputState, RoomHealth
from harness.waiting import eventually
from schedules.outputs.record import MASK, Output, scrubbed
from schedules.outputs.record import OutputKind as StoredKind
from web.access.security import new_token, token_digest
from web.app import make_app
from web.demo import seed_demo
from web.live.alerts import OUTPUT_GRACE_SECONDS, AlertBook
from web.live.autopilot import room_spec
from web.live.live_json import room_json
from web.live.metrics import render_metrics
from web.live.room_view import OutputView, RoomView
from web.pages.i18n import LANGUAGES, Catalogs
from web.services import ACCOUNTS, BOOKINGS, LIVE, MONITOR, OUTPUT_CONTROL
from web.settings import Settings

# Recognisable secrets: none of them may appear in any answer, page or log line.
KEY = "yt-KEY-5f3a-SECRET-9b1c"
PASSPHRASE = "PASSPHRASE-horse-battery"
PASSWORD = "PWD-relay-4242"
TOKEN = "QUERYTOKEN-77aa"
SECRETS = (KEY, PASSPHRASE, PASSWORD, TOKEN)
RTMP_URL = f"rtmp://relay:{PASSWORD}@127.0.0.1:1/live?auth={TOKEN}"
# What a library would say, quoting the URL it was handed (the key as its last part).
REFUSED = f"rtmp://relay:{PASSWORD}@127.0.0.1:1/live/{KEY}?auth={TOKEN}: Connection refused"
AT = datetime(2030, 5, 6, 9, 0, tzinfo=UTC)
FIXED_NOW = datetime(2030, 1, 15, 8, 0, tzinfo=UTC)
FMT = "%Y-%m-%dT%H:%M:%SZ"


# --- the pure parts: the view, its JSON, the metrics and the alerts --------------------------


def _view(
    oid: str,
    kind: OutputKind,
    state: OutputState,
    kbps: float | None = None,
    error: str | None = None,
    name: str = "",
) -> OutputView:
    figures = OutputFigures(oid, kind, state, kbps, error, retries=2 if error else 0)
    return OutputView(oid, name or oid, f"target-of-{oid}", figures)


def _room(state: str, *outputs: OutputView, open_: bool = True) -> RoomView:
    return RoomView(
        booking_id="bk1",
        title="Morning link",
        state=state,
        open=open_,
        opens_at=AT,
        on_air_at=AT,
        off_air_at=AT,
        outputs=outputs,
    )


def test_an_open_room_lists_its_outputs_with_state_bitrate_and_error() -> None:
    room = _room(
        "on_air",
        _view("o1", OutputKind.RTMP, OutputState.LIVE, 2150.5, name="YouTube"),
        _view("o2", OutputKind.SRT, OutputState.RETRYING, None, "Connection refused"),
    )
    doc = room_json(room)
    assert doc["outputs"] == [
        {
            "id": "o1",
            "kind": "rtmp",
            "name": "YouTube",
            "target": "target-of-o1",
            "state": "live",
            "bitrate_kbps": 2150.5,
            "last_error": None,
            "retries": 0,
        },
        {
            "id": "o2",
            "kind": "srt",
            "name": "o2",
            "target": "target-of-o2",
            "state": "retrying",
            "bitrate_kbps": None,
            "last_error": "Connection refused",
            "retries": 2,
        },
    ]
    # A room not open yet shows none: its booking's outputs are read when it opens.
    assert room_json(replace(room, open=False))["outputs"] == []


def test_metrics_count_outputs_by_kind_and_state_and_sum_their_bitrate() -> None:
    rooms = [
        _room(
            "on_air",
            _view("o1", OutputKind.RTMP, OutputState.LIVE, 2000.0),
            _view("o2", OutputKind.RTMP, OutputState.LIVE, 1500.5),
            _view("o3", OutputKind.RTMP, OutputState.RETRYING, None, "refused"),
            _view("o4", OutputKind.HLS, OutputState.LIVE, 2100.0),
        ),
        _room("line_check", _view("o5", OutputKind.SRT, OutputState.IDLE)),
        _room("upcoming", _view("o6", OutputKind.SRT, OutputState.LIVE, 9.0), open_=False),
    ]
    text = render_metrics(rooms, clients=0, loop_lag_s=0.0, worst_lag_s=0.0)
    families = {f.name: f for f in text_string_to_metric_families(text)}
    counts = {
        (s.labels["kind"], s.labels["state"]): s.value
        for s in families["telebridge_outputs"].samples
    }
    assert len(counts) == len(OutputKind) * len(OutputState)  # zeros too: no vanishing series
    assert counts[("rtmp", "live")] == 2 and counts[("rtmp", "retrying")] == 1
    assert counts[("hls", "live")] == 1 and counts[("srt", "idle")] == 1
    assert counts[("srt", "live")] == 0  # the room not open yet counts for nothing
    rates = {s.labels["kind"]: s.value for s in families["telebridge_output_bitrate_kbps"].samples}
    assert rates == {"rtmp": 3500.5, "srt": 0.0, "hls": 2100.0}
    # Kind and state only: no output's id, name or target is a label.
    for name in ("telebridge_outputs", "telebridge_output_bitrate_kbps"):
        for sample in families[name].samples:
            assert set(sample.labels) <= {"kind", "state"}
    assert "# TYPE telebridge_outputs gauge" in text


def _active(book: AlertBook) -> list[dict[str, Any]]:
    return [a.as_json() for a in book.active.values()]


def test_an_output_not_live_on_air_raises_an_alert_until_it_is_live_or_stopped() -> None:
    book = AlertBook()
    down = _view("o1", OutputKind.RTMP, OutputState.RETRYING, None, "Connection refused", "YT")

    # Not on air (line check): an output may be tried by hand; nothing is raised.
    assert book.update([_room("line_check", down)], AT, 0.0) == []

    # On air, retrying: raised at once, naming the output and its error.
    (raised,) = book.update([_room("on_air", down)], AT, 1.0)
    assert (raised.kind, raised.output, raised.studio, raised.active) == (
        "output_down",
        "o1",
        None,
        True,
    )
    assert raised.message == "Output YT (RTMP) not live (retrying): Connection refused"
    assert raised.params == {
        "output": "YT",
        "kind": "RTMP",
        "state": "retrying",
        "error": "Connection refused",
    }
    # It keeps up with the output while raised (the next attempt fails another way).
    failed = replace(
        down, figures=replace(down.figures, state=OutputState.FAILED, last_error="timed out")
    )
    assert book.update([_room("on_air", failed)], AT, 2.0) == []
    assert _active(book)[0]["params"]["error"] == "timed out"
    assert _active(book)[0]["params"]["state"] == "failed"

    # Live again: cleared, the same alert.
    live = replace(down, figures=OutputFigures("o1", OutputKind.RTMP, OutputState.LIVE, 2000.0))
    (cleared,) = book.update([_room("on_air", live)], AT, 3.0)
    assert cleared.id == raised.id and cleared.cleared_at is not None and not cleared.active

    # Down again, then stopped by hand: cleared.
    (again,) = book.update([_room("on_air", down)], AT, 4.0)
    stopped = replace(down, figures=replace(down.figures, state=OutputState.STOPPED))
    (cleared,) = book.update([_room("on_air", stopped)], AT, 5.0)
    assert cleared.id == again.id and not book.active


def test_an_output_still_connecting_gets_a_grace_before_its_alert() -> None:
    book = AlertBook()
    connecting = _view("o2", OutputKind.SRT, OutputState.CONNECTING, name="Playout")
    idle = _view("o3", OutputKind.HLS, OutputState.IDLE, name="Web")
    rooms = [_room("on_air", connecting, idle)]
    assert book.update(rooms, AT, 100.0) == []
    assert book.update(rooms, AT, 100.0 + OUTPUT_GRACE_SECONDS - 1) == []
    raised = book.update(rooms, AT, 100.0 + OUTPUT_GRACE_SECONDS)
    assert sorted(a.output or "" for a in raised) == ["o2", "o3"]
    by_output = {a.output: a for a in raised}
    # No error yet: the page uses its shorter wording.
    assert by_output["o2"].message == "Output Playout (SRT) not live (connecting)"
    assert by_output["o2"].params["error"] == ""
    # The show is over (teardown): they clear.
    assert len(book.update([_room("teardown", connecting, idle)], AT, 200.0)) == 2


def test_an_error_loses_every_secret_of_its_output() -> None:
    output = Output(StoredKind.RTMP, "YouTube", RTMP_URL, key=KEY, id="o1", booking_id="bk1")
    text = scrubbed(REFUSED, output)
    assert text is not None and "Connection refused" in text and MASK in text
    assert not [s for s in SECRETS if s in text]
    srt = Output(StoredKind.SRT, "Playout", "srt://127.0.0.1:9", passphrase=PASSPHRASE, id="o2")
    assert scrubbed(f"bad passphrase {PASSPHRASE}", srt) == f"bad passphrase {MASK}"
    assert scrubbed(None, srt) is None and scrubbed("", srt) == ""
    # Short query values are not masked: they would eat ordinary words of the message.
    short = Output(StoredKind.RTMP, "X", "rtmp://h/app?a=1&q=hd", id="o3")
    assert scrubbed("hd stream dropped at 1 s", short) == "hd stream dropped at 1 s"


# --- the real app ---------------------------------------------------------------------------


@pytest.fixture
def backend() -> str:
    """Master control reads no table the backends differ in: SQLite only."""
    return "sqlite"


@pytest.fixture
async def monitored(
    settings: Settings,
    aiohttp_client: Callable[[web.Application], Awaitable[TestClient[Any, Any]]],
) -> ClockedApp:
    """The app on a movable clock without its autopilot: the test opens the room itself (no
    program to compose: outputs' figures come from the test, as the bridge hands them)."""
    clock = MovableClock(FIXED_NOW)
    app = await make_app(settings, clock=clock, autopilot=False)
    await seed_demo(app[BOOKINGS], app[ACCOUNTS], clock())
    headers: dict[str, dict[str, str]] = {}
    for role in ("admin", "producer"):
        token = new_token()
        await app[ACCOUNTS].add_token(token_digest(token), f"{role}-bot", role, clock())
        headers[role] = bearer(token)
    return ClockedApp(app, await aiohttp_client(app), clock, headers)


class Reported:
    """The room's outputs as the bridge reports them in its snapshots; the test sets them."""

    def __init__(self, room: Room) -> None:
        self.figures: dict[str, OutputFigures] = {}
        self._snapshot = room.live_snapshot

        async def live_snapshot() -> RoomHealth:
            health = await self._snapshot()
            return replace(health, outputs=tuple(self.figures.values()))

        room.live_snapshot = live_snapshot  # type: ignore[method-assign]


@pytest.fixture
def secrets_logged(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """No log line of the app carries a secret (alerts are logged with their error)."""
    yield
    for record in caplog.records:
        line = record.getMessage()
        assert not [s for s in SECRETS if s in line], line


async def _add_outputs(c: ClockedApp, booking_id: str) -> dict[str, str]:
    bodies: list[dict[str, Any]] = [
        {"kind": "rtmp", "name": "YouTube", "url": RTMP_URL, "key": KEY},
        {
            "kind": "srt",
            "name": "Playout",
            "url": "srt://127.0.0.1:9",
            "passphrase": PASSPHRASE,
            "latency_ms": 400,
        },
        {"kind": "hls", "name": "Web player"},
    ]
    ids = {}
    for body in bodies:
        resp = await c.client.post(
            f"/api/bookings/{booking_id}/outputs", json=body, headers=c.headers["producer"]
        )
        assert resp.status == 201, await resp.text()
        ids[str(body["kind"])] = (await resp.json())["output"]["id"]
    return ids


async def _open_room(c: ClockedApp, booking_id: str) -> Room:
    """The booking's room as the autopilot opens it, without a program (nothing to compose)."""
    booking = await c.app[BOOKINGS].get(booking_id)
    room = Room(replace(room_spec(booking, {}, 15), program=False))
    c.app[LIVE].rooms[booking_id] = room
    control = c.app[LIVE].outputs
    assert control is not None
    await control.opened(booking_id)  # what the autopilot's open does: the outputs read
    return room


def _no_secret(where: str, body: str) -> None:
    leaked = [s for s in SECRETS if s in body]
    assert not leaked, f"{where} shows {leaked}"


@pytest.mark.usefixtures("secrets_logged")
async def test_master_control_shows_outputs_and_their_alert_without_a_secret(
    monitored: ClockedApp,
) -> None:
    c = monitored
    producer = c.headers["producer"]
    starts = c.clock() + timedelta(minutes=5)
    resp = await c.client.post(
        "/api/bookings",
        json={
            "title": "Caspian energy week",
            "studios": ["trend", "dha"],
            "starts_at": starts.strftime(FMT),
            "ends_at": (starts + timedelta(hours=1)).strftime(FMT),
            "setup_minutes": 15,
            "record": False,  # no recording: its own alert stays out of this test
        },
        headers=producer,
    )
    assert resp.status == 201, await resp.text()
    bid = (await resp.json())["booking"]["id"]
    ids = await _add_outputs(c, bid)
    room = await _open_room(c, bid)
    reported = Reported(room)
    bodies: dict[str, str] = {}

    async def live_doc() -> dict[str, Any]:
        resp = await c.client.get("/api/live", headers=producer)
        assert resp.status == 200
        text = await resp.text()
        _no_secret("/api/live", text)
        doc: dict[str, Any] = json.loads(text)
        return doc

    async def outputs_shown(state_of: dict[str, str]) -> dict[str, Any] | None:
        doc = await live_doc()
        rooms = {r["booking_id"]: r for r in doc["rooms"]}
        outputs = {o["kind"]: o for o in rooms[bid]["outputs"]} if bid in rooms else {}
        shown = {k: o["state"] for k, o in outputs.items()}
        return {"doc": doc, "outputs": outputs} if shown == state_of else None

    try:
        # Line check: the output policy has not read the outputs yet; master control shows
        # them idle, in the order added, their targets masked.
        first = await eventually(
            lambda: outputs_shown({"rtmp": "idle", "srt": "idle", "hls": "idle"}),
            timeout=10,
            message="the booking's outputs idle on master control",
        )
        outputs = first["outputs"]
        assert [o["id"] for o in first["doc"]["rooms"][0]["outputs"]] == list(ids.values())
        assert outputs["rtmp"]["target"].startswith(f"rtmp://{MASK}@127.0.0.1:1/live")
        assert outputs["srt"]["target"] == "srt://127.0.0.1:9 (passphrase set)"
        assert outputs["hls"]["target"] == f"/live/{bid}/index.m3u8"
        assert first["doc"]["alerts"] == []  # not on air: nothing is late yet

        # On air: the policy has read them (as it does at on-air); the bridge pushes SRT,
        # connects HLS, and RTMP's destination refuses: retrying, with the library's words.
        c.clock.set(starts + timedelta(minutes=1))
        await c.app[OUTPUT_CONTROL].outputs_of(bid)
        reported.figures = {
            ids["rtmp"]: OutputFigures(
                ids["rtmp"], OutputKind.RTMP, OutputState.RETRYING, None, REFUSED, 3
            ),
            ids["srt"]: OutputFigures(ids["srt"], OutputKind.SRT, OutputState.LIVE, 2150.5),
            ids["hls"]: OutputFigures(ids["hls"], OutputKind.HLS, OutputState.CONNECTING),
        }

        async def alert_raised() -> dict[str, Any] | None:
            shown = await outputs_shown({"rtmp": "retrying", "srt": "live", "hls": "connecting"})
            if shown is None:
                return None
            alerts = [a for a in shown["doc"]["alerts"] if a["kind"] == "output_down"]
            return {**shown, "alerts": alerts} if alerts else None

        on_air = await eventually(alert_raised, timeout=10, message="the output_down alert")
        rtmp, srt = on_air["outputs"]["rtmp"], on_air["outputs"]["srt"]
        masked = f"rtmp://{MASK}:{MASK}@127.0.0.1:1/live/{MASK}?auth={MASK}: Connection refused"
        assert rtmp["last_error"] == masked
        assert (rtmp["retries"], rtmp["bitrate_kbps"]) == (3, None)
        assert (srt["bitrate_kbps"], srt["last_error"]) == (2150.5, None)
        (alert,) = on_air["alerts"]  # HLS is still within its grace
        assert (alert["booking_id"], alert["output"], alert["studio"]) == (bid, ids["rtmp"], None)
        assert alert["params"]["output"] == "YouTube" and alert["params"]["state"] == "retrying"
        assert alert["params"]["error"].endswith("Connection refused")
        assert "YouTube (RTMP) not live (retrying)" in alert["message"]

        # /api/live answers as documented.
        described = await c.client.get("/api/openapi.json")
        validator = response_validator(
            await described.json(), "GET", "/api/live", 200, "application/json"
        )
        errors = [e.message for e in validator.iter_errors(on_air["doc"])]
        assert not errors, errors

        # Prometheus: per kind and state, the bitrate summed per kind.
        resp = await c.client.get("/metrics", headers=producer)
        bodies["/metrics"] = text = await resp.text()
        families = {f.name: f for f in text_string_to_metric_families(text)}
        counts = {
            (s.labels["kind"], s.labels["state"]): s.value
            for s in families["telebridge_outputs"].samples
        }
        assert counts[("rtmp", "retrying")] == 1 and counts[("srt", "live")] == 1
        assert counts[("hls", "connecting")] == 1 and counts[("rtmp", "live")] == 0
        rates = {
            s.labels["kind"]: s.value for s in families["telebridge_output_bitrate_kbps"].samples
        }
        assert rates == {"rtmp": 0.0, "srt": 2150.5, "hls": 0.0}

        # The monitor's socket carries the same, and the page words the alert in each language.
        async with c.client.ws_connect("/ws/monitor", headers=producer) as ws:
            hello = (await ws.receive(timeout=5)).data
            snapshot = (await ws.receive(timeout=5)).data
        bodies["/ws/monitor hello"], bodies["/ws/monitor snapshot"] = hello, snapshot
        assert any(a["kind"] == "output_down" for a in json.loads(snapshot)["alerts"])
        catalogs = Catalogs()
        for lang in LANGUAGES:
            resp = await c.client.get("/monitor", headers={**producer, "Accept-Language": lang})
            assert resp.status == 200
            bodies[f"/monitor ({lang})"] = page = await resp.text()
            t = catalogs.get(lang)
            wording = t.gettext("Output {output} ({kind}) not live ({state}): {error}")
            if lang != "en":
                assert wording != "Output {output} ({kind}) not live ({state}): {error}"
            assert f'data-t-alert-output-down="{wording}"' in page
            assert f'data-t-output-retrying="{t.gettext("retrying")}"' in page
            # What the page shows, filled in as monitor.js fills it.
            params = {**alert["params"], "state": t.gettext(alert["params"]["state"])}
            shown = wording.format(**params)
            assert "YouTube" in shown and shown.endswith("Connection refused")
        assert "yeniden deniyor" in catalogs.get("tr").gettext("retrying")

        # Live again: the alert clears (and stays in the socket's recent list as cleared).
        reported.figures[ids["rtmp"]] = OutputFigures(
            ids["rtmp"], OutputKind.RTMP, OutputState.LIVE, 1990.0, REFUSED, 3
        )
        reported.figures[ids["hls"]] = OutputFigures(
            ids["hls"], OutputKind.HLS, OutputState.LIVE, 2100.0
        )

        async def cleared() -> dict[str, Any] | None:
            shown = await outputs_shown({"rtmp": "live", "srt": "live", "hls": "live"})
            return shown if shown is not None and not shown["doc"]["alerts"] else None

        await eventually(cleared, timeout=10, message="the output_down alert cleared")
        recent = c.app[MONITOR].alerts.recent()
        assert [a["active"] for a in recent if a["output"] == ids["rtmp"]] == [False]

        # Down again, then the producer stops it (the room forgets it): stopped, cleared.
        reported.figures[ids["rtmp"]] = OutputFigures(
            ids["rtmp"], OutputKind.RTMP, OutputState.FAILED, None, REFUSED, 4
        )
        alert_failed = _alert_for(live_doc, ids["rtmp"])
        await eventually(alert_failed, timeout=10, message="the alert of the failed output")
        resp = await c.client.post(
            f"/api/bookings/{bid}/outputs/{ids['rtmp']}/stop", headers=producer
        )
        bodies["POST .../stop"] = await resp.text()
        assert resp.status == 200, bodies["POST .../stop"]
        resp = await c.client.get(f"/api/bookings/{bid}/outputs", headers=producer)
        bodies["GET .../outputs"] = await resp.text()
        assert resp.status == 200, bodies["GET .../outputs"]
        del reported.figures[ids["rtmp"]]
        await eventually(
            lambda: outputs_shown({"rtmp": "stopped", "srt": "live", "hls": "live"}),
            timeout=10,
            message="the stopped output shown stopped",
        )
        assert not await alert_failed()
    finally:
        c.app[LIVE].rooms.pop(bid, None)
        await room.close()
    for where, body in bodies.items():
        _no_secret(where, body)


def _alert_for(
    live_doc: Callable[[], Awaitable[dict[str, Any]]], output_id: str
) -> Callable[[], Awaitable[bool]]:
    async def raised() -> bool:
        doc = await live_doc()
        return any(a["output"] == output_id for a in doc["alerts"])

    return raised
