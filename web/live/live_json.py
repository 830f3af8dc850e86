"""The bridge's live figures as the API's JSON: the one place their JSON shapes are written.

`/api/live` and `/ws/monitor` (rooms, their studios' health and their live outputs), the
producer's `/api/bookings/{id}/program` (what is on air and each studio's sound) and the
console's state poll (its tally) all serialize the typed figures of `bridge.spec` here, and
nowhere else.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bridge.spec import (
    AudioFigures,
    ProgramFigures,
    ProgramState,
    StudioAudio,
    StudioHealth,
    Tally,
    VideoFigures,
)
from web.live.room_view import OutputView, RecorderSummary, RoomView

JsonObject = dict[str, Any]


def room_json(room: RoomView) -> JsonObject:
    """A room on master control: its times and phase, recording, program, studios and live
    outputs (none for a room not open yet: the booking's outputs are read when it opens)."""
    studios = (
        [studio_json(s, thumbnail_url(room, s.id)) for s in room.studios]
        if room.open
        else [
            {
                "id": s.id,
                "name": s.name,
                "connected": False,
                "thumbnail_url": thumbnail_url(room, s.id),
            }
            for s in room.booked
        ]
    )
    return {
        "booking_id": room.booking_id,
        "title": room.title,
        "state": room.state,
        "open": room.open,
        "opens_at": moment_json(room.opens_at),
        "on_air_at": moment_json(room.on_air_at),
        "off_air_at": moment_json(room.off_air_at),
        "recording": room.recording,
        "should_record": room.should_record,
        "recorder": recorder_json(room.recorder) if room.recorder is not None else None,
        "program": program_figures_json(room.program) if room.program is not None else None,
        "on_air": (
            {"layout": room.on_air.layout, "studio": room.on_air.studio, "muted": list(room.muted)}
            if room.on_air is not None
            else None
        ),
        "studios": studios,
        "outputs": [output_json(o) for o in room.outputs] if room.open else [],
    }


def thumbnail_url(room: RoomView, studio_id: str) -> str | None:
    """Where the studio's latest thumbnail is served (None before its first picture); the
    version in the URL lets a browser keep each one."""
    version = room.thumbnails.get(studio_id)
    if version is None:
        return None
    return f"/api/live/{room.booking_id}/{studio_id}/thumbnail.jpg?v={version}"


def studio_json(s: StudioHealth, thumbnail: str | None) -> JsonObject:
    """A studio's health over the last window."""
    return {
        "id": s.id,
        "name": s.name,
        "connected": s.connected,
        "candidate": s.candidate,
        "rtt_ms": s.rtt_ms,
        "loss_pct": s.loss_pct,
        "jitter_ms": s.jitter_ms,
        "video": video_json(s.video) if s.video is not None else None,
        "audio": stream_audio_json(s.audio) if s.audio is not None else None,
        "last_packet_age_ms": s.last_packet_age_ms,
        "feed_lost": s.feed_lost,
        "thumbnail_url": thumbnail,
    }


def output_json(o: OutputView) -> JsonObject:
    """A live output's state: the keys of the API's output document (web.http.outputs) that
    master control needs, from a view that holds no secret (the target is masked)."""
    f = o.figures
    return {
        "id": o.id,
        "kind": f.kind.value,
        "name": o.name,
        "target": o.target,
        "state": f.state.value,
        "bitrate_kbps": f.bitrate_kbps,
        "last_error": f.last_error,
        "retries": f.retries,
    }


def video_json(v: VideoFigures) -> JsonObject:
    """A studio's incoming picture."""
    return {"codec": v.codec, "width": v.width, "height": v.height, "fps": v.fps, "kbps": v.kbps}


def stream_audio_json(a: AudioFigures) -> JsonObject:
    """A studio's incoming sound."""
    return {"kbps": a.kbps, "level_dbfs": a.level_dbfs}


def program_figures_json(p: ProgramFigures) -> JsonObject:
    """What the program's engines have done."""
    return {
        "frames": p.frames,
        "dropped_ticks": p.dropped_ticks,
        "realtime_factor": p.realtime_factor,
        "audio_blocks": p.audio_blocks,
        "audio_dropped_blocks": p.audio_dropped_blocks,
        "audio_underruns": p.audio_underruns,
        "composing": p.composing,
    }


def recorder_json(r: RecorderSummary) -> JsonObject:
    """A room's recorders summed up."""
    return {
        "files": r.files,
        "duration_s": r.duration_s,
        "bytes": r.bytes,
        "frames_dropped": r.frames_dropped,
        "realtime_factor": r.realtime_factor,
        "behind": r.behind,
    }


def program_json(state: ProgramState, audio: Mapping[str, StudioAudio]) -> JsonObject:
    """What is on air, and each studio's place in the program's sound."""
    return {
        "layout": state.layout,
        "studio": state.studio,
        "recording": state.recording,
        "audio": audio_json(audio),
    }


def audio_json(audio: Mapping[str, StudioAudio]) -> JsonObject:
    """Each studio's gain, mute, automatic gain and level in the program's sound."""
    return {sid: studio_audio_json(a) for sid, a in audio.items()}


def studio_audio_json(a: StudioAudio) -> JsonObject:
    """One studio's gain, mute, automatic gain and level."""
    return {
        "gain_db": a.gain_db,
        "muted": a.muted,
        "auto_db": a.auto_db,
        "level_dbfs": a.level_dbfs,
        "mic_off": a.mic_off,
    }


def tally_json(t: Tally) -> JsonObject:
    """A console's tally: is its picture in the program, does the room record, and the
    partners it should show (a console offers again when one is added)."""
    return {
        "on_program": t.on_program,
        "layout": t.layout,
        "recording": t.recording,
        "partners": [{"id": s.id, "name": s.name} for s in t.partners],
        # Partners whose codec this console's browser did not negotiate: id -> "H.264".
        "unplayable": dict(t.unplayable),
    }


def moment_json(at: datetime) -> str:
    """A moment as the live API writes it: ISO 8601 in UTC with a Z."""
    return at.isoformat().replace("+00:00", "Z")
