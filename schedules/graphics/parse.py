"""The checks of graphics bodies and of the logo: every problem named by field, nothing kept.

Text is kept as written and drawn as text (the program's cards have no markup; the pages escape
it); what is refused is what no one types on purpose and what would break the one line a card
has: control characters and line separators.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Callable, Mapping

from PIL import Image, UnidentifiedImageError

from schedules.accounts import LANGUAGES
from schedules.errors import ValidationError
from schedules.graphics.record import CORNERS, ClockSetting, GraphicsChange, Logo, LowerThird
from schedules.graphics.record import TextDraft as Draft
from schedules.timeutil import known_zone

MAX_NAME = 80
MAX_TITLE = 120
MAX_CLOCK_LABEL = 40
MAX_LOGO_BYTES = 1024 * 1024  # 1 MB
MAX_LOGO_SIZE = (1920, 1080)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHANGE_FIELDS = frozenset({"studio", "lower_third", "language", "visible", "clock", "logo"})
TEXT_FIELDS = frozenset({"name", "title"})
ENTRY_FIELDS = frozenset({"studio", "language", "name", "title"})
CLOCK_FIELDS = frozenset({"zone", "label"})
LOGO_FIELDS = frozenset({"visible", "corner"})
# C0 and C1 controls, DEL, and the Unicode line and paragraph separators: a card is one line.
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
LANGUAGE_ERROR = "must be one of " + ", ".join(LANGUAGES)
CORNER_ERROR = "must be one of " + ", ".join(CORNERS)

Errors = dict[str, str]


def _object(
    value: object, fields: frozenset[str], errors: Errors, prefix: str = ""
) -> Mapping[str, object]:
    """`value` as a JSON object (else an error under `prefix`); unknown keys are errors."""
    if not isinstance(value, Mapping):
        errors[prefix or "body"] = "must be a JSON object"
        return {}
    for key in value:
        if key not in fields:
            errors[f"{prefix}.{key}" if prefix else str(key)] = "unknown field"
    return value


def _under(errors: Errors, prefix: str) -> bool:
    """Whether `errors` names `prefix` or a field inside it."""
    return any(k == prefix or k.startswith(prefix + ".") for k in errors)


def _text(value: object, limit: int, *, required: bool) -> tuple[str, str | None]:
    """(the text, stripped) and what is wrong with it, if anything."""
    if value is None and not required:
        return "", None
    if not isinstance(value, str):
        return "", "must be text"
    text = value.strip()
    if not text and required:
        return "", "is required"
    if len(text) > limit:
        return "", f"must be at most {limit} characters"
    if CONTROL.search(text):
        return "", "must not contain control characters"
    return text, None


def _studio(value: object, studio_ids: tuple[str, ...], errors: Errors, key: str) -> str | None:
    if not isinstance(value, str) or not value:
        errors[key] = "is required"
        return None
    if value not in studio_ids:
        errors[key] = "is not a studio of this booking"
        return None
    return value


def _language(value: object, errors: Errors, key: str) -> str | None:
    if isinstance(value, str) and value in LANGUAGES:
        return value
    errors[key] = LANGUAGE_ERROR
    return None


def _draft(value: object, errors: Errors, prefix: str) -> Draft | None:
    if not isinstance(value, Mapping):
        errors[prefix] = "must be a JSON object"
        return None
    body = _object(value, TEXT_FIELDS, errors, prefix)
    name, problem = _text(body.get("name"), MAX_NAME, required=True)
    if problem:
        errors[f"{prefix}.name"] = problem
    title, problem = _text(body.get("title"), MAX_TITLE, required=False)
    if problem:
        errors[f"{prefix}.title"] = problem
    return Draft(name, title) if name and not _under(errors, prefix) else None


def _clock(value: object, errors: Errors, zone_ok: Callable[[str], bool]) -> ClockSetting | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        errors["clock"] = "must be a JSON object, or null to hide the clock"
        return None
    body = _object(value, CLOCK_FIELDS, errors, "clock")
    zone = body.get("zone")
    if not isinstance(zone, str) or not zone_ok(zone):
        errors["clock.zone"] = "must be an IANA time zone, such as Asia/Baku"
    label, problem = _text(body.get("label"), MAX_CLOCK_LABEL, required=False)
    if problem:
        errors["clock.label"] = problem
    if _under(errors, "clock") or not isinstance(zone, str):
        return None
    return ClockSetting(zone, label)


def parse_change(
    data: object, studio_ids: tuple[str, ...], zone_ok: Callable[[str], bool] = known_zone
) -> GraphicsChange:
    """Validate a change of a booking's graphics (`studio`, `lower_third`, `language`,
    `visible`, `clock`, `logo`) for a booking with `studio_ids`."""
    errors: Errors = {}
    body = _object(data, CHANGE_FIELDS, errors)
    if not (body.keys() & CHANGE_FIELDS) and "body" not in errors:
        errors["body"] = "give a lower third, a language, the clock or the logo"
    studio = _studio(body["studio"], studio_ids, errors, "studio") if "studio" in body else None
    visible = body.get("visible")
    if "visible" in body and not isinstance(visible, bool):
        errors["visible"] = "must be true or false"
    if "studio" in body and "visible" not in body:
        errors["visible"] = "is required with a studio: true shows its lower third, false hides it"
    text = None
    if "lower_third" in body:
        if "studio" not in body:
            errors["studio"] = "is required with a lower third"
        text = _draft(body["lower_third"], errors, "lower_third")
    language = _language(body["language"], errors, "language") if "language" in body else None
    clock = _clock(body.get("clock"), errors, zone_ok)
    logo_visible, corner = None, None
    if "logo" in body:
        logo = _object(body["logo"], LOGO_FIELDS, errors, "logo")
        if not logo.keys() & LOGO_FIELDS and "logo" not in errors:
            errors["logo"] = "give visible, corner or both"
        if "visible" in logo:
            if isinstance(logo["visible"], bool):
                logo_visible = logo["visible"]
            else:
                errors["logo.visible"] = "must be true or false"
        if "corner" in logo:
            if isinstance(logo["corner"], str) and logo["corner"] in CORNERS:
                corner = logo["corner"]
            else:
                errors["logo.corner"] = CORNER_ERROR
    if errors:
        raise ValidationError(_summary("The graphics change", errors), errors)
    return GraphicsChange(
        studio_id=studio,
        visible=visible if isinstance(visible, bool) else None,
        text=text,
        language=language,
        clock_given="clock" in body,
        clock=clock,
        logo_visible=logo_visible,
        logo_corner=corner,
    )


def parse_texts(data: object, studio_ids: tuple[str, ...]) -> tuple[LowerThird, ...]:
    """Validate every lower-third text of a booking (`{"texts": [{"studio", "language",
    "name", "title"?}, ...]}`): one per studio and language at most."""
    errors: Errors = {}
    body = _object(data, frozenset({"texts"}), errors)
    entries = body.get("texts")
    if not isinstance(entries, list):
        errors["texts"] = "must be a list of lower thirds"
        raise ValidationError(_summary("The lower thirds", errors), errors)
    if len(entries) > len(studio_ids) * len(LANGUAGES):
        errors["texts"] = "holds more than one text per studio and language"
    out: list[LowerThird] = []
    seen: set[tuple[str, str]] = set()
    for i, entry in enumerate(entries):
        at = f"texts[{i}]"
        if not isinstance(entry, Mapping):
            errors[at] = "must be a JSON object"
            continue
        item = _object(entry, ENTRY_FIELDS, errors, at)
        studio = _studio(item.get("studio"), studio_ids, errors, f"{at}.studio")
        language = _language(item.get("language"), errors, f"{at}.language")
        draft = _draft({k: v for k, v in item.items() if k in TEXT_FIELDS}, errors, at)
        if studio is None or language is None or draft is None:
            continue
        if (studio, language) in seen:
            errors[at] = "a second text for the same studio and language"
            continue
        seen.add((studio, language))
        out.append(LowerThird(studio, language, draft.name, draft.title))
    if errors:
        raise ValidationError(_summary("The lower thirds", errors), errors)
    return tuple(out)


def check_logo(png: bytes) -> Logo:
    """The logo if `png` is a PNG picture of at most 1 MB and 1920 x 1080 (any transparency);
    ValidationError naming what is wrong otherwise. The size is read from the header before
    any pixel is decoded, so an oversized picture costs nothing to refuse."""
    if len(png) > MAX_LOGO_BYTES:
        raise ValidationError("The logo is too large", {"logo": "must be at most 1 MB"})
    not_png = ValidationError("The logo is not a PNG picture", {"logo": "must be a PNG picture"})
    if not png.startswith(PNG_SIGNATURE):
        raise not_png
    try:
        with Image.open(io.BytesIO(png), formats=["PNG"]) as picture:
            width, height = picture.size
            if width > MAX_LOGO_SIZE[0] or height > MAX_LOGO_SIZE[1]:
                raise ValidationError(
                    "The logo is too large",
                    {"logo": "must be at most 1920 x 1080 pixels"},
                )
            picture.load()  # every pixel decodes: a truncated or corrupt file is refused here
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        raise not_png from None
    return Logo(png, width, height, hashlib.sha256(png).hexdigest())


def _summary(what: str, errors: Mapping[str, str]) -> str:
    return f"{what} has problems in: " + ", ".join(errors)
