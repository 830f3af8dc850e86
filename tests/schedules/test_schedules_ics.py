"""iCalendar output, parsed back with the `icalendar` package (a test-only dependency)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from itertools import pairwise

import icalendar
import pytest
from icalendar.parser import unescape_backslash

from schedules.ics import STATUS, booking_event, calendar, escape_text, fold
from schedules.model import BookingStatus


def parse(text: str) -> list[icalendar.Event]:
    cal = icalendar.Calendar.from_ical(text)
    return list(cal.walk("VEVENT"))


def only_event(text: str) -> icalendar.Event:
    (event,) = parse(text)
    return event


def x_text(value: object) -> str:
    """An X- property as TEXT (icalendar leaves unknown properties escaped)."""
    return str(unescape_backslash(str(value)))


def render(booking, studios, **kwargs) -> str:
    return calendar([booking_event(booking, studios, **kwargs)], name="Telebridge")


def physical_lines(text: str) -> list[bytes]:
    raw = text.encode()
    assert raw.endswith(b"\r\n")
    lines = raw[:-2].split(b"\r\n")
    for line in lines:
        assert b"\r" not in line and b"\n" not in line  # no bare line breaks anywhere
    return lines


async def test_calendar_envelope_and_event_fields(book, studios):
    booking = await book(notes="Line check on the backup circuit", setup_minutes=20)
    text = render(booking, studios, url="https://tb.example/bookings/" + booking.id)
    lines = physical_lines(text)
    assert lines[:6] == [
        b"BEGIN:VCALENDAR",
        b"PRODID:-//Telebridge//Telebridge schedules//EN",
        b"VERSION:2.0",
        b"CALSCALE:GREGORIAN",
        b"METHOD:PUBLISH",
        b"X-WR-CALNAME:Telebridge",
    ]
    assert lines[-1] == b"END:VCALENDAR"
    cal = icalendar.Calendar.from_ical(text)
    assert x_text(cal["X-WR-CALNAME"]) == "Telebridge"
    event = only_event(text)
    assert str(event["UID"]) == f"{booking.id}@telebridge"
    assert event.decoded("DTSTAMP") == booking.updated_at
    assert event.decoded("CREATED") == booking.created_at
    assert event.decoded("LAST-MODIFIED") == booking.updated_at
    assert str(event["SUMMARY"]) == "Caspian morning"
    assert str(event["LOCATION"]) == "Trend, DHA"
    assert str(event["URL"]) == f"https://tb.example/bookings/{booking.id}"
    assert str(event["X-TELEBRIDGE-SETUP-MINUTES"]) == "20"
    assert str(event["X-TELEBRIDGE-TEARDOWN-MINUTES"]) == "5"
    assert str(event["DESCRIPTION"]).split("\n") == [
        "Trend, Baku: 2026-12-01 18:00 (Asia/Baku)",
        "DHA, Istanbul: 2026-12-01 17:00 (Europe/Istanbul)",
        "Line check (setup) from 2026-12-01 13:40 UTC, 20 min before air",
        "",
        "Line check on the backup circuit",
    ]


async def test_description_lists_every_partner_on_its_own_wall_clock(book, studios):
    booking = await book(
        studios=["ansa", "qazcontent", "kabar", "uza", "azertac", "aa"],
        starts_at="2027-07-01T14:00:00Z",
        ends_at="2027-07-01T15:00:00Z",
    )
    description = str(only_event(render(booking, studios))["DESCRIPTION"]).split("\n")
    assert description[:6] == [
        "ANSA, Rome: 2027-07-01 16:00 (Europe/Rome)",
        "Qazcontent, Astana: 2027-07-01 19:00 (Asia/Almaty)",
        "Kabar, Bishkek: 2027-07-01 20:00 (Asia/Bishkek)",
        "UzA, Tashkent: 2027-07-01 19:00 (Asia/Tashkent)",
        "AZERTAC, Baku: 2027-07-01 18:00 (Asia/Baku)",
        "Anadolu Ajansı, Ankara: 2027-07-01 17:00 (Europe/Istanbul)",
    ]


async def test_missing_studio_still_renders(book, studios):
    booking = await book()
    event = only_event(render(booking, {"trend": studios["trend"]}))
    assert str(event["LOCATION"]) == "Trend, dha"
    assert "dha: 2026-12-01 14:00 (UTC)" in str(event["DESCRIPTION"])


async def test_no_url_no_url_line(book, studios):
    assert "URL" not in only_event(render(await book(), studios))


async def test_url_with_line_break_is_refused(book, studios):
    with pytest.raises(ValueError, match="control characters"):
        booking_event(await book(), studios, url="https://tb.example/\r\nX-EVIL:1")


async def test_uid_stable_and_sequence_follows_the_booking(service, book, studios, clock):
    booking = await book()
    steps = [
        ("created", lambda: service.get(booking.id), 0, "TENTATIVE"),
        ("title edit", lambda: service.update(booking.id, {"title": "Evening"}, "p"), 1, None),
        (
            "reschedule",
            lambda: service.update(
                booking.id,
                {"starts_at": "2026-12-01T16:00:00Z", "ends_at": "2026-12-01T17:00:00Z"},
                "p",
            ),
            2,
            "TENTATIVE",
        ),
        ("first answer", lambda: service.confirm(booking.id, "trend", "op"), 2, "TENTATIVE"),
        ("confirmed", lambda: service.confirm(booking.id, "dha", "op"), 2, "CONFIRMED"),
        ("cancelled", lambda: service.cancel(booking.id, "p"), 3, "CANCELLED"),
    ]
    for name, step, sequence, status in steps:
        clock.advance(minutes=10)
        current = await step()
        event = only_event(render(current, studios))
        assert str(event["UID"]) == f"{booking.id}@telebridge", name
        assert event["SEQUENCE"] == current.sequence == sequence, name
        assert event.decoded("DTSTART") == current.starts_at, name
        assert event.decoded("DTSTAMP") == current.updated_at, name
        if status:
            assert str(event["STATUS"]) == status, name
    custom = booking_event(current, studios, domain="tb.example.org")
    assert f"UID:{booking.id}@tb.example.org" in custom


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        pytest.param(BookingStatus.REQUESTED, "TENTATIVE", id="requested"),
        pytest.param(BookingStatus.CONFIRMED, "CONFIRMED", id="confirmed"),
        pytest.param(BookingStatus.LIVE, "CONFIRMED", id="live"),
        pytest.param(BookingStatus.COMPLETED, "CONFIRMED", id="completed"),
        pytest.param(BookingStatus.DECLINED, "CANCELLED", id="declined"),
        pytest.param(BookingStatus.CANCELLED, "CANCELLED", id="cancelled"),
    ],
)
async def test_status_mapping(book, studios, status, expected):
    event = only_event(render(replace(await book(), status=status), studios))
    assert str(event["STATUS"]) == expected


def test_status_mapping_covers_every_status():
    assert set(STATUS) == set(BookingStatus)


@pytest.mark.parametrize(
    ("starts_at", "ends_at", "dtstart", "dtend"),
    [
        pytest.param(
            "2026-12-01T14:00:00Z",
            "2026-12-01T15:00:00Z",
            "20261201T140000Z",
            "20261201T150000Z",
            id="Z",
        ),
        pytest.param(
            "2026-12-01T18:00:00+04:00",
            "2026-12-01T19:30:00+04:00",
            "20261201T140000Z",
            "20261201T153000Z",
            id="Baku",
        ),
        pytest.param(
            "2026-12-02T01:00:00+06:00",
            "2026-12-02T02:00:00+06:00",
            "20261201T190000Z",
            "20261201T200000Z",
            id="Bishkek past midnight",
        ),
        pytest.param(
            "2027-07-01T16:00:00+02:00",
            "2027-07-02T04:00:00+02:00",
            "20270701T140000Z",
            "20270702T020000Z",
            id="Rome summer, 12 h",
        ),
    ],
)
async def test_times_in_utc(book, studios, starts_at, ends_at, dtstart, dtend):
    booking = await book(starts_at=starts_at, ends_at=ends_at)
    text = render(booking, studios)
    assert f"DTSTART:{dtstart}\r\n" in text
    assert f"DTEND:{dtend}\r\n" in text
    event = only_event(text)
    assert event.decoded("DTSTART") == booking.starts_at
    assert event.decoded("DTEND") == booking.ends_at
    assert event.decoded("DTSTART").utcoffset().total_seconds() == 0


TEXTS = [
    pytest.param("Baku, Istanbul; Astana", "a, b; c\nd", id="commas and semicolons"),
    pytest.param(r"C:\feeds\main", "back\\slash\\n not a newline", id="backslashes"),
    pytest.param("Ərəb dili, Əliyev", "Gənclər;\nƏmək", id="Azerbaijani schwa"),
    pytest.param("Türkiye'nin ışığı", "şehir, ılık; Iğdır\r\nİstanbul", id="Turkish dotless i"),
    pytest.param("Қазақстан жаңалықтары", "Астана; Алматы,\nҚарағанды", id="Kazakh Cyrillic"),
    pytest.param("Tab\tinside", "tab\tand bell\x07gone", id="tab kept, control dropped"),
    pytest.param(
        "Ə" * 150,
        ("Ə, ş; Қ\n" * 80).strip(),
        id="long multibyte text folded",
    ),
    pytest.param("Ortaq yayın 🎙️ canlı", "🌍" * 50 + ", " + "x" * 73, id="four-byte characters"),
]


def _expected_notes(notes: str) -> str:
    return notes.replace("\r\n", "\n").replace("\x07", "").strip()


@pytest.mark.parametrize(("title", "notes"), TEXTS)
async def test_text_roundtrip(book, studios, title, notes):
    booking = await book(title=title[:200], notes=notes)
    text = render(booking, studios, url="https://tb.example/b/" + booking.id)
    event = only_event(text)
    assert str(event["SUMMARY"]) == booking.title
    assert str(event["DESCRIPTION"]).endswith("\n\n" + _expected_notes(notes))
    for line in physical_lines(text):
        assert len(line) <= 75
        line.decode()  # raises when a fold split a multibyte character


async def test_calendar_name_and_studio_names_roundtrip(service):
    await service.add_studio(
        {
            "id": "azertac-ganja",
            "name": "AZƏRTAC; Gəncə, Studio \\2",
            "organisation": "AZƏRTAC",
            "city": "Gəncə",
            "timezone": "Asia/Baku",
        }
    )
    result = await service.create(
        {
            "title": "Gəncə – Ankara",
            "studios": ["azertac-ganja", "aa"],
            "starts_at": "2026-12-01T14:00:00Z",
            "ends_at": "2026-12-01T15:00:00Z",
        },
        "producer",
    )
    booking = result.created[0]
    all_studios = await service.studios_by_id()
    name = "Telebridge: AZƏRTAC; Gəncə, Studio \\2"
    text = calendar([booking_event(booking, all_studios)], name=name)
    cal = icalendar.Calendar.from_ical(text)
    assert x_text(cal["X-WR-CALNAME"]) == name
    event = only_event(text)
    assert str(event["LOCATION"]) == "AZƏRTAC; Gəncə, Studio \\2, Anadolu Ajansı"
    assert str(event["DESCRIPTION"]).startswith(
        "AZƏRTAC; Gəncə, Studio \\2, Gəncə: 2026-12-01 18:00 (Asia/Baku)\n"
    )


async def test_feed_of_many_events(service, body, studios):
    result = await service.create(body(recurrence={"until": "2026-12-29"}), "producer")
    await service.cancel(result.created[1].id, "producer")
    bookings = await service.search(start=datetime(2026, 11, 1, tzinfo=UTC))
    text = calendar([booking_event(b, studios) for b in bookings], name="Telebridge: Trend")
    events = parse(text)
    assert [str(e["UID"]) for e in events] == [f"{b.id}@telebridge" for b in bookings]
    assert [str(e["STATUS"]) for e in events] == [
        "TENTATIVE",
        "CANCELLED",
        "TENTATIVE",
        "TENTATIVE",
        "TENTATIVE",
    ]
    assert all(len(line) <= 75 for line in physical_lines(text))


def test_empty_calendar():
    text = calendar([], name="Nothing booked")
    assert parse(text) == []
    assert text.endswith("END:VCALENDAR\r\n")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("plain", "plain", id="plain"),
        pytest.param("a,b;c", "a\\,b\\;c", id="comma and semicolon"),
        pytest.param("a\\b", "a\\\\b", id="backslash"),
        pytest.param("a\\,b", "a\\\\\\,b", id="backslash before comma"),
        pytest.param("a\nb\r\nc\rd", "a\\nb\\nc\\nd", id="every kind of line break"),
        pytest.param("a:b\"c'", "a:b\"c'", id="colon and quotes untouched"),
        pytest.param("a\x00b\x1bc\x7fd\te", "abcd\te", id="controls dropped, tab kept"),
    ],
)
def test_escape_text(value, expected):
    assert escape_text(value) == expected


@pytest.mark.parametrize(
    "line",
    [
        pytest.param("", id="empty"),
        pytest.param("x" * 75, id="exactly 75 ASCII"),
        pytest.param("x" * 76, id="76 ASCII"),
        pytest.param("x" * 74 + "Ə", id="two-byte character across the limit"),
        pytest.param("x" * 73 + "€", id="three-byte character across the limit"),
        pytest.param("x" * 72 + "🎙", id="four-byte character across the limit"),
        pytest.param("ş" * 200, id="long two-byte run"),
        pytest.param("Қ" * 37 + "x" + "Қ" * 100, id="odd offset two-byte run"),
        pytest.param("🌍" * 100, id="long four-byte run"),
    ],
)
def test_fold(line):
    folded = fold(line)
    parts = folded.encode().split(b"\r\n")
    assert all(len(p) <= 75 for p in parts)
    assert all(p.startswith(b" ") for p in parts[1:])
    # Unfolding (CRLF + one space removed) gives the line back, and no part is a broken character.
    assert folded.replace("\r\n ", "") == line
    for p in parts:
        p.decode()
    # Folding only when needed, and filling every line but the last as far as it can.
    if len(line.encode()) <= 75:
        assert folded == line
    for part, following in pairwise(parts):
        next_char = following.decode()[1:2]
        assert len(part) + len(next_char.encode()) > 75


@pytest.mark.parametrize(
    ("studios_booked", "for_studio", "expected"),
    [
        pytest.param(["trend", "dha", "kabar"], None, "TENTATIVE", id="3: the producer's copy"),
        pytest.param(["trend", "dha", "kabar"], "trend", "TENTATIVE", id="3: another studio"),
        pytest.param(["trend", "dha", "kabar"], "dha", "CANCELLED", id="3: the one that declined"),
        pytest.param(["trend", "dha"], None, "CANCELLED", id="2: declined for everyone"),
        pytest.param(["trend", "dha"], "trend", "CANCELLED", id="2: the other studio"),
    ],
)
async def test_a_decline_shows_who_and_why(
    service, book, clock, studios, studios_booked, for_studio, expected
):
    booking = await book(studios=studios_booked, notes="Backup circuit")
    clock.advance(minutes=7)
    declined = await service.decline(booking.id, "dha", "op-dha", "Crew ill; no backup, sorry")
    event = only_event(render(declined, studios, for_studio=for_studio))
    assert str(event["STATUS"]) == expected
    assert int(event["SEQUENCE"]) == booking.sequence + 1  # calendars replace the event
    description = str(event["DESCRIPTION"]).split("\n")
    # Who declined, when and why, before the notes.
    assert description[-3:] == [
        "DHA declined on 2026-11-20 12:07 UTC: Crew ill; no backup, sorry",
        "",
        "Backup circuit",
    ]
