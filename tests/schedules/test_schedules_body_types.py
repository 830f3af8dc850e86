"""Every field of a booking body given a JSON value of another type is a ValidationError naming
that field, never a TypeError (issue 12's fuzz found `"quality": []` answering 500: a list
cannot be looked up among the presets)."""

from __future__ import annotations

from typing import Any

import pytest

from schedules.errors import ValidationError
from schedules.fields import BODY_FIELDS
from schedules.validation import parse_draft

LAYOUTS = ("auto", "grid")
VALID = {
    "title": "Caspian energy week",
    "studios": ["trend", "dha"],
    "starts_at": "2030-01-15T10:00:00Z",
    "ends_at": "2030-01-15T11:00:00Z",
}
OTHER_TYPES: dict[str, Any] = {
    "list": ["auto"],
    "object": {"auto": True},
    "number": 1e309,  # infinity, as json.loads reads it
    "true": True,
    "huge integer": 2**80,
}
# Fields a value of another type may legitimately fill: none of them takes these.
TAKES: dict[str, set[str]] = {"record": {"true"}, "setup_minutes": set(), "notes": set()}


@pytest.mark.parametrize("field", sorted(BODY_FIELDS))
@pytest.mark.parametrize("kind", sorted(OTHER_TYPES))
def test_a_field_of_another_type_is_refused_by_name(field: str, kind: str) -> None:
    if kind in TAKES.get(field, set()):
        pytest.skip(f"{field} takes {kind}")
    body = {**VALID, field: OTHER_TYPES[kind]}
    with pytest.raises(ValidationError) as raised:
        parse_draft(body, LAYOUTS)
    assert field in raised.value.fields, raised.value.fields
