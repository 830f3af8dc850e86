"""Live routes: the studios' console signalling (web.live.signaling), WHIP ingest
(web.live.whip), master control (web.live.master_control), and the service's own routes
(health, this description)."""

from __future__ import annotations

from web.live.whip import (
    CORS_EXPOSED_HEADERS,
    CORS_REQUEST_HEADERS,
    ENDPOINT_CORS_METHODS,
    PREFLIGHT_MAX_AGE,
    SESSION_ALLOW,
    SESSION_CORS_METHODS,
)
from web.openapi.model import (
    BOOKING,
    CLUSTER_NODE,
    JOIN_LINK,
    PUBLIC,
    SDP,
    SESSION,
    SIGNED_IN,
    STUDIO,
    WHIP,
    Body,
    Operation,
    Query,
    Reply,
    ref,
)

WATCHERS = ("admin", "producer")
_WHIP = f"/whip/{BOOKING}/{STUDIO}"
_WHIP_SESSION = f"{_WHIP}/{SESSION}"
_ICE_LINKS = (
    "One per STUN/TURN server the studio's console gets (RFC 9725 section 4.6, RFC 8288): "
    '`<stun:host:port>; rel="ice-server"`, and for TURN `<turn:host:port>; rel="ice-server"; '
    'username="..."; credential="..."; credential-type="password"` with the console\'s '
    "time-limited credentials. While the database is down: STUN, and TURN only with static "
    "credentials. None when the server configures no ICE servers."
)
_CORS_HEADERS = {
    "Access-Control-Allow-Origin": "`*`: a page of any origin may read the answer (the "
    "credential is the bearer token, never a cookie)",
    "Access-Control-Expose-Headers": f"`{CORS_EXPOSED_HEADERS}`: a page may read them",
}
_CORS_NOTE = (
    "Browser-based clients: every answer under /whip/, errors included, carries "
    "`Access-Control-Allow-Origin: *` and exposes Location and Link; OPTIONS answers the "
    "preflight without a token."
)


def _preflight(methods: str) -> Reply:
    """The 204 of a WHIP URL's CORS preflight."""
    return Reply(
        204,
        "What a page may send here",
        None,
        headers={
            "Access-Control-Allow-Origin": "`*`",
            "Access-Control-Allow-Methods": f"`{methods}`",
            "Access-Control-Allow-Headers": f"`{CORS_REQUEST_HEADERS}`",
            "Access-Control-Max-Age": f"`{PREFLIGHT_MAX_AGE}` seconds",
        },
    )


_STUDIO_LINK = f"/join/{BOOKING}/{STUDIO}"
_LINK_REFUSED = (
    "invalid_link: not this booking's and studio's token; not_open_yet: before the line "
    "check; link_closed: after the end plus grace, or cancelled or declined; "
    "studio_declined: the studio declined the booking (with its `reason`)"
)

LIVE_OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "GET",
        "/healthz",
        "getHealth",
        "Service",
        "Liveness, and whether the database answers",
        PUBLIC,
        (Reply(200, "Always 200 while the process serves", schema=ref("Health")),),
        description="A database outage gives `degraded`, never an error: an orchestrator must "
        "not restart a server whose rooms are still live.",
        stored=False,
    ),
    Operation(
        "GET",
        "/api/openapi.json",
        "getOpenApi",
        "Service",
        "This description",
        PUBLIC,
        (Reply(200, "OpenAPI 3.1", schema={"type": "object"}),),
        description="Public: it holds no data, and tools read it before they have a token.",
        stored=False,
    ),
    Operation(
        "GET",
        "/api/live",
        "getLiveRooms",
        "Master control",
        "Every open room (and those starting within the hour) with each studio's health",
        SIGNED_IN,
        (
            Reply(
                200,
                "The monitor's latest snapshot (sampled once a second)",
                schema=ref("LiveRooms"),
            ),
        ),
        errors={403: "forbidden"},
        roles=WATCHERS,
    ),
    Operation(
        "GET",
        "/api/cluster/live",
        "getClusterNodeRooms",
        "Master control",
        "This node's open rooms and their active alerts, for the other nodes of its cluster",
        CLUSTER_NODE,
        (Reply(200, "What this node's monitor sampled last", schema=ref("ClusterLive")),),
        errors={403: "forbidden: not a node of this cluster", 404: "not_found: not in a cluster"},
        description="Each node asks every other live node once a second, so that master "
        "control on any node shows every room of the cluster (GET /api/live, /ws/monitor).",
        stored=False,
    ),
    Operation(
        "GET",
        f"/api/live/{BOOKING}/{STUDIO}/thumbnail.jpg",
        "getLiveThumbnail",
        "Master control",
        "A studio's latest picture (made every few seconds)",
        SIGNED_IN,
        (Reply(200, "A JPEG", "image/jpeg", {"type": "string"}),),
        errors={403: "forbidden", 404: "not_found: no picture from this studio yet"},
        query=(Query("v", "The version from `thumbnail_url`; lets a browser cache each one"),),
        roles=WATCHERS,
    ),
    Operation(
        "GET",
        "/ws/monitor",
        "monitorSocket",
        "Master control",
        "WebSocket: a `hello`, then a `snapshot` every second",
        SIGNED_IN,
        (Reply(101, "Switching to the WebSocket protocol", None),),
        errors={403: "forbidden: the role, or an Origin other than this site"},
        roles=WATCHERS,
        description="Messages are JSON text: first `MonitorHello` "
        "(#/components/schemas/MonitorHello), then `MonitorSnapshot` "
        "(#/components/schemas/MonitorSnapshot) every second. The client sends nothing; a "
        "client too slow to take a message in 10 s is closed, and one that lags loses old "
        "snapshots (each is complete). A browser's Origin must be this site.",
    ),
    Operation(
        "GET",
        "/metrics",
        "getMetrics",
        "Master control",
        "Prometheus text: rooms, studios, recording, event-loop lag, CPU and memory",
        SIGNED_IN,
        (Reply(200, "Prometheus text format 0.0.4", "text/plain", {"type": "string"}),),
        errors={403: "forbidden"},
        roles=WATCHERS,
        description="A scraper authenticates with a bearer token (producer or admin).",
    ),
    Operation(
        "POST",
        f"{_STUDIO_LINK}/session",
        "openConsoleSession",
        "Studio console",
        "The console's WebRTC offer; the answer says which m-lines carry whom",
        JOIN_LINK,
        (Reply(200, "The answer", schema=ref("ConsoleAnswer")),),
        errors={
            400: "bad_offer: the SDP cannot be used",
            403: _LINK_REFUSED,
            409: "room_closed",
            422: "invalid: sdp is required",
        },
        body=Body("application/json", ref("ConsoleOffer")),
        description="The offer has one receive pair (video, audio) per partner and one more "
        "for the program's return feed. A new session of the same studio replaces the old one.",
    ),
    Operation(
        "DELETE",
        f"{_STUDIO_LINK}/session/{SESSION}",
        "closeConsoleSession",
        "Studio console",
        "The console's Leave: end this connection at once",
        JOIN_LINK,
        (Reply(204, "Ended", None),),
        errors={403: "invalid_link", 404: "not_found: no such session (already gone)"},
    ),
    Operation(
        "GET",
        f"{_STUDIO_LINK}/state",
        "getConsoleState",
        "Studio console",
        "The tally (on program, recording) and the booking's times and ICE servers now",
        JOIN_LINK,
        (Reply(200, "Polled by the console every second", schema=ref("ConsoleState")),),
        errors={403: _LINK_REFUSED},
        description="A show extended on air moves the console's "
        "countdown, and a reconnect after the old end gets TURN credentials that still work.",
        query=(
            Query(
                "session",
                "The console's connection now (from its session answer): the answer then says "
                "whether the room still has it (`session_in_room`)",
            ),
        ),
    ),
    Operation(
        "PUT",
        f"{_STUDIO_LINK}/microphone",
        "setConsoleMicrophone",
        "Studio console",
        "The console's cough key: the studio's microphone is off (or on again)",
        JOIN_LINK,
        (Reply(200, "The producer's sound desk shows it", schema=ref("Microphone")),),
        errors={
            403: _LINK_REFUSED,
            409: "no_program: the room composes no program",
            422: "invalid: `off` must be true or false",
        },
        body=Body("application/json", ref("Microphone")),
        description="The console stops sending sound itself (its track is disabled); this "
        "tells the producer why the studio is silent.",
    ),
    Operation(
        "PUT",
        f"{_STUDIO_LINK}/program",
        "setConsoleProgram",
        "Studio console",
        "The console shows the program (its return feed), or put it away",
        JOIN_LINK,
        (Reply(200, "The return feed is sent, or paused", schema=ref("ProgramShown")),),
        errors={
            403: _LINK_REFUSED,
            409: "no_program: the room composes no program",
            422: "invalid: `shown` must be true or false",
        },
        body=Body("application/json", ref("ProgramShown")),
        description="The connection stays as it is: the return feed's m-lines send nothing "
        "while the program is put away, across reconnects too. The room composes the "
        "program's picture only while something uses it (a recording, an output, a console "
        "that shows it, a control room).",
    ),
    Operation(
        "GET",
        f"{_STUDIO_LINK}/messages",
        "listConsoleMessages",
        "Studio console",
        "The booking's chat as the studio reads it: to everyone, and between it and production",
        JOIN_LINK,
        (Reply(200, "Oldest first, 200 at most", schema=ref("MessageList")),),
        errors={400: "invalid: after is not a whole number", 403: "invalid_link"},
        query=(
            Query(
                "after",
                "The last message id the console has (0 or left out: from the start)",
                {"type": "integer", "minimum": 0},
            ),
        ),
    ),
    Operation(
        "POST",
        f"{_STUDIO_LINK}/messages",
        "postConsoleMessage",
        "Studio console",
        "Write from the console: to everyone, or (`to` the studio itself) privately to production",
        JOIN_LINK,
        (Reply(201, "Kept with the booking", schema=ref("MessageDocument")),),
        errors={
            403: "invalid_link",
            404: "not_found: the studio is no longer in the booking",
            409: "invalid_transition: the booking is cancelled, declined or over",
            422: "invalid: empty, over 2000 characters, control characters, or `to` another studio",
        },
        body=Body("application/json", ref("NewMessage")),
    ),
    Operation(
        "POST",
        f"{_STUDIO_LINK}/cues/{{cue_id:[0-9]{{1,12}}}}/ack",
        "acknowledgeCueFromConsole",
        "Studio console",
        "The operator has seen the producer's cue (the first acknowledgement is kept)",
        JOIN_LINK,
        (Reply(200, "Acknowledged", schema=ref("CueDocument")),),
        errors={
            403: "invalid_link",
            404: "not_found: unknown booking or cue, or a cue to another studio",
        },
    ),
    Operation(
        "POST",
        f"{_STUDIO_LINK}/call",
        "callProducer",
        "Studio console",
        'The operator calls production ("I need you"): the studio\'s tile flashes in the '
        "control room",
        JOIN_LINK,
        (Reply(200, "The studio's open call", schema=ref("ConsoleCallDocument")),),
        errors={
            403: _LINK_REFUSED + "; studio_removed: no longer in the booking",
            404: "not_found: no such booking",
        },
        description="One open call per studio: pressing again keeps it and restarts its "
        "time. It ends when a producer answers it or runs out; the state poll's `call` is then "
        "null. Works through a database outage.",
    ),
    Operation(
        "POST",
        _WHIP,
        "whipPublish",
        "WHIP",
        "WHIP ingest (RFC 9725): an encoder becomes the studio's source",
        WHIP,
        (
            Reply(
                201,
                "The SDP answer",
                SDP,
                {"type": "string"},
                {
                    "Location": "The session's URL: DELETE it to stop",
                    "Link": _ICE_LINKS,
                    "Cache-Control": "`no-store`: the links carry TURN credentials",
                },
            ),
        ),
        errors={
            400: "bad_offer: not UTF-8, or an SDP the bridge cannot use (VP8 or H.264 in "
            "packetization mode 1, and Opus)",
            401: "unauthorized: no bearer token (with WWW-Authenticate: Bearer)",
            403: _LINK_REFUSED,
            409: "room_closed",
            415: "unsupported_media_type: the offer must be application/sdp",
        },
        body=Body(SDP, {"type": "string"}, "The encoder's SDP offer"),
        description="The bearer token is the `token` of the studio's join link. No trickle "
        "ICE and no ICE restarts (PATCH answers 405): the offer carries its candidates, and a "
        "new POST restarts. So there is no `ETag` either. " + _CORS_NOTE,
        every_reply_headers=_CORS_HEADERS,
    ),
    Operation(
        "DELETE",
        _WHIP_SESSION,
        "whipStop",
        "WHIP",
        "End a WHIP session (the `Location` of its POST)",
        WHIP,
        (Reply(200, "Ended", None),),
        errors={
            401: "unauthorized: no bearer token",
            403: "invalid_link",
            404: "not_found: no such WHIP session",
        },
        every_reply_headers=_CORS_HEADERS,
    ),
    Operation(
        "PATCH",
        _WHIP_SESSION,
        "whipPatch",
        "WHIP",
        "Trickle ICE and ICE restarts: not supported (RFC 9725 section 4.3.1)",
        WHIP,
        (
            Reply(
                405,
                "method_not_allowed, whatever the body: send every candidate in the offer, "
                "and POST a new offer to restart",
                schema=ref("Error"),
                headers={"Allow": f"`{SESSION_ALLOW}`"},
            ),
        ),
        errors={401: "unauthorized: no bearer token", 403: "invalid_link"},
        description="The token is checked first, as on DELETE.",
        every_reply_headers=_CORS_HEADERS,
    ),
    Operation(
        "OPTIONS",
        _WHIP,
        "whipPreflight",
        "WHIP",
        "CORS preflight of the POST, for browser-based WHIP clients",
        PUBLIC,
        (_preflight(ENDPOINT_CORS_METHODS),),
        description="Needs no token: a browser sends none with a preflight.",
        stored=False,
    ),
    Operation(
        "OPTIONS",
        _WHIP_SESSION,
        "whipSessionPreflight",
        "WHIP",
        "CORS preflight of the DELETE (and of a PATCH, so that a page hears its 405)",
        PUBLIC,
        (_preflight(SESSION_CORS_METHODS),),
        description="Needs no token: a browser sends none with a preflight.",
        stored=False,
    ),
)
