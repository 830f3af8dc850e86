"""Each catalog is in its own language: written in its alphabet (not a neighbour's), and not
another partner's catalog by mistake."""

from __future__ import annotations

import re

import pytest
from babel.messages.catalog import Catalog
from message_catalog import LANGS

from web.pages.i18n import Catalogs

# Letters that each language's text must use, and letters that would show a slip into a
# neighbour's alphabet: Kazakh and Kyrgyz share Cyrillic but not all of their letters, and Uzbek
# is written in Latin with the modifier letter ʻ (U+02BB) in oʻ and gʻ, not an ASCII quote.
SCRIPTS = {
    "kk": (set("әғқңөұүі"), set()),
    "ky": (set("ңөү"), set("әғқұһі")),
    "uz": ({"\u02bb"}, set("абвгдеёжзийклмнопрстуфхцчшщъыьэюя")),
    "ru": (set("ыэюя"), set("әғқңөұүһі")),
}


@pytest.mark.parametrize("lang", sorted(SCRIPTS))
def test_each_catalog_is_written_in_its_own_alphabet(
    lang: str, catalogs: dict[str, Catalog]
) -> None:
    must, must_not = SCRIPTS[lang]
    text = " ".join(
        s
        for m in catalogs[lang]
        if m.id
        for s in ((m.string,) if isinstance(m.string, str) else m.string)
    ).lower()
    assert must <= set(text), must - set(text)
    assert not must_not & set(text), must_not & set(text)
    if lang == "uz":  # oʻ and gʻ written with ASCII quotes or the wrong apostrophe
        assert not re.search(r"[og]['‘’`]", text), re.findall(r"\w*[og]['‘’`]\w*", text)[:5]


def test_catalogs_use_each_language_for_the_same_words() -> None:
    shipped = Catalogs()
    bookings = {lang: shipped.get(lang).gettext("Bookings") for lang in LANGS}
    assert bookings == {
        "az": "Sifarişlər",
        "tr": "Rezervasyonlar",
        "kk": "Брондаулар",
        "ky": "Брондоолор",
        "uz": "Buyurtmalar",
        "ru": "Бронирования",
    }
