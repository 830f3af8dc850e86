"""Numbers as each partner's language writes them (Babel's CLDR data): a comma before the
decimals in Azerbaijani, Turkish and Russian, a point in English; sizes, bit rates, levels and
a recording's length through the template filters the pages use."""

from __future__ import annotations

import pytest

from web.pages.i18n import Catalogs
from web.pages.templating import make_environment
from web.pages.wording.numbers import (
    format_bitrate,
    format_decibels,
    format_hms,
    format_number,
    format_size,
)

NBSP = "\u00a0"


@pytest.mark.parametrize(
    ("lang", "size", "number"),
    [
        ("en", "1.2 GB", "12,345.7"),
        ("az", "1,2 GB", "12.345,7"),
        ("tr", "1,2 GB", "12.345,7"),
        ("ru", "1,2 ГБ", f"12{NBSP}345,7"),
        ("kk", "1,2 ГБ", f"12{NBSP}345,7"),
        ("uz", "1,2 GB", f"12{NBSP}345,7"),
    ],
)
def test_sizes_and_numbers_in_each_language(lang: str, size: str, number: str) -> None:
    assert format_size(1_234_567_890, lang).replace(NBSP, " ") == size
    assert format_number(12345.67, lang, 1) == number


def test_units_and_signs() -> None:
    assert format_size(512_300_000, "en") == "512.3 MB"
    assert format_size(900, "az").startswith("900")
    assert format_bitrate(850, "en") == "850 kb/s"
    assert format_bitrate(2100, "en") == "2.1 Mb/s"
    assert format_bitrate(2100, "az").startswith("2,1")
    assert format_decibels(-3.5, "az") == "−3,5 dB"
    assert format_decibels(2.5, "en") == "+2.5 dB"
    assert format_decibels(0.04, "tr") == "0,0 dB"
    assert format_hms(3723.4) == "1:02:03"
    assert format_hms(45) == "0:00:45"


def test_the_templates_format_numbers_in_the_page_language() -> None:
    page = make_environment().from_string(
        "{{ size|filesize }} | {{ rate|bitrate }} | {{ gain|decibels }} | {{ n|number(1) }} | "
        "{{ secs|hms }}"
    )
    values = {"size": 1_234_567_890, "rate": 2100, "gain": -6, "n": 0.5, "secs": 61}
    shipped = Catalogs()
    az = page.render(translations=shipped.get("az"), lang="az", **values)
    assert az.replace(NBSP, " ") == "1,2 GB | 2,1 Mb/san | −6,0 dB | 0,5 | 0:01:01"
    en = page.render(translations=shipped.get("en"), lang="en", **values)
    assert en == "1.2 GB | 2.1 Mb/s | −6.0 dB | 0.5 | 0:01:01"
