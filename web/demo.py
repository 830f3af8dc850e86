"""Demo data for `telebridge serve --demo`: the partner studios, a login per role, a booking."""

from __future__ import annotations

import asyncio
import functools
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from schedules.accounts import Accounts
from schedules.service import BookingService
from web.access.security import hash_password, scrypt_n

PARTNER_STUDIOS: tuple[dict[str, str], ...] = (
    {
        "id": "trend",
        "name": "Trend",
        "organisation": "Trend News Agency",
        "city": "Baku",
        "timezone": "Asia/Baku",
    },
    {
        "id": "azertac",
        "name": "AZERTAC",
        "organisation": "AZERTAC",
        "city": "Baku",
        "timezone": "Asia/Baku",
    },
    {
        "id": "dha",
        "name": "DHA",
        "organisation": "Demirören Haber Ajansı",
        "city": "Istanbul",
        "timezone": "Europe/Istanbul",
    },
    {
        "id": "albayrak",
        "name": "Albayrak Media",
        "organisation": "Albayrak Media",
        "city": "Istanbul",
        "timezone": "Europe/Istanbul",
    },
    {
        "id": "aa",
        "name": "Anadolu Ajansı",
        "organisation": "Anadolu Ajansı",
        "city": "Ankara",
        "timezone": "Europe/Istanbul",
    },
    {
        "id": "qazcontent",
        "name": "Qazcontent",
        "organisation": "Qazcontent",
        "city": "Astana",
        "timezone": "Asia/Almaty",
    },
    {
        "id": "kabar",
        "name": "Kabar",
        "organisation": "Kabar",
        "city": "Bishkek",
        "timezone": "Asia/Bishkek",
    },
    {
        "id": "uza",
        "name": "UzA",
        "organisation": "UzA",
        "city": "Tashkent",
        "timezone": "Asia/Tashkent",
    },
    {
        "id": "ansa",
        "name": "ANSA Roma",
        "organisation": "ANSA",
        "city": "Rome",
        "timezone": "Europe/Rome",
    },
)

DEMO_PASSWORD = "telebridge-demo"
# (name, role, studio)
DEMO_USERS: tuple[tuple[str, str, str | None], ...] = (
    ("admin", "admin", None),
    ("producer", "producer", None),
    ("viewer", "viewer", None),
    *((f"operator-{s['id']}", "operator", s["id"]) for s in PARTNER_STUDIOS),
)


@functools.cache
def _demo_hash(n: int) -> str:  # by the work factor in force (a setting)
    return hash_password(DEMO_PASSWORD)


async def seed_demo(bookings: BookingService, accounts: Accounts, now: datetime) -> list[str]:
    """Fill an empty database with the demo; returns the demo logins (empty if not empty)."""
    if await bookings.studios() or await accounts.count_users():
        return []
    for fields in PARTNER_STUDIOS:
        await bookings.add_studio(fields)
    # One hash for all demo users, made once per process: scrypt is slow on purpose (128 MiB,
    # most of a second), and the demo password is no secret.
    hashed = await asyncio.get_running_loop().run_in_executor(None, _demo_hash, scrypt_n())
    for name, role, studio in DEMO_USERS:
        await accounts.add_user(name, role, hashed, now, studio_id=studio)
    baku = ZoneInfo("Asia/Baku")
    tomorrow = (now.astimezone(baku) + timedelta(days=1)).date()
    start = datetime.combine(tomorrow, time(15, 0), baku).astimezone(UTC)
    result = await bookings.create(
        {
            "title": "Caspian energy week: joint news hour",
            "studios": ["trend", "dha", "qazcontent"],
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=1)).isoformat(),
            "notes": "Each studio opens with two minutes of its own headlines.",
        },
        actor="demo",
    )
    booking = result.created[0]
    await bookings.confirm(booking.id, "trend", "operator-trend")
    await bookings.confirm(booking.id, "dha", "operator-dha")
    return [
        f"{name} ({role}{', ' + studio if studio else ''})" for name, role, studio in DEMO_USERS
    ]
