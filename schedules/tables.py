"""The schema: every table of the database in SQLAlchemy Core, and the UTC timestamp type
their times are stored as (schedules/migrations.py brings older databases up to it)."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Dialect


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite keeps no zone; we store UTC and say so)."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime reached the database")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


metadata = sa.MetaData()

schema_version = sa.Table(
    "schema_version",
    metadata,
    sa.Column("version", sa.Integer, nullable=False),
)

studios = sa.Table(
    "studios",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("organisation", sa.String(200), nullable=False),
    sa.Column("city", sa.String(100), nullable=False),
    sa.Column("timezone", sa.String(64), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

bookings = sa.Table(
    "bookings",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("series_id", sa.String(32), nullable=True, index=True),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("starts_at", UTCDateTime, nullable=False),
    sa.Column("ends_at", UTCDateTime, nullable=False),
    # Stored so that the conflict query is one indexed range test.
    sa.Column("busy_from", UTCDateTime, nullable=False, index=True),
    sa.Column("busy_until", UTCDateTime, nullable=False, index=True),
    sa.Column("setup_minutes", sa.Integer, nullable=False),
    sa.Column("teardown_minutes", sa.Integer, nullable=False),
    sa.Column("record", sa.Boolean, nullable=False),
    sa.Column("layout", sa.String(32), nullable=False),
    sa.Column("quality", sa.String(16), nullable=False, server_default="720p30"),
    sa.Column("stream", sa.String(16), nullable=False, server_default="private"),
    # The IANA zone the producer entered the times in ("" before schema 8: shown in the
    # viewer's zone), so that the form shows and edits them as they were typed.
    sa.Column("zone", sa.String(64), nullable=False, server_default=""),
    sa.Column("notes", sa.Text, nullable=False),
    sa.Column("sequence", sa.Integer, nullable=False),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

booking_studios = sa.Table(
    "booking_studios",
    metadata,
    sa.Column(
        "booking_id",
        sa.String(32),
        sa.ForeignKey("bookings.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("studio_id", sa.String(64), sa.ForeignKey("studios.id"), primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("answer", sa.String(16), nullable=False),
    sa.Column("answered_at", UTCDateTime, nullable=True),
    # Why the studio declined, in its operator's words ("" when it has not declined).
    sa.Column("decline_reason", sa.Text, nullable=False, server_default=""),
    sa.Index("ix_booking_studios_studio", "studio_id"),
)

audit_events = sa.Table(
    "audit_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("booking_id", sa.String(32), nullable=False, index=True),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("details", sa.JSON, nullable=False),
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(100), nullable=False, unique=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("studio_id", sa.String(64), sa.ForeignKey("studios.id"), nullable=True),
    sa.Column("language", sa.String(8), nullable=False),
    # The IANA zone pages show times in for this login ("" = the default: an operator's
    # studio's zone, otherwise the site's setting).
    sa.Column("time_zone", sa.String(64), nullable=False, server_default=""),
    sa.Column("password_hash", sa.String(300), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("studio_id", sa.String(64), sa.ForeignKey("studios.id"), nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=True),
    sa.Column("revoked", sa.Boolean, nullable=False, default=False),
    # The token's first characters, to name it in lists; too few to use it (see the digest).
    sa.Column("prefix", sa.String(16), nullable=True),
)

# When each API token was last used, to the minute. Apart from the token's own row, which is
# written when the token is made and revoked: its uses are frequent small writes.
api_token_uses = sa.Table(
    "api_token_uses",
    metadata,
    sa.Column(
        "token_id",
        sa.Integer,
        sa.ForeignKey("api_tokens.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("last_used_at", UTCDateTime, nullable=False),
)

sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("id_hash", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False, index=True),
)

recordings = sa.Table(
    "recordings",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("booking_id", sa.String(32), nullable=False, index=True),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("studios", sa.JSON, nullable=False),  # the studio ids that took part
    sa.Column("status", sa.String(16), nullable=False),  # recording | finished | failed
    sa.Column("directory", sa.String(300), nullable=False),  # relative to the recordings root
    sa.Column("started_at", UTCDateTime, nullable=False, index=True),
    sa.Column("ended_at", UTCDateTime, nullable=True),
    sa.Column("duration_s", sa.Float, nullable=True),
    sa.Column("parts", sa.Integer, nullable=False),
    # The node of a cluster that finished it, whose disk holds the files not in the object
    # store (schema 10); NULL on a server alone.
    sa.Column("node_id", sa.String(64), nullable=True),
)

recording_files = sa.Table(
    "recording_files",
    metadata,
    sa.Column(
        "recording_id",
        sa.String(32),
        sa.ForeignKey("recordings.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("name", sa.String(100), primary_key=True),  # file name inside the directory
    sa.Column("kind", sa.String(16), nullable=False),  # program | iso
    sa.Column("studio_id", sa.String(64), nullable=True),
    sa.Column("media_type", sa.String(64), nullable=False),
    sa.Column("bytes", sa.BigInteger, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("duration_s", sa.Float, nullable=False),
    # NULL: on the disk of the server that recorded it; else `s3://<bucket>/<key>` in the
    # object store (schema 9), set once the upload was verified against `sha256`.
    sa.Column("location", sa.String(1000), nullable=True),
)

booking_outputs = sa.Table(
    "booking_outputs",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column(
        "booking_id",
        sa.String(32),
        sa.ForeignKey("bookings.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("kind", sa.String(8), nullable=False),  # rtmp | srt | hls
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("url", sa.String(1000), nullable=False),
    # Secrets: stored to be used, never shown again (pages, API, logs and audit log mask them).
    sa.Column("stream_key", sa.String(512), nullable=True),
    sa.Column("passphrase", sa.String(79), nullable=True),
    sa.Column("latency_ms", sa.Integer, nullable=True),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

# The producer's direction of a show, kept with the booking (schedules/direction/).
booking_cues = sa.Table(
    "booking_cues",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "booking_id",
        sa.String(32),
        sa.ForeignKey("bookings.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("studio_id", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("text", sa.String(200), nullable=False),
    sa.Column("sent_by", sa.String(200), nullable=False),
    sa.Column("sent_at", UTCDateTime, nullable=False),
    sa.Column("acknowledged_at", UTCDateTime, nullable=True),
    sa.Column("acknowledged_by", sa.String(200), nullable=True),
)

booking_messages = sa.Table(
    "booking_messages",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "booking_id",
        sa.String(32),
        sa.ForeignKey("bookings.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("author", sa.String(200), nullable=False),
    sa.Column("from_studio", sa.String(64), nullable=True),  # None: production
    sa.Column("to_studio", sa.String(64), nullable=True),  # None: everyone in the booking
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("sent_at", UTCDateTime, nullable=False),
)

# The program's graphics (schedules/graphics/): a booking's lower-third texts, per studio and
# language, the first stored first (its language is the one shown unless the producer picks
# another) ...
booking_lower_thirds = sa.Table(
    "booking_lower_thirds",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "booking_id",
        sa.String(32),
        sa.ForeignKey("bookings.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("studio_id", sa.String(64), nullable=False),
    sa.Column("language", sa.String(8), nullable=False),
    sa.Column("name", sa.String(80), nullable=False),
    sa.Column("title", sa.String(120), nullable=False),
    sa.Column("updated_by", sa.String(200), nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("booking_id", "studio_id", "language", name="uq_booking_lower_thirds"),
)

# ... what the producer has put on screen (kept, so that a room opened later, or again after a
# restart, shows it) ...
booking_graphics = sa.Table(
    "booking_graphics",
    metadata,
    sa.Column(
        "booking_id",
        sa.String(32),
        sa.ForeignKey("bookings.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("language", sa.String(8), nullable=True),  # None: the first stored
    sa.Column("shown", sa.JSON, nullable=False),  # the studios whose lower third is on
    sa.Column("clock_zone", sa.String(64), nullable=True),  # None: no clock
    sa.Column("clock_label", sa.String(40), nullable=False),
    sa.Column("logo_visible", sa.Boolean, nullable=False),
    sa.Column("logo_corner", sa.String(16), nullable=False),
    sa.Column("updated_by", sa.String(200), nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

# ... and the site's logo, one picture. A row rather than a file in the data directory: every
# server on one database (the design's several nodes) shows the same logo, a backup of the
# database holds it, and at most 1 MB it costs a database nothing.
graphics_logo = sa.Table(
    "graphics_logo",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),  # always 1
    sa.Column("png", sa.LargeBinary, nullable=False),
    sa.Column("width", sa.Integer, nullable=False),
    sa.Column("height", sa.Integer, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("uploaded_by", sa.String(200), nullable=False),
    sa.Column("uploaded_at", UTCDateTime, nullable=False),
)

# The nodes of a cluster on one database (schema 10): each server that runs rooms registers
# itself and beats its heart every second; a node whose heartbeat is older than a few seconds is
# dead and loses its rooms (schedules/cluster/registry.py).
nodes = sa.Table(
    "nodes",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("url", sa.String(300), nullable=False),  # where the other nodes reach it
    sa.Column("capacity", sa.Integer, nullable=False),  # rooms it takes at most
    sa.Column("draining", sa.Boolean, nullable=False),  # takes no new rooms
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("heartbeat_at", UTCDateTime, nullable=False),
)

# ... and which node owns each open room: one row per room, so exactly one node opens, records,
# steps and closes it. `epoch` counts the room's moves: a takeover writes the next epoch only
# if nobody wrote it first (compare-and-set), which makes the row its own lock on every backend.
room_placements = sa.Table(
    "room_placements",
    metadata,
    sa.Column("booking_id", sa.String(32), primary_key=True),
    sa.Column("node_id", sa.String(64), nullable=False, index=True),
    sa.Column("epoch", sa.Integer, nullable=False),
    sa.Column("placed_at", UTCDateTime, nullable=False),
)
