"""Structured logs: one JSON object per line with the event's booking and studio as fields."""

from __future__ import annotations

import json
import logging

from web.logs import JsonFormatter


def _line(logger: str, msg: str, *args: object, **extra: object) -> dict[str, object]:
    record = logging.getLogger(logger).makeRecord(
        logger, logging.INFO, __file__, 1, msg, args, None, extra=extra
    )
    line = JsonFormatter().format(record)
    assert "\n" not in line
    return dict(json.loads(line))


def test_an_event_becomes_one_json_object_with_its_ids_as_fields() -> None:
    entry = _line(
        "telebridge.bridge.room", "%s booking=%s studio=%s", "studio_joined", "bk42", "trend"
    )
    assert entry["message"] == "studio_joined booking=bk42 studio=trend"
    assert (entry["booking"], entry["studio"], entry["level"]) == ("bk42", "trend", "info")
    assert str(entry["at"]).endswith("Z")


def test_extra_fields_are_kept_and_errors_carry_their_traceback() -> None:
    assert _line("telebridge.web", "alert raised", kind="feed_lost")["kind"] == "feed_lost"
    try:
        raise ValueError("broken")
    except ValueError:
        import sys

        record = logging.getLogger("x").makeRecord(
            "x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info()
        )
    entry = json.loads(JsonFormatter().format(record))
    assert "ValueError: broken" in entry["error"] and entry["level"] == "error"
