"""Every UI message has a translation in each partner's language (Azerbaijani, Turkish, Kazakh,
Kyrgyz, Uzbek, Russian) with the same placeholders.

The messages are extracted here, the same way each time:

* from the page templates with babel's jinja2 extractor, configured by `web/pages/babel.cfg`
  (keywords `_`, `gettext`, `ngettext`);
* from the Python code, the fixed strings the pages pass through gettext: the status, answer,
  role, layout and audit-log words, the login errors and notices of `web/pages*.py`, the field
  errors of the validators and the `ApiError` messages a person can see on an error page.

Run this file as a script to rewrite `web/pages/locales/messages.pot` and merge new messages into
the `.po` files (they arrive untranslated, so the tests below fail until they are translated):

    .venv/bin/python tests/i18n/test_translations.py
"""

from __future__ import annotations

import ast
import importlib
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po, write_po

from bridge.program.layout import LAYOUTS
from schedules.model import (
    MAX_STUDIOS,
    MIN_STUDIOS,
    BookingStatus,
    PartnerAnswer,
    Role,
)
from web.pages.i18n import Catalogs
from web.pages.templating import make_environment
from web.pages.watch import EMBED_MESSAGES
from web.pages.wording.audit_text import AUDIT_MESSAGES
from web.pages.wording.cities import CITY_NAMES

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web" / "pages"
LOCALES = WEB / "locales"
BABEL_CFG = WEB / "babel.cfg"
POT = LOCALES / "messages.pot"
LANGS = ("az", "tr", "kk", "ky", "uz", "ru")
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2)}
LANGUAGE_NAMES = {
    "az": "Azerbaijani",
    "tr": "Turkish",
    "kk": "Kazakh",
    "ky": "Kyrgyz",
    "uz": "Uzbek (Latin)",
    "ru": "Russian",
}
TWO_FORMS = "nplurals=2; plural=(n != 1);"
PLURAL_FORMS = {
    "az": TWO_FORMS,
    "tr": TWO_FORMS,
    "kk": TWO_FORMS,
    "ky": TWO_FORMS,
    "uz": TWO_FORMS,
    # one (1, 21, 31 …), few (2-4, 22-24 …), many (5-20, 25-30 …): CLDR's Russian rule.
    "ru": "nplurals=3; plural=(n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 && "
    "(n%100<10 || n%100>=20) ? 1 : 2);",
}
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")

# The audit log's sentences (the actor, studio or output as placeholders) and its details' words.
AUDIT_ACTIONS = AUDIT_MESSAGES
# Files whose constant field errors (`errors[name] = "..."`, `problem = "..."`,
# `ValidationError(..., {"field": "..."})`) reach the booking form through gettext.
FIELD_ERROR_SOURCES = ("schedules/validation.py", "schedules/service.py", "web/pages/forms.py")
# Files whose constant `ApiError(status, code, "message")` can end up on an HTML error page.
PAGE_MODULES = (
    "web/http/recordings.py",
    "web/pages/archive.py",
    "web/pages/site.py",
    "web/pages/bookings.py",
    "web/pages/calendar.py",
    "web/pages/join.py",
    "web/pages/watch.py",
)
# ... and the refusals pages share with other modules (a removed studio's join link).
PAGE_ERROR_SOURCES = (*PAGE_MODULES, "web/access/auth.py", "web/live/roster.py")
# Messages of web/errors.py and the aiohttp reasons that the HTML error page translates.
# What the template filters of web/pages/templating.py translate themselves.
FILTER_MESSAGES = (
    "%(hours)s h %(minutes)s min",
    "%(hours)s h",
    "%(minutes)s min",
    "%(seconds)s s",
)
ERROR_PAGE_MESSAGES = (
    "The request body is too large",
    "Something went wrong on the server; nothing was saved",
    "Not Found",
    "Method Not Allowed",
)
# Must always be found by the scans above; guards the scans themselves.
REQUIRED = (
    "is required",
    "must be text",
    "must be after the start",
    "is in the past",
    "must be true or false",
    "must be a whole number of minutes",
    "unknown field",
    "each studio may appear only once",
    "must be a list of studio ids",
    f"a telebridge joins {MIN_STUDIOS} to {MAX_STUDIOS} studios",  # an f-string in the source
    "Wrong name or password",
    "Too many failed logins; try again in %(seconds)s seconds",
    "Only producers and admins book telebridges",
    "This join link is not valid",
    "The form has expired or did not come from this site; reload the page and try again",
    "Log in or send an API token to do this",
)


@dataclass
class Found:
    """One message: its plural (ngettext), where it occurs, and a note for translators."""

    plural: str | None = None
    locations: list[tuple[str, int]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


Messages = dict[str, Found]


def _add(
    out: Messages, msgid: str, where: tuple[str, int], note: str = "", plural: str | None = None
) -> None:
    found = out.setdefault(msgid, Found())
    found.plural = found.plural or plural
    if where not in found.locations:
        found.locations.append(where)
    if note and note not in found.notes:
        found.notes.append(note)


def template_messages() -> Messages:
    """The msgids of the page templates, by babel's jinja2 extractor per `web/pages/babel.cfg`."""
    with BABEL_CFG.open() as fh:
        method_map, options_map = parse_mapping_cfg(fh, str(BABEL_CFG))  # type: ignore[no-untyped-call]
    out: Messages = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        WEB, method_map, options_map, keywords=KEYWORDS
    ):
        singular, plural = (message, None) if isinstance(message, str) else message[:2]
        if singular:  # `_(status)` and other dynamic calls give no msgid
            _add(out, singular, (f"web/{filename}", lineno), plural=plural)
    return out


def _str(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _parse(relpath: str) -> ast.Module:
    return ast.parse((ROOT / relpath).read_text(encoding="utf-8"), relpath)


def _constant_text(node: ast.expr, namespace: dict[str, object]) -> str | None:
    """A string literal, or an f-string or expression built only from the module's constants
    (`f"must be at most {MAX_TITLE} characters"`): what the user will see, word for word."""
    if (text := _str(node)) is not None:
        return text
    if not isinstance(node, ast.JoinedStr | ast.BinOp):
        return None
    names = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
    if not names <= namespace.keys():
        return None  # depends on a local value, e.g. the offending input
    code = compile(ast.Expression(node), "<message>", "eval")
    value = eval(code, {"__builtins__": {}}, {n: namespace[n] for n in names})
    return value if isinstance(value, str) else None


def _field_errors(relpath: str) -> Iterator[tuple[str, int]]:
    namespace = vars(importlib.import_module(relpath.removesuffix(".py").replace("/", ".")))
    for node in ast.walk(_parse(relpath)):
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            is_error = (
                isinstance(target, ast.Subscript)
                and isinstance(target.value, ast.Name)
                and target.value.id == "errors"
            ) or (isinstance(target, ast.Name) and target.id == "problem")
            if is_error and (text := _constant_text(node.value, namespace)):
                yield text, node.lineno
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "ValidationError"
        ):
            for arg in node.args[1:]:
                if isinstance(arg, ast.Dict):
                    for value in arg.values:
                        if value is not None and (text := _constant_text(value, namespace)):
                            yield text, node.lineno


def _page_errors(relpath: str) -> Iterator[tuple[str, int]]:
    for node in ast.walk(_parse(relpath)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "ApiError"
            and len(node.args) >= 3
            and (text := _str(node.args[2]))
        ):
            yield text, node.lineno


def _message_tuples(relpath: str) -> Iterator[tuple[str, int]]:
    """`("Text with %(name)s", {...})`: the login errors and the notices of the pages."""
    for node in ast.walk(_parse(relpath)):
        if (
            isinstance(node, ast.Tuple)
            and len(node.elts) == 2
            and isinstance(node.elts[1], ast.Dict)
            and (text := _str(node.elts[0]))
        ):
            yield text, node.lineno


def python_messages() -> Messages:
    """The fixed strings the Python code hands to the pages' gettext."""
    out: Messages = {}
    model = ("schedules/model.py", 0)
    for s in BookingStatus:
        _add(out, s.value, model, "status of a booking (a label on a pill)")
    for a in PartnerAnswer:
        _add(out, a.value, model, "a partner studio's answer to a booking")
    for r in Role:
        _add(out, r.value, model, "role of a login, shown next to the user's name")
    for layout in LAYOUTS:
        _add(out, layout, ("bridge/program/layout.py", 0), "program layout of the mixed picture")
    # The layouts reach the booking's checks as an argument (the live side declares them).
    _add(
        out,
        "must be one of " + ", ".join(LAYOUTS),
        ("schedules/validation.py", 0),
        "error shown under a form field",
    )
    for action in AUDIT_ACTIONS:
        _add(out, action, ("web/pages/wording/audit_text.py", 0), "a line of a booking's audit log")
    for city in CITY_NAMES:
        _add(out, city, ("web/pages/wording/cities.py", 0), "a city's name (where a studio is)")
    for relpath in FIELD_ERROR_SOURCES:
        for text, line in _field_errors(relpath):
            _add(out, text, (relpath, line), "error shown under a form field")
    for module in PAGE_MODULES:
        for text, line in _message_tuples(module):
            _add(out, text, (module, line), "message on the login or booking page")
    for relpath in PAGE_ERROR_SOURCES:
        for text, line in _page_errors(relpath):
            _add(out, text, (relpath, line), "message on the error page")
    for text in FILTER_MESSAGES:
        _add(out, text, ("web/pages/templating.py", 0), "a length of time: 1 h 30 min")
    for text in ERROR_PAGE_MESSAGES:
        _add(out, text, ("web/errors.py", 0), "message on the error page")
    for text in EMBED_MESSAGES:
        _add(out, text, ("web/pages/watch.py", 0), "message of the player in a partner's page")
    return out


def all_messages() -> Messages:
    """Template and Python messages together (a msgid found in both keeps every location)."""
    out = template_messages()
    for msgid, found in python_messages().items():
        for where in found.locations:
            _add(out, msgid, where, plural=found.plural)
        for note in found.notes:
            _add(out, msgid, found.locations[0], note)
    return out


def read_catalog(lang: str) -> Catalog:
    """A shipped catalog, refusing any syntax babel would otherwise skip over."""
    with (LOCALES / lang / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return read_po(fh, locale=lang, abort_invalid=True)


def _untranslated(catalog: Catalog, msgids: Messages) -> list[str]:
    missing = []
    for msgid in sorted(msgids):
        msg = catalog.get(msgid)
        strings = () if msg is None else msg.string
        strings = (strings,) if isinstance(strings, str) else strings
        if msg is None or msg.fuzzy or not strings or not all(s.strip() for s in strings):
            missing.append(msgid)
    return missing


@pytest.fixture(scope="module")
def catalogs() -> dict[str, Catalog]:
    return {lang: read_catalog(lang) for lang in LANGS}


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


def test_catalogs_translate_through_the_app() -> None:
    shipped = Catalogs()
    assert shipped.get("az").gettext("Bookings") == "Sifarişlər"
    assert shipped.get("tr").gettext("Bookings") == "Rezervasyonlar"
    assert shipped.get("az").gettext("is in the past") == "keçmişdədir"
    assert shipped.get("tr").gettext("confirmed") == "onaylandı"
    assert shipped.get("en").gettext("Bookings") == "Bookings"
    assert shipped.get("xx").gettext("Bookings") == "Bookings"


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


def test_templates_render_translated() -> None:
    """`_()` in a template, as the pages call it, gives the translation with values filled in."""
    page = make_environment().from_string(
        "{{ _('Bookings') }} | {{ _(status) }} | "
        "{{ _('Too many failed logins; try again in %(seconds)s seconds', seconds=30) }}"
    )
    shipped = Catalogs()
    assert page.render(translations=shipped.get("az"), status="live") == (
        "Sifarişlər | efirdə | "
        "Həddindən çox uğursuz giriş cəhdi; 30 saniyədən sonra yenidən cəhd edin"
    )
    assert page.render(translations=shipped.get("tr"), status="live").startswith(
        "Rezervasyonlar | yayında | "
    )


def test_placeholders_fill_in() -> None:
    """Every translated message with placeholders fills in like the pages fill it in."""
    for lang in LANGS:
        t = Catalogs().get(lang)
        for msgid in all_messages():
            names = PLACEHOLDER.findall(msgid)
            if names:
                text = t.gettext(msgid) % {n: "7" for n in names}
                assert "%(" not in text and "7" in text, (lang, msgid, text)


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
