"""The one serialization of the bridge's live figures: the documented JSON keys (no network)."""

from __future__ import annotations

from datetime import UTC, datetime

from bridge.spec import (
    AudioFigures,
    FileKind,
    ProgramFigures,
    ProgramState,
    RecorderFigures,
    StudioAudio,
    StudioHealth,
    StudioSpec,
    Tally,
    VideoFigures,
)
from web.live.live_json import program_json, room_json, tally_json
from web.live.room_view import RoomView, summarize

AT = datetime(2030, 5, 6, 9, 0, tzinfo=UTC)
HEALTHY = StudioHealth(
    id="trend",
    name="Trend · Baku",
    connected=True,
    candidate="host",
    rtt_ms=3.5,
    loss_pct=0.0,
    jitter_ms=1.2,
    video=VideoFigures(width=1280, height=720, fps=30.0, kbps=1900.5, codec="H.264"),
    audio=AudioFigures(kbps=32.0, level_dbfs=-21.5),
    last_packet_age_ms=12,
    feed_lost=False,
)
PROGRAM = ProgramFigures(
    frames=900,
    dropped_ticks=2,
    realtime_factor=0.41,
    audio_blocks=1406,
    audio_dropped_blocks=0,
    audio_underruns=1,
)


def _recorder(kind: FileKind, studio: str | None, rtf: float) -> RecorderFigures:
    return RecorderFigures(
        kind=kind,
        studio_id=studio,
        frames=300,
        frames_dropped=1,
        audio_packets=470,
        audio_dropped=0,
        segments=5,
        bytes=1000,
        media_seconds=10.02,
        realtime_factor=rtf,
    )


def test_an_open_room_has_the_documented_keys_and_values() -> None:
    recorders = [_recorder("program", None, 0.2), _recorder("iso", "trend", 0.95)]
    room = RoomView(
        booking_id="bk1",
        title="Morning link",
        state="on_air",
        open=True,
        opens_at=AT,
        on_air_at=AT,
        off_air_at=AT,
        recording=True,
        should_record=True,
        recorder=summarize(recorders),
        program=PROGRAM,
        on_air=ProgramState("solo", "trend", True),
        muted=("dha",),
        studios=(HEALTHY,),
        thumbnails={"trend": 7},
    )
    doc = room_json(room)
    assert list(doc) == [
        "booking_id",
        "title",
        "state",
        "open",
        "opens_at",
        "on_air_at",
        "off_air_at",
        "recording",
        "should_record",
        "recorder",
        "program",
        "on_air",
        "studios",
        "outputs",  # the live outputs' keys: tests/web/test_outputs_monitoring.py
    ]
    # What the program shows, for master control: Trend alone on air, DHA muted in the mix.
    assert doc["on_air"] == {"layout": "solo", "studio": "trend", "muted": ["dha"]}
    assert doc["opens_at"] == "2030-05-06T09:00:00Z"
    assert doc["recorder"] == {
        "files": 2,
        "duration_s": 10.02,
        "bytes": 2000,
        "frames_dropped": 2,
        "realtime_factor": 0.95,
        "behind": True,  # the ISO's writer is at 95% of real time
    }
    assert doc["program"] == {
        "frames": 900,
        "dropped_ticks": 2,
        "realtime_factor": 0.41,
        "audio_blocks": 1406,
        "audio_dropped_blocks": 0,
        "audio_underruns": 1,
        "composing": True,
    }
    assert doc["studios"] == [
        {
            "id": "trend",
            "name": "Trend · Baku",
            "connected": True,
            "candidate": "host",
            "rtt_ms": 3.5,
            "loss_pct": 0.0,
            "jitter_ms": 1.2,
            "video": {
                "codec": "H.264",
                "width": 1280,
                "height": 720,
                "fps": 30.0,
                "kbps": 1900.5,
            },
            "audio": {"kbps": 32.0, "level_dbfs": -21.5},
            "last_packet_age_ms": 12,
            "feed_lost": False,
            "thumbnail_url": "/api/live/bk1/trend/thumbnail.jpg?v=7",
        }
    ]


def test_a_room_not_open_yet_lists_who_is_booked() -> None:
    room = RoomView(
        booking_id="bk2",
        title="Later",
        state="upcoming",
        open=False,
        opens_at=AT,
        on_air_at=AT,
        off_air_at=AT,
        booked=(StudioSpec("dha", "DHA · Istanbul"),),
    )
    doc = room_json(room)
    assert (doc["recorder"], doc["program"], doc["recording"]) == (None, None, False)
    assert doc["studios"] == [
        {"id": "dha", "name": "DHA · Istanbul", "connected": False, "thumbnail_url": None}
    ]


def test_no_recorders_is_no_summary() -> None:
    assert summarize([]) is None


def test_the_program_state_and_a_console_tally() -> None:
    audio = {
        "trend": StudioAudio(gain_db=-6.0, muted=False, auto_db=1.5, level_dbfs=None, mic_off=True)
    }
    assert program_json(ProgramState("solo", "trend", False), audio) == {
        "layout": "solo",
        "studio": "trend",
        "recording": False,
        "audio": {
            "trend": {
                "gain_db": -6.0,
                "muted": False,
                "auto_db": 1.5,
                "level_dbfs": None,
                "mic_off": True,  # the studio's own cough key
            }
        },
    }
    partners = (StudioSpec("dha", "DHA · Istanbul"), StudioSpec("ansa", "ANSA · Rome"))
    tally = Tally(True, "grid", True, partners, unplayable={"ansa": "H.264"})
    assert tally_json(tally) == {
        "on_program": True,
        "layout": "grid",
        "recording": True,
        "partners": [
            {"id": "dha", "name": "DHA · Istanbul"},
            {"id": "ansa", "name": "ANSA · Rome"},
        ],
        "unplayable": {"ansa": "H.264"},  # this console's browser did not offer H.264
    }
