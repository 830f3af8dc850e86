"""Prometheus text exposition (format 0.0.4) of the monitor's latest snapshot and the process.

Written by hand rather than with prometheus_client's registry: the figures already exist in
the monitor's snapshot, and a registry would be a second copy to keep in step.
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Iterable

from bridge.spec import OutputKind, OutputState
from web.live.room_view import RoomView

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_STARTED = time.time()


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(labels: dict[str, str]) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items()) + "}"


class Exposition:
    """Metric families, each with HELP and TYPE once, then its samples."""

    def __init__(self) -> None:
        self._families: dict[str, tuple[str, str, list[str]]] = {}

    def add(
        self, name: str, metric_type: str, help_text: str, value: float | None, **labels: str
    ) -> None:
        """One sample (skipped when the value is unknown)."""
        family = self._families.setdefault(name, (metric_type, help_text, []))
        if value is not None:
            family[2].append(f"{name}{_labels(labels)} {float(value):g}")

    def render(self) -> str:
        """The text to serve."""
        out: list[str] = []
        for name, (kind, help_text, samples) in self._families.items():
            out.append(f"# HELP {name} {help_text}")
            out.append(f"# TYPE {name} {kind}")
            out.extend(samples)
        return "\n".join(out) + "\n"


def render_metrics(
    rooms: Iterable[RoomView], clients: int, loop_lag_s: float, worst_lag_s: float
) -> str:
    """Rooms, studios, recording, live outputs and process figures as Prometheus text."""
    m = Exposition()
    open_rooms = [r for r in rooms if r.open]
    m.add("telebridge_rooms_open", "gauge", "Telebridge rooms open now.", len(open_rooms))
    m.add(
        "telebridge_studios_connected",
        "gauge",
        "Studios connected to their rooms.",
        sum(1 for r in open_rooms for s in r.studios if s.connected),
    )
    for room in open_rooms:
        booking = room.booking_id
        m.add(
            "telebridge_room_recording",
            "gauge",
            "1 while the room records.",
            1 if room.recording else 0,
            booking=booking,
        )
        recorder = room.recorder
        m.add(
            "telebridge_recording_bytes",
            "gauge",
            "Bytes the room's recorders have written.",
            recorder.bytes if recorder is not None else None,
            booking=booking,
        )
        m.add(
            "telebridge_recording_frames_dropped",
            "gauge",
            "Frames the room's recorders have dropped.",
            recorder.frames_dropped if recorder is not None else None,
            booking=booking,
        )
        m.add(
            "telebridge_program_realtime_factor",
            "gauge",
            "Program compose+encode seconds per second of program.",
            room.program.realtime_factor if room.program is not None else None,
            booking=booking,
        )
        for s in room.studios:
            labels = {"booking": booking, "studio": s.id}
            m.add(
                "telebridge_studio_connected",
                "gauge",
                "1 while the studio is connected.",
                1 if s.connected else 0,
                **labels,
            )
            for kind, stream in (("video", s.video), ("audio", s.audio)):
                m.add(
                    "telebridge_studio_bitrate_kbps",
                    "gauge",
                    "Incoming bitrate of the studio's stream.",
                    stream.kbps if stream is not None else None,
                    **{**labels, "kind": kind},
                )
            m.add(
                "telebridge_studio_loss_percent",
                "gauge",
                "Packet loss of the studio's stream, last second.",
                s.loss_pct,
                **labels,
            )
            m.add(
                "telebridge_studio_rtt_ms",
                "gauge",
                "Round trip to the studio (RTCP).",
                s.rtt_ms,
                **labels,
            )
            m.add(
                "telebridge_studio_jitter_ms",
                "gauge",
                "Interarrival jitter of the studio's stream.",
                s.jitter_ms,
                **labels,
            )
            m.add(
                "telebridge_studio_fps",
                "gauge",
                "Frames per second arriving from the studio.",
                s.video.fps if s.video is not None else None,
                **labels,
            )
    # Live outputs by kind and state only: an output's name or target could say where a
    # partner's stream goes, and its key never leaves the database. Every kind and state is
    # written, zeros too, so that a series does not vanish when its last output changes state.
    outputs = [o.figures for r in open_rooms for o in r.outputs]
    for kind in OutputKind:
        for state in OutputState:
            m.add(
                "telebridge_outputs",
                "gauge",
                "Live outputs of the open rooms, by kind and state.",
                sum(1 for f in outputs if f.kind is kind and f.state is state),
                kind=kind.value,
                state=state.value,
            )
    for kind in OutputKind:
        m.add(
            "telebridge_output_bitrate_kbps",
            "gauge",
            "Bitrate the live outputs of a kind send, summed.",
            sum(f.bitrate_kbps or 0.0 for f in outputs if f.kind is kind),
            kind=kind.value,
        )
    m.add("telebridge_monitor_clients", "gauge", "Monitor WebSocket clients.", clients)
    m.add(
        "telebridge_event_loop_lag_seconds",
        "gauge",
        "Worst event-loop wake-up lag in the last second.",
        loop_lag_s,
    )
    m.add(
        "telebridge_event_loop_lag_max_seconds",
        "gauge",
        "Worst event-loop wake-up lag since start.",
        worst_lag_s,
    )
    usage = resource.getrusage(resource.RUSAGE_SELF)
    m.add(
        "process_cpu_seconds_total",
        "counter",
        "User and system CPU time spent in seconds.",
        usage.ru_utime + usage.ru_stime,
    )
    m.add(
        "process_resident_memory_bytes",
        "gauge",
        "Resident memory size in bytes.",
        _resident_bytes(),
    )
    m.add("process_start_time_seconds", "gauge", "Start time of the process.", _STARTED)
    return m.render()


def _resident_bytes() -> float | None:
    try:
        with open(f"/proc/{os.getpid()}/statm") as fh:
            pages = int(fh.read().split()[1])
        return float(pages * os.sysconf("SC_PAGE_SIZE"))
    except (OSError, ValueError, IndexError):
        return None
