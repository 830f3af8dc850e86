"""The booking domain's plain records: studios, bookings, their partners' answers, audit events."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from schedules.errors import ConflictItem

MIN_STUDIOS = 2
MAX_STUDIOS = 6
MAX_BOOKING = timedelta(hours=12)
DEFAULT_SETUP_MINUTES = 15
DEFAULT_TEARDOWN_MINUTES = 5
MAX_BUFFER_MINUTES = 240
# The program layout of a booking that names none; the layouts themselves are the live side's.
DEFAULT_LAYOUT = "auto"


@dataclass(frozen=True)
class QualityPreset:
    """What each studio's camera sends in a booking: resolution, frame rate, bitrate range."""

    width: int
    height: int
    fps: int
    min_kbps: int
    start_kbps: int
    max_kbps: int


QUALITY_PRESETS: dict[str, QualityPreset] = {
    "720p30": QualityPreset(1280, 720, 30, 1500, 2000, 2500),
    "1080p30": QualityPreset(1920, 1080, 30, 3000, 4000, 5000),
    "540p30": QualityPreset(960, 540, 30, 800, 1200, 1500),  # for thin uplinks
}
DEFAULT_QUALITY = "720p30"
# Who may watch a booking's live program and its recording at the watch page: "private" needs
# the signed viewing link the producer hands out; "public" is anyone with the page's address.
STREAM_ACCESS = ("private", "public")
DEFAULT_STREAM = "private"


class BookingStatus(enum.StrEnum):
    """Where a booking is in its lifecycle (see `lifecycle.TRANSITIONS`)."""

    REQUESTED = "requested"
    CONFIRMED = "confirmed"
    LIVE = "live"
    COMPLETED = "completed"
    DECLINED = "declined"
    CANCELLED = "cancelled"


# Statuses whose busy windows block the studios; the others free them.
BLOCKING_STATUSES = frozenset(
    {BookingStatus.REQUESTED, BookingStatus.CONFIRMED, BookingStatus.LIVE}
)


class PartnerAnswer(enum.StrEnum):
    """A partner studio's answer to a booking request."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"


class Role(enum.StrEnum):
    """What a login or token may do."""

    ADMIN = "admin"
    PRODUCER = "producer"
    OPERATOR = "operator"
    VIEWER = "viewer"


@dataclass(frozen=True)
class Studio:
    """A partner studio; `timezone` is an IANA zone name such as "Asia/Baku"."""

    id: str
    name: str
    organisation: str
    city: str
    timezone: str

    @property
    def zone(self) -> ZoneInfo:
        """The studio's time zone."""
        return ZoneInfo(self.timezone)

    def local(self, moment: datetime) -> datetime:
        """`moment` as the studio's wall clock shows it."""
        return moment.astimezone(self.zone)


@dataclass(frozen=True)
class BookingStudio:
    """One studio's place in a booking and its answer."""

    studio_id: str
    answer: PartnerAnswer = PartnerAnswer.PENDING
    answered_at: datetime | None = None
    decline_reason: str = ""  # why it declined, in its operator's words ("" otherwise)


@dataclass(frozen=True)
class Booking:
    """A telebridge between 2 to 6 studios; all datetimes aware UTC."""

    id: str
    title: str
    status: BookingStatus
    starts_at: datetime
    ends_at: datetime
    setup_minutes: int
    teardown_minutes: int
    record: bool
    layout: str
    notes: str
    sequence: int
    studios: tuple[BookingStudio, ...]
    created_by: str
    created_at: datetime
    updated_at: datetime
    series_id: str | None = None
    quality: str = DEFAULT_QUALITY
    stream: str = DEFAULT_STREAM  # who may watch the live program: private or public
    # The IANA zone the times were entered in ("" for bookings made before it was kept): the
    # form shows and edits them on that wall clock, so 17:00 Baku stays 17:00 Baku.
    zone: str = ""

    @property
    def busy_from(self) -> datetime:
        """When the studios stop being free: setup (line check) start."""
        return self.starts_at - timedelta(minutes=self.setup_minutes)

    @property
    def busy_until(self) -> datetime:
        """When the studios are free again: teardown end."""
        return self.ends_at + timedelta(minutes=self.teardown_minutes)

    @property
    def studio_ids(self) -> tuple[str, ...]:
        """The ids of the booked studios, in booking order."""
        return tuple(s.studio_id for s in self.studios)

    @property
    def taking_part(self) -> tuple[str, ...]:
        """The booked studios that have not declined, in booking order: a room has these (a
        studio that declined a booking of three or more stays booked until the producer goes
        on without it, but never joins)."""
        return tuple(s.studio_id for s in self.studios if s.answer is not PartnerAnswer.DECLINED)

    def part_of(self, studio_id: str) -> BookingStudio | None:
        """The studio's place in the booking, or None when it is not part of it."""
        return next((s for s in self.studios if s.studio_id == studio_id), None)

    def answer_of(self, studio_id: str) -> PartnerAnswer | None:
        """The studio's answer, or None when it is not part of the booking."""
        part = self.part_of(studio_id)
        return part.answer if part is not None else None


@dataclass(frozen=True)
class Recurrence:
    """Weekly repetition until a date (inclusive), at the same wall time in `timezone`.

    Without a zone the booking's own (the one its times were entered in) is used, else the
    first studio's, so a 14:00 show in Rome stays at 14:00 in Rome across the daylight-saving
    switch (and moves by an hour in Baku, which has none).
    """

    until: date
    timezone: str | None
    interval_weeks: int = 1


@dataclass(frozen=True)
class BookingDraft:
    """Validated input for a new booking or for an edit of one."""

    title: str
    studio_ids: tuple[str, ...]
    starts_at: datetime
    ends_at: datetime
    setup_minutes: int = DEFAULT_SETUP_MINUTES
    teardown_minutes: int = DEFAULT_TEARDOWN_MINUTES
    record: bool = True
    layout: str = DEFAULT_LAYOUT
    notes: str = ""
    recurrence: Recurrence | None = None
    quality: str = DEFAULT_QUALITY
    stream: str = DEFAULT_STREAM
    zone: str = ""  # the IANA zone the times were entered in ("" = not said)


@dataclass(frozen=True)
class AuditEvent:
    """One change to a booking: who did what, when, with details."""

    booking_id: str
    at: datetime
    actor: str
    action: str
    details: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class User:
    """A login; operators are bound to one studio."""

    id: int
    name: str
    role: Role
    studio_id: str | None
    language: str  # "" until the user picks one: the pages follow the browser's language
    password_hash: str
    time_zone: str = ""  # the IANA zone the user picked for its pages ("" = the default)
    # An operator's studio's zone, read with the login: its default zone (rules.zones).
    studio_zone: str = ""


@dataclass(frozen=True)
class ApiToken:
    """A bearer token's stored record (the token itself is kept only as a hash)."""

    id: int
    name: str
    role: Role
    studio_id: str | None
    created_at: datetime
    expires_at: datetime | None
    revoked: bool


@dataclass(frozen=True)
class SkippedOccurrence:
    """A weekly occurrence that was not created because it would conflict."""

    starts_at: datetime
    ends_at: datetime
    conflicts: tuple[ConflictItem, ...]


@dataclass(frozen=True)
class SeriesResult:
    """What creating a (possibly recurring) booking did."""

    created: tuple[Booking, ...]
    skipped: tuple[SkippedOccurrence, ...]
