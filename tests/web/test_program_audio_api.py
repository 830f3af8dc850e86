"""The producer's program sound over the API: each studio's gain and mute, on air at once."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import av
import numpy as np
import pytest
from live_studios import Studio, book, live_pair
from webtools import ClockedApp, assert_error, check_table

from bridge.program.mixer import GAIN_MAX_DB, GAIN_MIN_DB, AudioMixer
from bridge.room import Room
from harness.waiting import eventually
from web.services import GESTURES, LIVE

pytestmark = pytest.mark.usefixtures("test_network")  # WebRTC on the test veth pair


@pytest.fixture
def backend() -> str:
    """The database plays no part here (storage is tested on both in tests/schedules)."""
    return "sqlite"


# The fader settle time in these tests (1.5 s in service), on the app's clock: the test moves
# it. Short, as the gestures' timers look at the clock that often.
SETTLE_S = 0.3
STEP_S = 0.08  # what the page leaves between a dragged fader's values

# live_studios' ToneTrack plays 440 Hz + the studio's shade: Trend 480 Hz, DHA 640 Hz.
TREND_HZ, DHA_HZ = 480.0, 640.0
WINDOW = 2048  # samples per measured window: 43 ms at 48 kHz, 23 Hz apart in its spectrum


class ProgramEar:
    """Listens to the program's AAC as the recorder gets it and measures the studios' tones."""

    def __init__(self, room: Room) -> None:
        assert room.production is not None
        self.audio = room.production.audio
        self.queue = self.audio.subscribe()
        self.decoder = av.CodecContext.create("aac", "r")
        self.decoder.extradata = self.audio.extradata

    async def tones(self, blocks: int = 48) -> dict[float, float]:
        """The level (dB, relative to full scale) of each tone over `blocks` fresh AAC frames,
        starting after what was mixed before this call."""
        while not self.queue.empty():
            self.queue.get_nowait()
        samples: list[np.ndarray[Any, Any]] = []
        for i in range(blocks + 6):
            packet = await asyncio.wait_for(self.queue.get(), 5)
            for frame in self.decoder.decode(packet):  # type: ignore[attr-defined]
                if i >= 6:  # the encoder's and the jitter buffer's delay: older sound
                    samples.append(frame.to_ndarray()[0])
        mono = np.concatenate(samples)
        # Per window of about 43 ms, then the median over the windows: a dropout or a jump in
        # the sound (a loaded machine's late packet) spoils a few windows, not the measure.
        # One long FFT would smear the tone over every jump and read it several dB low.
        windows = mono[: mono.size // WINDOW * WINDOW].reshape(-1, WINDOW)
        spectra = np.abs(np.fft.rfft(windows * np.hanning(WINDOW), axis=1)) / WINDOW
        freqs = np.fft.rfftfreq(WINDOW, 1 / 48000)

        def level(hz: float) -> float:
            band = spectra[:, (freqs > hz - 30) & (freqs < hz + 30)].max(axis=1)
            return float(20 * np.log10(np.median(band) + 1e-12))

        return {TREND_HZ: level(TREND_HZ), DHA_HZ: level(DHA_HZ)}

    def close(self) -> None:
        self.audio.unsubscribe(self.queue)


async def _audit_actions(c: ClockedApp, booking: str) -> list[dict[str, Any]]:
    resp = await c.client.get(f"/api/bookings/{booking}/audit", headers=c.headers["producer"])
    assert resp.status == 200, await resp.text()
    return [e for e in (await resp.json())["events"] if e["action"] == "changed the program sound"]


async def test_gain_and_mute_go_on_air_and_into_the_audit_log(
    clocked: ClockedApp, studios: Callable[..., Studio]
) -> None:
    c = clocked
    links, _trend, _dha = await live_pair(c, studios)
    booking = links["trend"].booking
    room = c.app[LIVE].get(booking)
    assert room is not None
    base = f"/api/bookings/{booking}/program"
    producer = c.headers["producer"]
    # Each change below is its own gesture: the clock moves past its settle time after each.
    c.app[GESTURES].settle_s = SETTLE_S

    # What the producer's page loads: layout, solo studio, recording, and every studio's strip.
    resp = await c.client.get(base, headers=producer)
    assert resp.status == 200, await resp.text()
    program = (await resp.json())["program"]
    assert program["layout"] == "auto" and program["studio"] is None
    assert program["recording"] is False
    assert set(program["audio"]) == {"trend", "dha"}
    assert program["audio"]["trend"]["gain_db"] == 0.0
    assert program["audio"]["trend"]["muted"] is False

    async def both_levels() -> dict[str, Any] | None:
        audio = (await (await c.client.get(base, headers=producer)).json())["program"]["audio"]
        heard = all(audio[s]["level_dbfs"] is not None for s in ("trend", "dha"))
        return dict(audio) if heard else None

    audio = await eventually(both_levels, timeout=15, message="both tones at the mixer")
    assert all(isinstance(audio[s]["level_dbfs"], float) for s in ("trend", "dha")), audio

    ear = ProgramEar(room)
    try:
        heard = await ear.tones()
        assert heard[TREND_HZ] > -50 and heard[DHA_HZ] > -50, heard  # both on air

        # Mute Trend: its tone leaves the program, DHA's stays.
        resp = await c.client.post(
            f"{base}/audio", json={"studio": "trend", "muted": True}, headers=producer
        )
        assert resp.status == 200, await resp.text()
        answer = await resp.json()
        assert answer["audio"]["trend"]["muted"] is True
        assert answer["audio"]["trend"]["gain_db"] == 0.0  # left as it was
        assert room.audio_state()["trend"].muted is True
        c.clock.advance(seconds=SETTLE_S)
        muted = await ear.tones()
        assert muted[TREND_HZ] < heard[TREND_HZ] - 40, (heard, muted)
        assert abs(muted[DHA_HZ] - heard[DHA_HZ]) < 3, (heard, muted)

        # DHA 20 dB down (a gain alone: the mute of Trend stays as it is).
        resp = await c.client.post(
            f"{base}/audio", json={"studio": "dha", "gain_db": -20}, headers=producer
        )
        assert resp.status == 200, await resp.text()
        dha = (await resp.json())["audio"]["dha"]
        assert (dha["gain_db"], dha["muted"]) == (-20.0, False)
        assert room.audio_state()["trend"].muted is True
        c.clock.advance(seconds=SETTLE_S)
        quieter = await ear.tones()
        assert 15 < heard[DHA_HZ] - quieter[DHA_HZ] < 25, (heard, quieter)

        # Trend back, at +6 dB, in one call.
        resp = await c.client.post(
            f"{base}/audio",
            json={"studio": "trend", "muted": False, "gain_db": 6.0},
            headers=producer,
        )
        assert resp.status == 200, await resp.text()
        c.clock.advance(seconds=SETTLE_S)
        back = await ear.tones()
        assert back[TREND_HZ] > heard[TREND_HZ] + 3, (heard, back)
    finally:
        ear.close()

    resp = await c.client.get(base, headers=producer)
    audio = (await resp.json())["program"]["audio"]
    assert (audio["trend"]["gain_db"], audio["trend"]["muted"]) == (6.0, False)
    assert (audio["dha"]["gain_db"], audio["dha"]["muted"]) == (-20.0, False)

    # The same values again change nothing: no further line in the audit log.
    resp = await c.client.post(
        f"{base}/audio", json={"studio": "dha", "gain_db": -20}, headers=producer
    )
    assert resp.status == 200
    c.clock.advance(seconds=SETTLE_S)
    await eventually(lambda: c.app[GESTURES].settling == 0, message="every gesture written")
    notes = await _audit_actions(c, booking)
    assert [(n["actor"], n["details"]) for n in notes] == [
        ("producer-bot (token)", {"studio": "trend", "gain_db": 0.0, "muted": True}),
        ("producer-bot (token)", {"studio": "dha", "gain_db": -20.0, "muted": False}),
        ("producer-bot (token)", {"studio": "trend", "gain_db": 6.0, "muted": False}),
    ]

    # The program switch shows in the state too.
    resp = await c.client.post(base, json={"layout": "solo", "studio": "dha"}, headers=producer)
    assert resp.status == 200
    program = (await (await c.client.get(base, headers=producer)).json())["program"]
    assert (program["layout"], program["studio"]) == ("solo", "dha")


async def test_a_fader_drag_is_one_audit_line_with_where_it_came_to_rest(
    clocked: ClockedApp, studios: Callable[..., Studio]
) -> None:
    c = clocked
    links, _trend, _dha = await live_pair(c, studios)
    booking = links["trend"].booking
    # The drags run on the app's clock (a step every STEP_S of it): however slowly a loaded
    # machine sends them, one drag is never split in two.
    c.app[GESTURES].settle_s = SETTLE_S
    path, producer = f"/api/bookings/{booking}/program/audio", c.headers["producer"]
    gestures = c.app[GESTURES]

    async def drag(studio: str, *steps: float) -> None:
        for gain in steps:  # what the page sends while the fader moves
            resp = await c.client.post(
                path, json={"studio": studio, "gain_db": gain}, headers=producer
            )
            assert resp.status == 200, await resp.text()
            c.clock.advance(seconds=STEP_S)

    await drag("dha", -2, -5, -9, -12)  # its last step 0.24 s in
    assert await _audit_actions(c, booking) == []  # not at rest yet: nothing written
    await drag("trend", -1, -3)  # another control, its own gesture: its last step 0.40 s in
    # 0.58 s in: DHA is at rest (0.3 s after its last step) while Trend is not yet.
    c.clock.advance(seconds=0.1)
    first = await eventually(lambda: _audit_actions(c, booking), message="DHA's line")
    assert [n["details"] for n in first] == [{"studio": "dha", "gain_db": -12.0, "muted": False}]
    c.clock.advance(seconds=SETTLE_S)
    await eventually(lambda: gestures.settling == 0, message="Trend's drag at rest")
    assert [n["details"] for n in await _audit_actions(c, booking)] == [
        {"studio": "dha", "gain_db": -12.0, "muted": False},
        {"studio": "trend", "gain_db": -3.0, "muted": False},
    ]
    # Moved and put back where it was: nothing changed on air, nothing to log.
    await drag("dha", -10, -12)
    c.clock.advance(seconds=SETTLE_S)
    await eventually(lambda: gestures.settling == 0, message="the wiggle at rest")
    assert len(await _audit_actions(c, booking)) == 2
    room = c.app[LIVE].get(booking)
    assert room is not None and room.audio_state()["dha"].gain_db == -12.0


async def test_only_producers_and_admins_and_bad_input_gets_clear_errors(
    clocked: ClockedApp, studios: Callable[..., Studio]
) -> None:
    c = clocked
    links, _trend, _dha = await live_pair(c, studios)
    booking = links["trend"].booking
    room = c.app[LIVE].get(booking)
    assert room is not None
    base = f"/api/bookings/{booking}/program"
    producer = c.headers["producer"]
    good = {"studio": "dha", "muted": True}

    # Roles: the admin may; the operator (of Trend, in this booking) and the viewer may not.
    for role, status in [("admin", 200), ("operator", 403), ("viewer", 403), ("anonymous", 401)]:
        for method, path, body in [("GET", base, None), ("POST", f"{base}/audio", good)]:
            resp = await c.client.request(method, path, json=body, headers=c.headers.get(role, {}))
            if status == 200:
                assert resp.status == 200, await resp.text()
            else:
                code = "forbidden" if status == 403 else "unauthorized"
                await assert_error(resp, status, code)
    room.set_audio("dha", 0.0, False)
    before = room.audio_state()

    cases: list[tuple[str, Any, bytes | None, int, str, tuple[str, ...]]] = [
        ("missing studio", {"muted": True}, None, 422, "invalid", ("studio",)),
        ("unknown studio", {"studio": "kabar", "muted": True}, None, 422, "invalid", ("studio",)),
        ("studio not text", {"studio": 7, "muted": True}, None, 422, "invalid", ("studio",)),
        ("neither gain nor mute", {"studio": "dha"}, None, 422, "invalid", ("gain_db", "muted")),
        ("gain as text", {"studio": "dha", "gain_db": "-6"}, None, 422, "invalid", ("gain_db",)),
        ("gain as bool", {"studio": "dha", "gain_db": True}, None, 422, "invalid", ("gain_db",)),
        ("gain as list", {"studio": "dha", "gain_db": [1]}, None, 422, "invalid", ("gain_db",)),
        (
            "gain too low",
            {"studio": "dha", "gain_db": GAIN_MIN_DB - 0.5},
            None,
            422,
            "invalid",
            ("gain_db",),
        ),
        (
            "gain too high",
            {"studio": "dha", "gain_db": GAIN_MAX_DB + 1},
            None,
            422,
            "invalid",
            ("gain_db",),
        ),
        ("gain NaN", None, b'{"studio": "dha", "gain_db": NaN}', 422, "invalid", ("gain_db",)),
        (
            "gain Infinity",
            None,
            b'{"studio": "dha", "gain_db": -Infinity}',
            422,
            "invalid",
            ("gain_db",),
        ),
        ("gain 1e999", None, b'{"studio": "dha", "gain_db": 1e999}', 422, "invalid", ("gain_db",)),
        ('muted as "yes"', {"studio": "dha", "muted": "yes"}, None, 422, "invalid", ("muted",)),
        ("muted as 1", {"studio": "dha", "muted": 1}, None, 422, "invalid", ("muted",)),
        ("a typo", {"studio": "dha", "gain": -6}, None, 422, "invalid", ("gain",)),
        ("a list body", [{"studio": "dha", "muted": True}], None, 422, "invalid", ()),
        ("a string body", "mute dha", None, 422, "invalid", ()),
        ("null body", None, b"null", 422, "invalid", ()),
        ("broken JSON", None, b'{"studio": "dha", "muted": tru', 400, "invalid_json", ()),
        ("not UTF-8", None, b'{"studio": "\xff"}', 400, "invalid_json", ()),
        ("empty body", None, b"", 400, "invalid_json", ()),
        ("too deep", None, b"[" * 100_000 + b"]" * 100_000, 400, "invalid_json", ()),
        (
            "oversized",
            None,
            b'{"studio": "' + b"d" * (3 * 1024 * 1024) + b'"}',
            413,
            "body_too_large",
            (),
        ),
    ]

    def case(body: Any, raw: bytes | None, status: int, code: str, fields: tuple[str, ...]) -> Any:
        async def run() -> None:
            kw: dict[str, Any] = (
                {"data": raw, "headers": {**producer, "Content-Type": "application/json"}}
                if raw is not None
                else {"json": body, "headers": producer}
            )
            resp = await c.client.post(f"{base}/audio", **kw)
            await assert_error(resp, status, code, fields=fields)

        return run

    await check_table(
        (name, case(body, raw, status, code, fields))
        for name, body, raw, status, code, fields in cases
    )
    assert room.audio_state()["dha"].muted == before["dha"].muted is False
    assert room.audio_state()["dha"].gain_db == before["dha"].gain_db == 0.0

    # An unknown booking is 404 (also to a producer); a room that is not open is 409.
    for method, path, body in [
        ("GET", "/api/bookings/nope/program", None),
        ("POST", "/api/bookings/nope/program/audio", good),
    ]:
        resp = await c.client.request(method, path, json=body, headers=producer)
        await assert_error(resp, 404, "not_found")
    later = await book(c, c.clock() + timedelta(days=2), studios=("trend", "ansa"))
    closed = f"/api/bookings/{later['trend'].booking}/program"
    for method, path, body in [("GET", closed, None), ("POST", f"{closed}/audio", good)]:
        resp = await c.client.request(method, path, json=body, headers=producer)
        await assert_error(resp, 409, "room_not_open")


def test_the_api_range_is_the_mixers_clamp() -> None:
    """The API refuses what the mixer would clamp, and allows all that it would not."""
    mixer = AudioMixer(["trend"])
    mixer.set_gain("trend", GAIN_MIN_DB - 10)
    assert mixer.channels["trend"].gain_db == GAIN_MIN_DB
    mixer.set_gain("trend", GAIN_MAX_DB + 10)
    assert mixer.channels["trend"].gain_db == GAIN_MAX_DB
