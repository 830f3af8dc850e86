"""Every UI message has a translation in each partner's language (Azerbaijani, Turkish, Kazakh,
Kyrgyz, Uzbek, Russian), and messages.pot holds every message; the messages are those
tests/i18n/message_catalog.py finds.

Run this file as a script to rewrite `web/pages/locales/messages.pot` and merge new messages into
the `.po` files (they arrive untranslated, so the tests below fail until they are translated):

    .venv/bin/python tests/i18n/test_translations.py
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po
from message_catalog import (
    LANGS,
    LOCALES,
    PLURAL_FORMS,
    POT,
    REQUIRED,
    ROOT,
    Messages,
    all_messages,
    python_messages,
    read_catalog,
    template_messages,
)

LANGUAGE_NAMES = {
    "az": "Azerbaijani",
    "tr": "Turkish",
    "kk": "Kazakh",
    "ky": "Kyrgyz",
    "uz": "Uzbek (Latin)",
    "ru": "Russian",
}


def _untranslated(catalog: Catalog, msgids: Messages) -> list[str]:
    missing = []
    for msgid in sorted(msgids):
        msg = catalog.get(msgid)
        strings = () if msg is None else msg.string
        strings = (strings,) if isinstance(strings, str) else strings
        if msg is None or msg.fuzzy or not strings or not all(s.strip() for s in strings):
            missing.append(msgid)
    return missing


@pytest.mark.parametrize("lang", LANGS)
def test_every_template_message_is_translated(lang: str, catalogs: dict[str, Catalog]) -> None:
    found = template_messages()
    assert len(found) > 50, "the jinja2 extractor found next to nothing; check web/pages/babel.cfg"
    missing = _untranslated(catalogs[lang], found)
    assert not missing, f"untranslated in {lang} (run this file as a script, then translate):\n" + (
        "\n".join(
            f"  {m!r}  ({found[m].locations[0][0]}:{found[m].locations[0][1]})" for m in missing
        )
    )


@pytest.mark.parametrize("lang", LANGS)
def test_every_python_message_is_translated(lang: str, catalogs: dict[str, Catalog]) -> None:
    found = python_messages()
    assert set(REQUIRED) <= set(found), set(REQUIRED) - set(found)
    missing = _untranslated(catalogs[lang], found)
    assert not missing, f"untranslated in {lang}:\n" + "\n".join(f"  {m!r}" for m in missing)


def test_template_has_every_message() -> None:
    with POT.open("rb") as fh:
        pot = read_po(fh)
    missing = sorted(
        set(all_messages()) - {m.id if isinstance(m.id, str) else m.id[0] for m in pot if m.id}
    )
    assert not missing, "messages.pot is out of date; run this file as a script:\n" + "\n".join(
        f"  {m!r}" for m in missing
    )


# Writing the template and merging it into the catalogs


def build_template() -> Catalog:
    """The .pot: every message with its locations and notes for translators."""
    pot = Catalog(
        project="Telebridge",
        version="0.1.0",
        copyright_holder="Telebridge",
        msgid_bugs_address="",
        charset="utf-8",
        fuzzy=False,
    )
    for msgid, found in sorted(all_messages().items(), key=lambda kv: kv[1].locations[0]):
        ident: str | tuple[str, str] = (msgid, found.plural) if found.plural else msgid
        pot.add(
            ident,
            locations=found.locations,  # line 0: the message has no one place
            auto_comments=found.notes,
        )
    return pot


def _write(path: Path, catalog: Catalog) -> None:
    catalog.charset = "UTF-8"  # babel reads it as "utf-8"; gettext tools write it upper case
    buf = io.BytesIO()
    write_po(buf, catalog, width=100, include_lineno=True)
    path.write_bytes(buf.getvalue())


def _new_po_header(lang: str) -> str:
    return (
        'msgid ""\nmsgstr ""\n'
        '"Project-Id-Version: Telebridge 0.1.0\\n"\n'
        f'"Language: {lang}\\n"\n'
        f'"Language-Team: {LANGUAGE_NAMES[lang]}\\n"\n'
        '"Last-Translator: Telebridge\\n"\n'
        '"Report-Msgid-Bugs-To: \\n"\n'
        '"MIME-Version: 1.0\\n"\n'
        '"Content-Type: text/plain; charset=UTF-8\\n"\n'
        '"Content-Transfer-Encoding: 8bit\\n"\n'
        f'"Plural-Forms: {PLURAL_FORMS[lang]}\\n"\n'
    )


def main() -> None:
    """Rewrite messages.pot; merge it into the .po files (new messages come untranslated)."""
    pot = build_template()
    _write(POT, pot)
    print(f"{POT.relative_to(ROOT)}: {len(pot)} messages")
    for lang in LANGS:
        path = LOCALES / lang / "LC_MESSAGES" / "messages.po"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(_new_po_header(lang), encoding="utf-8")
        catalog = read_catalog(lang)
        catalog.update(pot, no_fuzzy_matching=True)
        catalog.fuzzy = False
        _write(path, catalog)
        missing = [m.id for m in catalog if m.id and not m.string]
        print(f"{path.relative_to(ROOT)}: {len(missing)} untranslated")
        for m in missing:
            print(f"  {m!r}")


if __name__ == "__main__":
    main()
