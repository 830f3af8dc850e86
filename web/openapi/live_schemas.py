"""Schemas of the live documents: the producer's controls, master control (web.live.monitor,
web.live.alerts), the console's signalling and tally (web.live.signaling), health."""

from __future__ import annotations

from bridge.program.layout import LAYOUTS
from bridge.program.mixer import GAIN_MAX_DB, GAIN_MIN_DB
from bridge.spec import OutputKind, OutputState
from web.openapi.model import MOMENT, STRING, Schema, nullable, ref

_NUMBER_OR_NULL: Schema = {"type": ["number", "null"]}
_SESSION_ID: Schema = {"type": "string", "pattern": "^[0-9a-f]{16}$"}

_AUDIO_CHANNEL: Schema = {
    "type": "object",
    "required": ["gain_db", "muted", "auto_db", "level_dbfs", "mic_off"],
    "properties": {
        "gain_db": {"type": "number", "description": "The producer's gain."},
        "muted": {"type": "boolean"},
        "auto_db": {"type": "number", "description": "The automatic gain on top of it."},
        "level_dbfs": {**_NUMBER_OR_NULL, "description": "Last block's level; null: silence."},
        "mic_off": {
            "type": "boolean",
            "description": "The studio's operator has switched its microphone off at the "
            "console (the cough key).",
        },
    },
}

_MICROPHONE: Schema = {
    "type": "object",
    "required": ["off"],
    "additionalProperties": False,
    "properties": {"off": {"type": "boolean", "description": "true: the microphone is off."}},
}

_PROGRAM_SHOWN: Schema = {
    "type": "object",
    "required": ["shown"],
    "additionalProperties": False,
    "properties": {
        "shown": {"type": "boolean", "description": "false: the console put the program away."}
    },
}

_AUDIO_BY_STUDIO: Schema = {"type": "object", "additionalProperties": ref("AudioChannel")}

_PROGRAM_SWITCH: Schema = {
    "type": "object",
    "required": ["layout"],
    "properties": {
        "layout": {"enum": list(LAYOUTS)},
        "studio": {
            "type": ["string", "null"],
            "description": "The solo or picture-in-picture studio; required for solo and pip.",
        },
    },
}

_PROGRAM_SWITCHED: Schema = {
    "type": "object",
    "required": ["program"],
    "properties": {
        "program": {
            "type": "object",
            "required": ["layout", "studio"],
            "properties": {
                "layout": {"enum": list(LAYOUTS)},
                "studio": {"type": ["string", "null"]},
            },
        }
    },
}

_PROGRAM_STATE: Schema = {
    "type": "object",
    "required": ["program"],
    "properties": {
        "program": {
            "type": "object",
            "required": ["layout", "studio", "recording", "audio"],
            "properties": {
                "layout": {"enum": list(LAYOUTS)},
                "studio": {"type": ["string", "null"]},
                "recording": {"type": "boolean"},
                "audio": _AUDIO_BY_STUDIO,
            },
        }
    },
}

_AUDIO_CHANGE: Schema = {
    "type": "object",
    "description": "Give gain_db, muted or both; what is left out stays as it is. Unknown "
    "fields are refused (422).",
    "required": ["studio"],
    "additionalProperties": False,
    "properties": {
        "studio": STRING,
        "gain_db": {"type": "number", "minimum": GAIN_MIN_DB, "maximum": GAIN_MAX_DB},
        "muted": {"type": "boolean"},
    },
}

_AUDIO_CHANGED: Schema = {
    "type": "object",
    "required": ["studio", "audio"],
    "properties": {"studio": STRING, "audio": _AUDIO_BY_STUDIO},
}


def _switch(name: str, value: bool, what: str) -> Schema:
    return {
        "type": "object",
        "required": ["recording", name],
        "properties": {
            "recording": {"const": value},
            name: {"type": "boolean", "description": what},
        },
    }


_ALERT: Schema = {
    "type": "object",
    "required": [
        "id",
        "booking_id",
        "studio",
        "kind",
        "message",
        "raised_at",
        "cleared_at",
        "params",
        "output",
        "node",
        "active",
    ],
    "properties": {
        "id": {"type": "integer"},
        "booking_id": STRING,
        "studio": {"type": ["string", "null"]},
        "kind": {
            "type": "string",
            "description": "feed_lost, high_loss, frozen_video, silent_audio, "
            "recording_stopped, recording_behind, output_down (a live output not live on air; "
            "params: output, kind, state, error), database_unavailable or node_down (a node of "
            "the cluster silent for over 5 s: its rooms move to the live nodes; params: node). "
            "The last two are about no room: their booking_id is empty.",
        },
        "message": {"type": "string", "description": "English; pages word it from kind+params."},
        "raised_at": MOMENT,
        "cleared_at": nullable(MOMENT),
        "params": {"type": "object", "additionalProperties": {"type": "string"}},
        "output": {
            "type": ["string", "null"],
            "description": "The live output's id (output_down); null for the other kinds.",
        },
        "node": {
            "type": ["string", "null"],
            "description": "The node's id (node_down); null for the other kinds.",
        },
        "active": {"type": "boolean"},
    },
}

_LIVE_STUDIO: Schema = {
    "type": "object",
    "description": "A studio's health over the last second; a room not open yet gives only "
    "id, name, connected and thumbnail_url.",
    "required": ["id", "name", "connected", "thumbnail_url"],
    "properties": {
        "id": STRING,
        "name": STRING,
        "connected": {"type": "boolean"},
        "candidate": {
            "type": ["string", "null"],
            "description": "host, srflx, prflx or relay",
        },
        "rtt_ms": _NUMBER_OR_NULL,
        "loss_pct": _NUMBER_OR_NULL,
        "jitter_ms": _NUMBER_OR_NULL,
        "video": {
            "anyOf": [
                {
                    "type": "object",
                    "properties": {
                        "codec": {
                            "type": ["string", "null"],
                            "description": 'What the studio sends: "VP8" or "H.264".',
                        },
                        "width": {"type": ["integer", "null"]},
                        "height": {"type": ["integer", "null"]},
                        "fps": _NUMBER_OR_NULL,
                        "kbps": _NUMBER_OR_NULL,
                    },
                },
                {"type": "null"},
            ]
        },
        "audio": {
            "anyOf": [
                {
                    "type": "object",
                    "properties": {"kbps": _NUMBER_OR_NULL, "level_dbfs": _NUMBER_OR_NULL},
                },
                {"type": "null"},
            ]
        },
        "last_packet_age_ms": _NUMBER_OR_NULL,
        "feed_lost": {"type": "boolean"},
        "thumbnail_url": {
            "type": ["string", "null"],
            "description": "Versioned (?v=); null before the first picture.",
        },
    },
}

_PROGRAM_FIGURES: Schema = {
    "type": "object",
    "properties": {
        "frames": {"type": "integer"},
        "dropped_ticks": {"type": "integer"},
        "realtime_factor": {"type": "number"},
        "audio_blocks": {"type": "integer"},
        "audio_dropped_blocks": {"type": "integer"},
        "audio_underruns": {"type": "integer"},
        "composing": {
            "type": "boolean",
            "description": "Whether the picture is composed and encoded now: only while a "
            "recording, an output, a console's return feed or a control room uses it.",
        },
    },
}

_RECORDER: Schema = {
    "type": "object",
    "properties": {
        "files": {"type": "integer"},
        "duration_s": _NUMBER_OR_NULL,
        "bytes": {"type": "integer"},
        "frames_dropped": {"type": "integer"},
        "realtime_factor": {"type": "number"},
        "behind": {"type": "boolean", "description": "Close to falling behind real time."},
    },
}

_LIVE_OUTPUT: Schema = {
    "type": "object",
    "description": "A live output of the room's booking: the keys of the Output document that "
    "master control needs. Never a secret: the target is masked, the error scrubbed.",
    "required": ["id", "kind", "name", "target", "state", "bitrate_kbps", "last_error", "retries"],
    "properties": {
        "id": STRING,
        "kind": {"enum": [k.value for k in OutputKind]},
        "name": STRING,
        "target": {
            "type": "string",
            "description": "Where it goes, stream key, credentials and query values masked; "
            "for HLS the playlist's path.",
        },
        "state": {
            "enum": [s.value for s in OutputState],
            "description": "idle: not started (stopped: by hand or at the end); connecting; "
            "live; retrying after a drop or stall; failed: never reached the destination.",
        },
        "bitrate_kbps": {**_NUMBER_OR_NULL, "description": "Sent over the last window."},
        "last_error": {"type": ["string", "null"]},
        "retries": {"type": "integer", "description": "Connection attempts after the first."},
    },
}

_LIVE_ROOM: Schema = {
    "type": "object",
    "required": [
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
        "outputs",
    ],
    "properties": {
        "booking_id": STRING,
        "node": {
            **STRING,
            "description": "In a cluster, the node that runs the open room "
            "(TELEBRIDGE_NODE_ID); absent for a server alone and for a room not open yet.",
        },
        "title": STRING,
        "state": {"enum": ["upcoming", "line_check", "on_air", "teardown"]},
        "open": {"type": "boolean"},
        "opens_at": MOMENT,
        "on_air_at": MOMENT,
        "off_air_at": MOMENT,
        "recording": {"type": "boolean"},
        "should_record": {"type": "boolean"},
        "recorder": {"anyOf": [_RECORDER, {"type": "null"}]},
        "program": {"anyOf": [_PROGRAM_FIGURES, {"type": "null"}]},
        "on_air": {
            "anyOf": [
                {
                    "type": "object",
                    "required": ["layout", "studio", "muted"],
                    "properties": {
                        "layout": {"enum": list(LAYOUTS)},
                        "studio": {
                            "type": ["string", "null"],
                            "description": "The solo or picture-in-picture studio.",
                        },
                        "muted": {
                            "type": "array",
                            "items": STRING,
                            "description": "The studios the producer has muted in the mix.",
                        },
                    },
                },
                {"type": "null"},
            ],
            "description": "What the open room's program shows now (null: not open).",
        },
        "studios": {"type": "array", "items": ref("LiveStudio")},
        "outputs": {
            "type": "array",
            "items": ref("LiveOutput"),
            "description": "The booking's live outputs in the order added; empty for a room "
            "not open yet.",
        },
    },
}

_ROOMS: Schema = {"type": "array", "items": ref("LiveRoom")}
_ALERTS: Schema = {"type": "array", "items": ref("Alert")}

_CLUSTER_NODE: Schema = {
    "type": "object",
    "description": "A node of the cluster as the registry has it (`telebridge node list`).",
    "required": [
        "id",
        "url",
        "this",
        "state",
        "rooms",
        "capacity",
        "heartbeat_at",
        "heartbeat_age_s",
        "started_at",
    ],
    "properties": {
        "id": STRING,
        "url": {**STRING, "description": "Where the other nodes reach it (TELEBRIDGE_NODE_URL)."},
        "this": {"type": "boolean", "description": "The node that answered this request."},
        "state": {
            "enum": ["live", "draining", "down"],
            "description": "draining: it takes no new rooms; down: silent for over 5 s, its "
            "rooms move to the live nodes (until it beats again, or is forgotten with "
            "`telebridge node forget`).",
        },
        "rooms": {"type": "integer", "description": "Rooms placed on it."},
        "capacity": {"type": "integer", "description": "Rooms it takes at most."},
        "heartbeat_at": MOMENT,
        "heartbeat_age_s": {"type": "number", "description": "0 for the node answering."},
        "started_at": MOMENT,
    },
}
_NODES: Schema = {
    "type": "array",
    "items": ref("ClusterNode"),
    "description": "In a cluster, every registered node, the one answering first; empty for a "
    "server alone.",
}

_LIVE: Schema = {
    "type": "object",
    "required": ["rooms", "alerts", "sampled_at", "nodes"],
    "properties": {
        "rooms": _ROOMS,
        "alerts": _ALERTS,
        "sampled_at": nullable(MOMENT),
        "nodes": _NODES,
    },
}

_HELLO: Schema = {
    "type": "object",
    "description": "The first message on /ws/monitor.",
    "required": [
        "type",
        "at",
        "rooms",
        "alerts",
        "recent_alerts",
        "history",
        "sample_seconds",
        "nodes",
    ],
    "properties": {
        "type": {"const": "hello"},
        "at": nullable(MOMENT),
        "rooms": _ROOMS,
        "alerts": _ALERTS,
        "recent_alerts": {**_ALERTS, "description": "Raised and cleared, newest first."},
        "history": {
            "type": "object",
            "description": 'Per "booking/studio": five minutes of [monotonic seconds, kbps or '
            "null, loss % or null].",
            "additionalProperties": {"type": "array", "items": {"type": "array"}},
        },
        "sample_seconds": {"type": "number"},
        "nodes": _NODES,
    },
}

_SNAPSHOT: Schema = {
    "type": "object",
    "description": "Sent on /ws/monitor every second after the hello.",
    "required": ["type", "at", "rooms", "alerts", "changed", "loop_lag_ms", "database", "nodes"],
    "properties": {
        "type": {"const": "snapshot"},
        "at": MOMENT,
        "rooms": _ROOMS,
        "alerts": _ALERTS,
        "changed": {**_ALERTS, "description": "Alerts raised or cleared by this sample."},
        "loop_lag_ms": {"type": "number"},
        "database": {"enum": ["ok", "unavailable"]},
        "nodes": _NODES,
    },
}

_ICE_SERVER: Schema = {
    "type": "object",
    "required": ["urls"],
    "properties": {"urls": STRING, "username": STRING, "credential": STRING},
}

_MIDS: Schema = {
    "type": "object",
    "required": ["video_mid", "audio_mid"],
    "properties": {
        "video_mid": {"type": ["string", "null"]},
        "audio_mid": {"type": ["string", "null"]},
    },
}

_CONSOLE_ANSWER: Schema = {
    "type": "object",
    "required": ["type", "sdp", "session", "slots", "program"],
    "properties": {
        "type": {"const": "answer"},
        "sdp": STRING,
        "session": {**_SESSION_ID, "description": "For DELETE .../session/{session_id}."},
        "slots": {
            "type": "array",
            "description": "Which of the offer's receive pairs carries which partner.",
            "items": {
                "type": "object",
                "required": ["studio", "video_mid", "audio_mid"],
                "properties": {"studio": STRING, **_MIDS["properties"]},
            },
        },
        "program": {
            "anyOf": [_MIDS, {"type": "null"}],
            "description": "The m-lines of the program's return feed; null without a program.",
        },
    },
}

_CONSOLE_STATE: Schema = {
    "type": "object",
    "description": "The tally; the times and ICE servers are left out while the database is down.",
    "required": ["on_program", "layout", "recording", "partners"],
    "properties": {
        "on_program": {"type": "boolean", "description": "The studio's picture is on air."},
        "layout": {"type": ["string", "null"]},
        "recording": {"type": "boolean"},
        "partners": {
            "type": "array",
            "description": "The room's other studios now, with the label the program shows: "
            "the console offers again when one is added to the booking.",
            "items": {
                "type": "object",
                "required": ["id", "name"],
                "properties": {"id": STRING, "name": STRING},
            },
        },
        "unplayable": {
            "type": "object",
            "additionalProperties": STRING,
            "description": "Partners whose video codec this console did not negotiate, by "
            'studio id, with the codec ("H.264" from an encoder, for a browser that offered '
            "only VP8): the console says so instead of showing a black tile.",
        },
        "on_air_at": MOMENT,
        "off_air_at": MOMENT,
        "closes_at": {
            **MOMENT,
            "description": "When the join link (and with it the room) closes: the teardown's "
            "end plus the join grace. The console then says the show has ended.",
        },
        "ice_servers": {"type": "array", "items": ref("IceServer")},
        "cue": {
            "anyOf": [ref("Cue"), {"type": "null"}],
            "description": "The producer's latest cue to the studio (null: none yet, or the "
            "database is down); shown until acknowledged.",
        },
        "last_message": {
            "type": ["integer", "null"],
            "description": "The newest chat message id the studio may read (0: none; null: "
            "the database is down): the console reads the messages when it grows.",
        },
        "talkback": {
            "type": "array",
            "items": STRING,
            "description": "The producers talking into the studio's ear now (talkback).",
        },
        "mic_off": {
            "type": "boolean",
            "description": "The studio's microphone is off by its cough key, as the producer's "
            "sound desk shows it (the console sends its key again when they differ).",
        },
        "program_shown": {
            "type": "boolean",
            "description": "The room sends the studio the program (false: the console put "
            "it away; it sends its choice again when they differ).",
        },
        "session_in_room": {
            "type": "boolean",
            "description": "Only when the poll names its connection (`session`): whether the "
            "room has it as the studio's connection now. False when the room was reopened "
            "(on another node after a failure, or after a restart) or dropped it: the "
            "console offers again at once instead of waiting for its connection to time out.",
        },
        "replaced": {
            "type": "boolean",
            "description": "Only with `session`: another connection of the studio (a second "
            "console) replaced this one. The console steps back and says so rather than "
            "taking the studio back by itself.",
        },
        "call": {
            "anyOf": [ref("ConsoleCall"), {"type": "null"}],
            "description": "The studio's open call to production; null once a producer "
            "answered it or it ran out (its button then returns to normal).",
        },
    },
}

_HEALTH: Schema = {
    "type": "object",
    "required": ["status", "database", "rooms"],
    "properties": {
        "status": {"enum": ["ok", "degraded"], "description": "degraded: database down."},
        "database": {"enum": ["ok", "unavailable"]},
        "rooms": {"type": "integer", "description": "Open rooms."},
    },
}

LIVE_SCHEMAS: dict[str, Schema] = {
    "Health": _HEALTH,
    "AudioChannel": _AUDIO_CHANNEL,
    "Microphone": _MICROPHONE,
    "ProgramShown": _PROGRAM_SHOWN,
    "ProgramSwitch": _PROGRAM_SWITCH,
    "ProgramSwitched": _PROGRAM_SWITCHED,
    "ProgramState": _PROGRAM_STATE,
    "AudioChange": _AUDIO_CHANGE,
    "AudioChanged": _AUDIO_CHANGED,
    "RecordingStarted": _switch("started", True, "False when it was already recording."),
    "RecordingStopped": _switch("stopped", False, "False when it was not recording."),
    "Alert": _ALERT,
    "LiveStudio": _LIVE_STUDIO,
    "LiveOutput": _LIVE_OUTPUT,
    "LiveRoom": _LIVE_ROOM,
    "LiveRooms": _LIVE,
    "ClusterNode": _CLUSTER_NODE,
    "ClusterLive": {
        "type": "object",
        "required": ["node", "rooms", "alerts"],
        "properties": {"node": STRING, "rooms": _ROOMS, "alerts": _ALERTS},
    },
    "MonitorHello": _HELLO,
    "MonitorSnapshot": _SNAPSHOT,
    "ConsoleOffer": {
        "type": "object",
        "required": ["sdp"],
        "properties": {
            "sdp": STRING,
            "program": {
                "type": "boolean",
                "description": "false: the console put the program away, its return feed "
                "starts paused (default true).",
            },
        },
    },
    "ConsoleAnswer": _CONSOLE_ANSWER,
    "ConsoleState": _CONSOLE_STATE,
    "IceServer": _ICE_SERVER,
}
