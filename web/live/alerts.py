"""Master control's alerts: conditions read from each snapshot, raised once, cleared once, kept.

A condition must hold for its own time before it is raised (a single lost second of audio is
not "silent"), and clears with some hysteresis (loss must fall well below the threshold), so
the list shows real trouble rather than flicker. Raised and cleared alerts are kept, newest
first, with their times.

A live output that is not live while its booking is on air is trouble too: the partners' sites
show nothing. It is raised at once when the output retries or failed, after a short grace when
it is still connecting (or not started), and cleared when it is live again or stopped by hand.

In a cluster, a node that stopped beating its heart is everyone's trouble (its rooms are moving
to the others): raised once its heartbeat is older than a node may be silent, cleared when it
beats again or the operator forgets it (`telebridge node forget`).
"""

from __future__ import annotations

import itertools
import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from bridge.spec import OutputState
from schedules.rules.timeline import Phase
from web.live.live_json import moment_json
from web.live.room_view import OutputView, RoomView

log = logging.getLogger("telebridge.web.alerts")

LOSS_RAISE_PCT = 5.0
LOSS_CLEAR_PCT = 2.0
SILENT_DBFS = -60.0
SILENT_SECONDS = 10.0
FROZEN_SECONDS = 2.0
KEPT_ALERTS = 200
DATABASE_MESSAGE = "Database not answering: live rooms go on; bookings and logins wait"
# Reaching an RTMP or SRT destination and its first keyframe takes a few seconds; an output still
# connecting (or not started by the autopilot yet) after this long on air is trouble.
OUTPUT_GRACE_SECONDS = 10.0
# The autopilot starts the recording within a tick or two of the show's start (and a studio's
# first keyframe may take a moment more): a recording not running after this long on air is
# trouble; before it, the alert would be raised at every show's start and cleared a second later.
RECORDING_GRACE_SECONDS = 5.0
OUTPUT_WAITING = (OutputState.IDLE, OutputState.CONNECTING)  # raised after the grace
OUTPUT_DOWN = (OutputState.RETRYING, OutputState.FAILED)  # raised at once
# A node counts as dead after 5 s of silence already; this much more keeps a cluster that just
# got its database back (every heartbeat old until the next beat) from raising it for a second.
NODE_DOWN_HOLD_SECONDS = 2.0


@dataclass
class Alert:
    """One alert, active until cleared."""

    id: int
    booking_id: str
    studio: str | None
    kind: str  # feed_lost | high_loss | ... | recording_stopped | output_down | ...
    message: str  # English, for logs and tools; the page words it in its own language
    raised_at: str
    cleared_at: str | None = None
    params: dict[str, str] = field(default_factory=dict)  # what the page's wording fills in
    output: str | None = None  # the live output's id (output_down)
    node: str | None = None  # the cluster node's id (node_down)

    @property
    def active(self) -> bool:
        """Whether the condition still holds."""
        return self.cleared_at is None

    def as_json(self) -> dict[str, Any]:
        """The alert as the API and the WebSocket send it."""
        return {**asdict(self), "active": self.active}


@dataclass(frozen=True)
class Condition:
    """Something wrong now, which becomes an alert once it has held for `hold` seconds."""

    kind: str
    studio: str | None
    message: str
    hold: float
    params: dict[str, str] = field(default_factory=dict)
    output: str | None = None
    node: str | None = None
    # The raised alert's wording follows the condition while it holds (an output's state and
    # last error change as it retries); other alerts keep the figures they were raised with.
    follows: bool = False

    @property
    def subject(self) -> str | None:
        """What the alert is about within its room: a studio, an output, or the room itself;
        outside rooms, a node (no two of them share a kind, so they never share a key)."""
        if self.studio is not None:
            return self.studio
        return self.output if self.output is not None else self.node


@dataclass
class _Pending:
    since: float


class AlertBook:
    """Turns snapshots into raised and cleared alerts."""

    def __init__(self) -> None:
        self.active: dict[tuple[str, str | None, str], Alert] = {}
        self.kept: deque[Alert] = deque(maxlen=KEPT_ALERTS)
        self._pending: dict[tuple[str, str | None, str], _Pending] = {}
        self._seen_connected: set[tuple[str, str]] = set()
        self._ids = itertools.count(1)

    def update(
        self,
        rooms: list[RoomView],
        now: datetime,
        mono: float,
        database_up: bool = True,
        nodes_down: Sequence[str] = (),
    ) -> list[Alert]:
        """Read one snapshot of every open room (and the database's state, and in a cluster
        the nodes that stopped beating their hearts); the alerts raised or cleared by it."""
        changed: list[Alert] = []
        present: set[tuple[str, str | None, str]] = set()
        everywhere: list[Condition] = []
        if not database_up:
            # Not a room's trouble but everyone's: bookings, logins and the archive wait.
            everywhere.append(Condition("database_unavailable", None, DATABASE_MESSAGE, 0.0))
        everywhere += [_node_down(node) for node in nodes_down]
        for booking, conditions in [("", everywhere)] + [
            (room.booking_id, self._conditions(room)) for room in rooms
        ]:
            for c in conditions:
                kind, studio, message = c.kind, c.studio, c.message
                key = (booking, c.subject, kind)
                present.add(key)
                pending = self._pending.setdefault(key, _Pending(mono))
                raised = self.active.get(key)
                if raised is not None and c.follows:
                    raised.message, raised.params = message, c.params
                if key not in self.active and mono - pending.since >= c.hold:
                    alert = Alert(
                        next(self._ids),
                        booking,
                        studio,
                        kind,
                        message,
                        moment_json(now),
                        params=c.params,
                        output=c.output,
                        node=c.node,
                    )
                    self.active[key] = alert
                    self.kept.appendleft(alert)
                    changed.append(alert)
                    log.warning(
                        "alert raised kind=%s booking=%s %s %s",
                        kind,
                        booking,
                        _about(alert),
                        message,
                    )
        for key in list(self._pending):
            if key not in present:
                del self._pending[key]
        open_rooms = {room.booking_id for room in rooms} | {""}
        for key, alert in list(self.active.items()):
            if key not in present and not self._still_failing(key, rooms):
                alert.cleared_at = moment_json(now)
                del self.active[key]
                changed.append(alert)
                log.info(
                    "alert cleared kind=%s booking=%s %s%s",
                    alert.kind,
                    alert.booking_id,
                    _about(alert),
                    "" if key[0] in open_rooms else " (room closed)",
                )
        return changed

    def _still_failing(self, key: tuple[str, str | None, str], rooms: list[RoomView]) -> bool:
        """Hysteresis: high loss stays raised until loss is well below the threshold."""
        booking, studio, kind = key
        if kind != "high_loss":
            return False
        for room in rooms:
            if room.booking_id != booking:
                continue
            for s in room.studios:
                if s.id == studio and (s.loss_pct or 0.0) > LOSS_CLEAR_PCT:
                    return True
        return False

    def _conditions(self, room: RoomView) -> list[Condition]:
        """Everything wrong in a room now."""
        out: list[Condition] = []
        booking = room.booking_id
        for s in room.studios:
            sid, name = s.id, s.name or s.id
            named = {"studio": name}
            if s.connected:
                self._seen_connected.add((booking, sid))
            was_here = (booking, sid) in self._seen_connected
            if s.feed_lost or (was_here and not s.connected):
                out.append(Condition("feed_lost", sid, f"{name}: feed lost", 0.0, named))
                continue  # a lost feed explains everything else about this studio
            if not s.connected:
                continue  # not joined yet: nothing to judge
            loss = s.loss_pct or 0.0
            if loss > LOSS_RAISE_PCT:
                message = f"{name}: packet loss {loss:.1f}%"
                out.append(
                    Condition("high_loss", sid, message, 0.0, {**named, "loss": f"{loss:.1f}"})
                )
            if s.video is not None and not s.video.fps:
                message = f"{name}: video frozen"
                out.append(Condition("frozen_video", sid, message, FROZEN_SECONDS, named))
            level = s.audio.level_dbfs if s.audio is not None else None
            if s.audio is not None and (level is None or level < SILENT_DBFS):
                message = f"{name}: audio silent"
                out.append(Condition("silent_audio", sid, message, SILENT_SECONDS, named))
        if room.should_record and not room.recording:
            out.append(
                Condition(
                    "recording_stopped",
                    None,
                    "Recording is not running on air",
                    RECORDING_GRACE_SECONDS,
                )
            )
        elif room.recorder is not None and room.recorder.behind:
            out.append(Condition("recording_behind", None, "Recording is falling behind", 0.0))
        if room.state == Phase.ON_AIR.value:
            out += [c for o in room.outputs if (c := _output_down(o)) is not None]
        return out

    def recent(self) -> list[dict[str, Any]]:
        """Kept alerts, newest first."""
        return [a.as_json() for a in self.kept]

    def forget_room(self, booking_id: str) -> None:
        """A closed room's studios start afresh if the room opens again."""
        self._seen_connected = {k for k in self._seen_connected if k[0] != booking_id}


def _about(alert: Alert) -> str:
    """The log's field for what the alert is about: its output or node, else its studio."""
    if alert.node:
        return f"node={alert.node}"
    return f"output={alert.output}" if alert.output else f"studio={alert.studio or '-'}"


def _node_down(node: str) -> Condition:
    message = f"Node {node} not answering: its rooms move to the live nodes"
    return Condition("node_down", None, message, NODE_DOWN_HOLD_SECONDS, {"node": node}, node=node)


def _output_down(o: OutputView) -> Condition | None:
    """An output not live on air: its name, kind, state and last error (already scrubbed of
    its secrets by the monitor) for the page's wording; None while it is live or stopped."""
    f = o.figures
    if f.state in OUTPUT_DOWN:
        hold = 0.0
    elif f.state in OUTPUT_WAITING:
        hold = OUTPUT_GRACE_SECONDS
    else:
        return None
    name, kind, error = o.name or o.id, f.kind.value.upper(), f.last_error or ""
    message = f"Output {name} ({kind}) not live ({f.state.value})"
    if error:
        message += f": {error}"
    params = {"output": name, "kind": kind, "state": f.state.value, "error": error}
    return Condition("output_down", None, message, hold, params, output=o.id, follows=True)
