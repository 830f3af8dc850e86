"""The shipped catalogs are well formed: the headers and plural forms babel and gettext expect,
and each translation with the same placeholders as its message, nothing else after a %."""

from __future__ import annotations

import pytest
from babel.messages.catalog import Catalog
from message_catalog import LANGS, LOCALES, PLACEHOLDER, PLURAL_FORMS


@pytest.mark.parametrize("lang", LANGS)
def test_placeholders_match(lang: str, catalogs: dict[str, Catalog]) -> None:
    wrong = []
    for msg in catalogs[lang]:
        if not msg.id or not msg.string:
            continue
        ids = (msg.id,) if isinstance(msg.id, str) else msg.id
        strings = (msg.string,) if isinstance(msg.string, str) else msg.string
        wanted = set().union(*(PLACEHOLDER.findall(i) for i in ids))
        for s in strings:
            if set(PLACEHOLDER.findall(s)) != wanted:
                wrong.append(f"  {msg.id!r} -> {s!r}")
            # Only %(name)s placeholders: a lone % would break `text % variables`.
            if "%" in PLACEHOLDER.sub("", s).replace("%%", "") and wanted:
                wrong.append(f"  stray % in {s!r}")
    assert not wrong, f"placeholders differ in {lang}:\n" + "\n".join(wrong)


@pytest.mark.parametrize("lang", LANGS)
def test_po_files_are_well_formed(lang: str, catalogs: dict[str, Catalog]) -> None:
    catalog = catalogs[lang]
    assert str(catalog.locale) == lang
    headers = dict(catalog.mime_headers)
    assert headers["Language"] == lang
    assert headers["Content-Type"].lower() == "text/plain; charset=utf-8"
    assert '"Content-Type: text/plain; charset=UTF-8\\n"' in (
        LOCALES / lang / "LC_MESSAGES" / "messages.po"
    ).read_text(encoding="utf-8")
    assert headers["Plural-Forms"] == PLURAL_FORMS[lang]
    assert catalog.num_plurals == int(PLURAL_FORMS[lang].split(";")[0].split("=")[1])
    problems = [f"  {msg.id!r}: {errors}" for msg, errors in catalog.check()]
    assert not problems, "\n".join(problems)
