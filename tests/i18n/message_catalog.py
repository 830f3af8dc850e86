"""Every UI message, found the same way each time, and the shipped catalogs that translate it
into each partner's language (Azerbaijani, Turkish, Kazakh, Kyrgyz, Uzbek, Russian).

The messages are extracted:

* from the page templates with babel's jinja2 extractor, configured by `web/pages/babel.cfg`
  (keywords `_`, `gettext`, `ngettext`);
* from the Python code, the fixed strings the pages pass through gettext: the status, answer,
  role, layout and audit-log words, the login errors and notices of `web/pages*.py`, the field
  errors of the validators and the `ApiError` messages a person can see on an error page.
"""

from __future__ import annotations

import ast
import importlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from bridge.program.layout import LAYOUTS
from schedules.model import (
    MAX_STUDIOS,
    MIN_STUDIOS,
    BookingStatus,
    PartnerAnswer,
    Role,
)
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
# What the template filters of web/pages/templating.py translate themselves.
FILTER_MESSAGES = (
    "%(hours)s h %(minutes)s min",
    "%(hours)s h",
    "%(minutes)s min",
    "%(seconds)s s",
)
# Messages of web/errors.py and the aiohttp reasons that the HTML error page translates.
ERROR_PAGE_MESSAGES = (
    "The request body is too large",
    "Something went wrong on the server; nothing was saved",
    "Not Found",
    "Method Not Allowed",
    # web/live/roster.py: a declined studio's refusal, its reason after a colon.
    "This studio declined this telebridge",
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
