"""A studio's city in the reader's language: Bakı, Bakü, Баку, Boku for the stored "Baku".

A studio's city is free text in the database (an admin types it). The cities the partners work
in have their names in the catalogues (msgids below, in English); any other city is shown as it
was typed. A city typed in a partner's own spelling ("Bakı", "Roma") is known as well.
"""

from __future__ import annotations

import jinja2
from babel.support import NullTranslations

# The msgids: the partners' cities and a few more that bookings name. Keep in step with the
# catalogues (tests/i18n/test_words_on_screen.py checks each has a translation everywhere).
CITY_NAMES: tuple[str, ...] = (
    "Baku",
    "Ganja",
    "Istanbul",
    "Ankara",
    "Izmir",
    "Astana",
    "Almaty",
    "Bishkek",
    "Osh",
    "Tashkent",
    "Samarkand",
    "Rome",
    "Moscow",
    "Beijing",
)
# Other spellings an admin may have typed, to the msgid they mean.
ALIASES: dict[str, str] = {
    "bakı": "Baku",
    "bakü": "Baku",
    "баку": "Baku",
    "boku": "Baku",
    "gəncə": "Ganja",
    "i̇stanbul": "Istanbul",  # "İstanbul".lower()
    "стамбул": "Istanbul",
    "i̇zmir": "Izmir",
    "nur-sultan": "Astana",
    "астана": "Astana",
    "алматы": "Almaty",
    "almatı": "Almaty",
    "almati": "Almaty",
    "бишкек": "Bishkek",
    "ташкент": "Tashkent",
    "toshkent": "Tashkent",
    "daşkənd": "Tashkent",
    "roma": "Rome",
    "рим": "Rome",
    "москва": "Moscow",
    "moskva": "Moscow",
    "peking": "Beijing",
    "pekin": "Beijing",
}
_BY_KEY = {name.lower(): name for name in CITY_NAMES} | ALIASES


def known_city(stored: str) -> str | None:
    """The msgid of a stored city (any case, spaces around), None for a city not known."""
    return _BY_KEY.get(stored.strip().lower())


def city_name(translations: NullTranslations | None, stored: str) -> str:
    """`stored` in the reader's language when the catalogue knows the city, else as stored."""
    msgid = known_city(stored)
    if msgid is None or translations is None:
        return stored
    return str(translations.gettext(msgid))


@jinja2.pass_context
def city_filter(ctx: jinja2.runtime.Context, stored: str | None) -> str:
    """Template `city`: {{ s.city|city }}."""
    if not stored:
        return ""
    t = ctx.get("translations")
    return city_name(t if isinstance(t, NullTranslations) else None, stored)


@jinja2.pass_context
def city_names_filter(ctx: jinja2.runtime.Context, stored: list[str]) -> dict[str, str]:
    """Template `city_names`: each stored city's name for the reader, for a script that shows
    the cities of a JSON document (the watch page's status)."""
    return {c: city_filter(ctx, c) for c in stored}


def install(env: jinja2.Environment) -> None:
    """Give the page templates the `city` and `city_names` filters."""
    env.filters["city"] = city_filter
    env.filters["city_names"] = city_names_filter
