"""Words that share a screen: "program" (the joint program) and "on air" are different words in
every partner's language (the console shows the Program tile under an ON AIR tally), the
program is called the same across the catalogue, and a studio's city is written the reader's
way (Bakı, Bakü, Баку, Boku), the same way the zone's name is (CLDR's exemplar cities).
"""

from __future__ import annotations

import re

import pytest
from babel.dates import get_timezone_location

from web.pages.i18n import Catalogs
from web.pages.templating import make_environment
from web.pages.wording.cities import CITY_NAMES, city_name, known_city

LANGS = ("az", "tr", "kk", "ky", "uz", "ru")
# The word each language calls the joint program by (any case, any ending).
PROGRAM_WORDS = {
    "az": "proqram",
    "tr": "program",
    "kk": "бағдарлама",
    "ky": "программа",
    "uz": "dastur",
    "ru": "программ",
}
ON_AIR = ("On air", "ON AIR", "on air")
# Cities that name a time zone: their names must agree with the zone labels beside them.
ZONE_CITIES = {
    "Baku": "Asia/Baku",
    "Istanbul": "Europe/Istanbul",
    "Almaty": "Asia/Almaty",
    "Bishkek": "Asia/Bishkek",
    "Tashkent": "Asia/Tashkent",
    "Samarkand": "Asia/Samarkand",
    "Rome": "Europe/Rome",
    "Moscow": "Europe/Moscow",
}


@pytest.fixture(scope="module")
def catalogs() -> Catalogs:
    return Catalogs()


@pytest.mark.parametrize("lang", LANGS)
def test_program_and_on_air_are_different_words(lang: str, catalogs: Catalogs) -> None:
    t = catalogs.get(lang)
    program = t.gettext("Program").casefold()
    assert program != "program" or lang == "tr", "not translated"
    for msgid in ON_AIR:
        on_air = t.gettext(msgid).casefold()
        assert on_air != msgid.casefold(), (lang, msgid, "not translated")
        assert program != on_air, (lang, msgid, on_air)
        assert PROGRAM_WORDS[lang] not in on_air and on_air not in program, (lang, on_air)
    assert PROGRAM_WORDS[lang] in program


@pytest.mark.parametrize("lang", ("az", "tr"))
def test_the_words_differ_exactly_as_the_issue_asks(lang: str, catalogs: Catalogs) -> None:
    t = catalogs.get(lang)
    assert (t.gettext("Program"), t.gettext("On air")) == {
        "az": ("Proqram", "Efirdə"),
        "tr": ("Program", "Yayında"),
    }[lang]


@pytest.mark.parametrize("lang", LANGS)
def test_the_program_is_called_one_way_across_the_catalogue(lang: str, catalogs: Catalogs) -> None:
    from babel.messages.pofile import read_po

    from web.pages.i18n import LOCALES_DIR

    with (LOCALES_DIR / lang / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    wrong = []
    for m in catalog:
        msgid = m.id if isinstance(m.id, str) else (m.id[0] if m.id else "")
        if not msgid or not re.search(r"\bprogram\b", msgid, re.I):
            continue
        strings = (m.string,) if isinstance(m.string, str) else (m.string or ())
        if not all(PROGRAM_WORDS[lang] in s.casefold() for s in strings if s):
            wrong.append(f"  {msgid!r} -> {strings!r}")
    assert not wrong, f"the program is called otherwise in {lang}:\n" + "\n".join(wrong)


@pytest.mark.parametrize("lang", LANGS)
def test_every_city_has_its_name_in_each_language(lang: str, catalogs: Catalogs) -> None:
    t = catalogs.get(lang)
    for city in CITY_NAMES:
        assert city_name(t, city).strip(), (lang, city)
    for city, zone in ZONE_CITIES.items():
        assert city_name(t, city) == get_timezone_location(zone, locale=lang, return_city=True)


def test_cities_are_shown_the_readers_way(catalogs: Catalogs) -> None:
    names = {lang: city_name(catalogs.get(lang), "Baku") for lang in ("en", *LANGS)}
    assert names == {
        "en": "Baku",
        "az": "Bakı",
        "tr": "Bakü",
        "kk": "Баку",
        "ky": "Баку",
        "uz": "Boku",
        "ru": "Баку",
    }
    assert city_name(catalogs.get("az"), "Rome") == "Roma"
    assert city_name(catalogs.get("ru"), " rome ") == "Рим"  # as an admin may have typed it
    # Typed in a partner's own spelling: known all the same.
    assert known_city("Bakı") == known_city("Баку") == "Baku"
    assert city_name(catalogs.get("en"), "Roma") == "Rome"
    # A city the catalogue does not know stays as it was typed.
    assert city_name(catalogs.get("az"), "Ulaanbaatar") == "Ulaanbaatar"


def test_the_city_filter_translates_in_templates(catalogs: Catalogs) -> None:
    page = make_environment().from_string(
        "{{ a|city }} · {{ b|city }} · {{ cs|map('city')|join(', ') }}"
    )
    text = page.render(
        translations=catalogs.get("tr"), lang="tr", a="Tashkent", b="Nowhere", cs=["Baku", "Rome"]
    )
    assert text == "Taşkent · Nowhere · Bakü, Roma"
