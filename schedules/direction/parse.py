"""The checks of a cue or message body: every problem named by field, nothing half-valid kept.

Text is kept as written and always shown as text (pages escape it); what is refused is what
no one types on purpose and what would break a line on screen: control characters.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from schedules.direction.record import CueDraft, CueKind, MessageDraft
from schedules.errors import ValidationError

MAX_MESSAGE = 2000
MAX_CUE_TEXT = 200
CUE_FIELDS = frozenset({"studio", "cue", "text"})
MESSAGE_FIELDS = frozenset({"text", "to"})
# C0 and C1 controls and DEL; a message may hold line breaks and tabs.
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
CUE_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # a cue is one line


def _body(data: object, fields: frozenset[str]) -> tuple[Mapping[str, object], dict[str, str]]:
    if not isinstance(data, Mapping):
        raise ValidationError("The body must be a JSON object")
    return data, {str(k): "unknown field" for k in data if k not in fields}


def _text(
    value: object, limit: int, control: re.Pattern[str], *, required: bool
) -> tuple[str, str | None]:
    """(the text, stripped, or "") and what is wrong with it, if anything."""
    if value is None and not required:
        return "", None
    if not isinstance(value, str):
        return "", "must be text"
    text = value.strip()
    if not text:
        return "", "is required" if required else None
    if len(text) > limit:
        return "", f"must be at most {limit} characters"
    if control.search(text):
        return "", "must not contain control characters"
    return text, None


def parse_cue(data: object, studio_ids: tuple[str, ...]) -> CueDraft:
    """Validate a cue body (`studio`, `cue`, `text`) for a booking with `studio_ids`."""
    body, errors = _body(data, CUE_FIELDS)
    studio = body.get("studio")
    if not isinstance(studio, str) or not studio:
        errors["studio"] = "is required"
    elif studio not in studio_ids:
        errors["studio"] = "is not a studio of this booking"
    cue = body.get("cue")
    kind = CueKind(cue) if isinstance(cue, str) and cue in tuple(CueKind) else None
    if kind is None:
        errors["cue"] = "must be one of " + ", ".join(k.value for k in CueKind)
    text, problem = _text(
        body.get("text"), MAX_CUE_TEXT, CUE_CONTROL, required=kind is CueKind.FREE
    )
    if problem:
        errors["text"] = problem
    if errors or kind is None or not isinstance(studio, str):
        raise ValidationError(_summary(errors), errors)
    return CueDraft(studio, kind, text)


def parse_message(
    data: object, studio_ids: tuple[str, ...], *, from_studio: str | None
) -> MessageDraft:
    """Validate a message body (`text`, `to`). Production may write to one studio privately;
    an operator writes to everyone, or (`to` its own studio) privately to production."""
    body, errors = _body(data, MESSAGE_FIELDS)
    text, problem = _text(body.get("text"), MAX_MESSAGE, CONTROL, required=True)
    if problem:
        errors["text"] = problem
    to = body.get("to")
    if to is not None:
        if not isinstance(to, str) or to not in studio_ids:
            errors["to"] = "is not a studio of this booking"
        elif from_studio is not None and to != from_studio:
            errors["to"] = "an operator writes to everyone, or privately to production"
    if errors:
        raise ValidationError(_summary(errors), errors)
    return MessageDraft(text, to if isinstance(to, str) else None)


def _summary(errors: Mapping[str, str]) -> str:
    return "; ".join(f"{k}: {v}" for k, v in errors.items())
