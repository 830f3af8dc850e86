"""The booking form: its fields to the API's JSON shape and back (wall-clock times in a zone)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from multidict import MultiDictProxy

from schedules.model import (
    DEFAULT_QUALITY,
    DEFAULT_SETUP_MINUTES,
    DEFAULT_STREAM,
    DEFAULT_TEARDOWN_MINUTES,
    Booking,
)
from schedules.rules.zones import ZONE_PROBLEM, entry_zone
from schedules.timeutil import TimeInputError, from_wall_clock, known_zone, rfc3339

FormData = MultiDictProxy[Any]


@dataclass
class BookingForm:
    """What the form shows: the values typed so far and the zone they are read in."""

    title: str = ""
    studios: list[str] = field(default_factory=list)
    starts_local: str = ""
    ends_local: str = ""
    zone: str = "UTC"
    setup_minutes: str = str(DEFAULT_SETUP_MINUTES)
    teardown_minutes: str = str(DEFAULT_TEARDOWN_MINUTES)
    record: bool = True
    layout: str = "auto"
    quality: str = DEFAULT_QUALITY
    stream: str = DEFAULT_STREAM
    notes: str = ""
    repeat_until: str = ""

    @classmethod
    def from_booking(cls, b: Booking, zone: str) -> BookingForm:
        """The form filled with a stored booking, its times on the clock they were entered on
        (17:00 Baku is edited as 17:00 Baku); `zone` for a booking that does not say."""
        zone = entry_zone(b.zone, zone)
        tz = ZoneInfo(zone)
        return cls(
            title=b.title,
            studios=list(b.studio_ids),
            starts_local=_local_text(b.starts_at, tz),
            ends_local=_local_text(b.ends_at, tz),
            zone=zone,
            setup_minutes=str(b.setup_minutes),
            teardown_minutes=str(b.teardown_minutes),
            record=b.record,
            layout=b.layout,
            quality=b.quality,
            stream=b.stream,
            notes=b.notes,
        )

    @classmethod
    def from_post(cls, form: FormData) -> BookingForm:
        """The form as posted (kept verbatim so nothing typed is lost on an error)."""

        def text(name: str, default: str = "") -> str:
            value = form.get(name, default)
            return value.strip() if isinstance(value, str) else default

        return cls(
            title=text("title"),
            studios=[s for s in form.getall("studios", []) if isinstance(s, str)],
            starts_local=text("starts_local"),
            ends_local=text("ends_local"),
            zone=text("zone", "UTC") or "UTC",
            setup_minutes=text("setup_minutes", str(DEFAULT_SETUP_MINUTES)),
            teardown_minutes=text("teardown_minutes", str(DEFAULT_TEARDOWN_MINUTES)),
            record=form.get("record") == "on",
            layout=text("layout", "auto"),
            quality=text("quality", DEFAULT_QUALITY),
            stream=text("stream", DEFAULT_STREAM),
            notes=text("notes"),
            repeat_until=text("repeat_until"),
        )

    def to_body(self) -> tuple[dict[str, Any], dict[str, str]]:
        """The API body, plus the field errors that only the form can have (times, numbers)."""
        errors: dict[str, str] = {}
        body: dict[str, Any] = {
            "title": self.title,
            "studios": self.studios,
            "record": self.record,
            "layout": self.layout,
            "quality": self.quality,
            "stream": self.stream,
            "notes": self.notes,
            "zone": self.zone,
        }
        if not known_zone(self.zone):
            errors["zone"] = ZONE_PROBLEM
        for name, raw in (("starts_at", self.starts_local), ("ends_at", self.ends_local)):
            if not raw:
                errors[name] = "is required"
                continue
            if "zone" in errors:
                continue  # a wall-clock time cannot be read without its zone
            try:
                body[name] = rfc3339(from_wall_clock(raw, self.zone))
            except TimeInputError as exc:
                errors[name] = str(exc)
        for name, raw in (
            ("setup_minutes", self.setup_minutes),
            ("teardown_minutes", self.teardown_minutes),
        ):
            try:
                body[name] = int(raw)
            except ValueError:
                errors[name] = "must be a whole number of minutes"
        if self.repeat_until:
            body["recurrence"] = {"until": self.repeat_until, "timezone": self.zone}
        return body, errors


def _local_text(moment: datetime, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime("%Y-%m-%dT%H:%M")


def merge_errors(*parts: Mapping[str, str]) -> dict[str, str]:
    """Field errors from several checks; the first message for a field wins."""
    out: dict[str, str] = {}
    for part in parts:
        for k, v in part.items():
            out.setdefault(k, v)
    return out
