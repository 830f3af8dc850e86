"""Translations of every UI string: gettext catalogs (.po) loaded at start, no build step."""

from __future__ import annotations

import io
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from schedules.accounts import LANGUAGES as ACCOUNT_LANGUAGES

LOCALES_DIR = Path(__file__).parent / "locales"
# The partners' working languages (schedules.accounts keeps a user's choice among them), each
# under the name its own speakers use: the language menu shows these.
LANGUAGES: dict[str, str] = {
    "en": "English",
    "az": "Azərbaycanca",
    "tr": "Türkçe",
    "kk": "Қазақша",
    "ky": "Кыргызча",
    "uz": "Oʻzbekcha",
    "ru": "Русский",
}
if tuple(LANGUAGES) != ACCOUNT_LANGUAGES:
    raise RuntimeError("web.pages.i18n.LANGUAGES must name exactly schedules.accounts.LANGUAGES")
# CLDR locale of each language's dates: English as written in Europe (day before month);
# Uzbek's default script in CLDR is Latin, the one the partners use.
FORMAT_LOCALES = {"en": "en_GB"}
DEFAULT_LANGUAGE = "en"


class Catalogs:
    """The shipped languages' translations, read from `locales/<lang>/LC_MESSAGES/*.po`."""

    def __init__(self, directory: Path = LOCALES_DIR) -> None:
        self._by_lang: dict[str, NullTranslations] = {DEFAULT_LANGUAGE: NullTranslations()}
        for lang in LANGUAGES:
            po = directory / lang / "LC_MESSAGES" / "messages.po"
            if po.exists():
                stat = po.stat()
                compiled = _compiled(po, lang, stat.st_mtime_ns, stat.st_size)
                self._by_lang[lang] = Translations(fp=io.BytesIO(compiled))

    def get(self, lang: str) -> NullTranslations:
        """The translations of `lang`, English when it is not shipped."""
        return self._by_lang.get(lang, self._by_lang[DEFAULT_LANGUAGE])


@lru_cache(maxsize=32)
def _compiled(po: Path, lang: str, mtime_ns: int, size: int) -> bytes:
    """The .po file compiled to .mo, once per version of the file in a process: parsing the
    catalogs is most of an app's start-up (and of every test's)."""
    del mtime_ns, size  # the cache's key: an edited file compiles again
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    return buf.getvalue()


def pick_language(*candidates: str | None, accept: str = "") -> str:
    """The first shipped language among the candidates, then Accept-Language, then English."""
    for c in candidates:
        if c in LANGUAGES:
            return c
    for part in accept.split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return DEFAULT_LANGUAGE


def _translations(ctx: Context) -> NullTranslations:
    t = ctx.get("translations")
    return t if isinstance(t, NullTranslations) else NullTranslations()


@pass_context
def gettext(ctx: Context, message: str, **variables: Any) -> str:
    """Template `_()`: translate, then fill %(name)s placeholders with escaped values."""
    text: str = _translations(ctx).gettext(message)
    if ctx.eval_ctx.autoescape:
        text = Markup(text)
    return text % variables if variables else text


@pass_context
def ngettext(ctx: Context, singular: str, plural: str, n: int, **variables: Any) -> str:
    """Template plural form; `num` is available as a placeholder."""
    text: str = _translations(ctx).ngettext(singular, plural, n)
    if ctx.eval_ctx.autoescape:
        text = Markup(text)
    return text % {"num": n, **variables}


def translate_fields(t: NullTranslations, fields: Mapping[str, str]) -> dict[str, str]:
    """Field errors in the reader's language where the catalog knows the message."""
    return {k: t.gettext(v) for k, v in fields.items()}
