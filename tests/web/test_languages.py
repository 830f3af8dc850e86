"""The partners' working languages: each is offered, picked from the browser for someone who has
not chosen, kept once chosen, and writes dates its own way (the catalogues' completeness:
tests/i18n/test_translations.py)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from aiohttp import web
from webtools import Client, login, session_csrf

from schedules.accounts import LANGUAGES
from schedules.errors import ValidationError
from schedules.timeutil import utc_now
from web.access.security import hash_password
from web.pages import i18n
from web.pages.templating import make_environment
from web.services import ACCOUNTS


@pytest.fixture
def backend() -> str:
    """The database plays no part here (storage is tested on both in tests/schedules)."""
    return "sqlite"


HTML_LANG = re.compile(r'<html lang="([a-z]+)"')
PASSWORD = "a new producer's password"


async def lang_of(client: Client, path: str, browser: str) -> tuple[str, str]:
    resp = await client.get(path, headers={"Accept-Language": browser})
    page = await resp.text()
    assert resp.status == 200, page
    match = HTML_LANG.search(page)
    assert match, "no <html lang>"
    return match.group(1), page


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_a_browser_in_each_language_gets_its_pages_and_every_language_is_offered(
    client: Client, lang: str
) -> None:
    """A first visit follows the browser's first language we ship (with its region, as browsers
    send it), and the menu names every language the way its own speakers write it."""
    seen, page = await lang_of(client, "/login", f"{lang}-XX,de;q=0.8,en;q=0.5")
    assert seen == lang
    for code, name in i18n.LANGUAGES.items():
        assert f'<option value="{code}"' in page and f">{name}</option>" in page, (code, name)
    if lang != "en":  # the page is translated, not only labelled
        catalog = i18n.Catalogs().get(lang)
        assert catalog.gettext("Log in") != "Log in"
        assert catalog.gettext("Log in") in page


async def test_a_new_user_follows_the_browser_until_choosing(
    app: web.Application, client: Client
) -> None:
    await app[ACCOUNTS].add_user("newcomer", "producer", hash_password(PASSWORD), utc_now())
    client.session.headers["Accept-Language"] = "ru-RU,ru;q=0.9"
    await login(client, "newcomer", PASSWORD)
    assert (await lang_of(client, "/bookings", "ru-RU,ru;q=0.9"))[0] == "ru"
    assert (await lang_of(client, "/bookings", "kk-KZ"))[0] == "kk"  # another browser of theirs
    csrf = await session_csrf(client)
    chosen = await client.post(
        "/language", data={"csrf_token": csrf, "language": "uz"}, allow_redirects=False
    )
    assert chosen.status == 303
    client.session.cookie_jar.clear()  # a new browser: no cookie, but the choice is the user's
    await login(client, "newcomer", PASSWORD)
    assert (await lang_of(client, "/bookings", "ru-RU,ru;q=0.9"))[0] == "uz"
    user = await app[ACCOUNTS].user_by_name("newcomer")
    assert user is not None and user.language == "uz"


async def test_an_unknown_language_is_refused_when_a_user_is_added(app: web.Application) -> None:
    with pytest.raises(ValidationError) as refused:
        await app[ACCOUNTS].add_user("x", "viewer", "hash", utc_now(), language="de")
    assert refused.value.fields == {"language": "must be one of en, az, tr, kk, ky, uz, ru"}


MOMENT = datetime(2026, 12, 2, 10, 5, tzinfo=UTC)  # a Wednesday; 14:05 in Baku


@pytest.mark.parametrize(
    ("lang", "when", "day"),
    [
        ("en", "Wed, 2 Dec 2026, 14:05", "Wed 2 Dec"),
        ("az", "Ç., 2 dek 2026 14:05", "Ç., 2 dek"),
        ("tr", "2 Ara 2026 Çar 14:05", "2 Ara Çar"),
        ("kk", "2026\u202fж. 2 жел., ср, 14:05", "2 жел., ср"),  # a narrow no-break space
        ("ky", "2026-ж. 2-дек., шарш. 14:05", "2-дек., шарш."),
        ("uz", "Chor, 2-dek, 2026, 14:05", "Chor, 2-dek"),
        ("ru", "ср, 2 дек. 2026\u202fг., 14:05", "ср, 2 дек."),
    ],
)
def test_dates_are_written_as_each_language_writes_them(lang: str, when: str, day: str) -> None:
    """Order, abbreviations and separators from CLDR; the time in 24 hours everywhere."""
    page = make_environment().from_string("{{ m|when('Asia/Baku') }} | {{ m|day('Asia/Baku') }}")
    assert page.render(lang=lang, m=MOMENT) == f"{when} | {day}"
