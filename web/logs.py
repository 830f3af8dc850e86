"""Log lines: one event per line, as text for people or JSON for a log collector.

The app's events already read `what booking=... studio=...`; the JSON form keeps the message
and lifts every `key=value` of it (and anything passed as `extra`) into fields, so a collector
can filter by booking and studio without parsing text.

Logs travel further than the app (collectors, tickets, screenshots), so no secret may reach
them: both forms pass every line and every field through `redact`. The access log is the main
carrier: its request line holds join, calendar and viewing links with their `?token=`, and its
Referer holds the join link of the console page that loaded a script.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TextIO

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
REDACTED = "[redacted]"
# Longest run without whitespace (a path, query or header value) a line keeps whole: a client
# may send a request line of 8 KiB, which would bury the line's meaning and fill the disk.
MAX_RUN = 256
_PAIR = re.compile(r"\b([a-z_]+)=([^\s,]+)")
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}

# What a secret is called where its value follows: a query or event `name=value`, or JSON text
# `"name": "value"` (ICE servers' `credential`, a body's `password`); with any prefix, so
# `csrf_token` and `turn_secret` count too.
_SECRET_NAME = r"\w*(?:token|password|passphrase|secret|credential|signature)|sig"
# The `=` may be percent-encoded, once or more (a link inside a `next=` inside a Referer); the
# value ends where a (percent-encoded) `&` starts the next parameter.
_NAMED_VALUE = re.compile(
    rf"(?i)(\b(?:{_SECRET_NAME})(?:=|%(?:25)*3D))(?:(?!%(?:25)*26)[^\s&;,\"'#])+"
)
_JSON_VALUE = re.compile(rf'(?i)("(?:{_SECRET_NAME})"\s*:\s*")(?:[^"\\]|\\.)*')
# Fields (`extra`, the access log's headers) whose whole value is a secret.
_SECRET_FIELD = re.compile(rf"(?i){_SECRET_NAME}|(?:proxy-)?authorization|(?:set-)?cookie")
# The signed tokens of join links, calendar feeds and viewing links (web.access.security.Signer:
# base64 of a JSON object, so "eyJ", a dot, the MAC) wherever they stand, also outside `token=`
# (a path, an encoded `next=`, an Authorization header of a WHIP encoder). No word boundary
# before it: in `token%3DeyJ...` a letter comes right before.
_SIGNED_TOKEN = re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]{16,}")
# API bearer tokens and session ids (web.access.security.new_token).
_API_TOKEN = re.compile(r"\btb_[A-Za-z0-9_-]{20,}")
_AUTH_SCHEME = re.compile(r"(?i)\b((?:Bearer|Basic)\s+)[^\s,;\"']+")
_LONG_RUN = re.compile(rf"\S{{{MAX_RUN + 1},}}")


def redact(text: str) -> str:
    """`text` without tokens, passwords and credentials, and with every run of more than
    MAX_RUN characters without whitespace cut (marked with its length).

    The one function every log line goes through (both formatters below)."""
    text = _NAMED_VALUE.sub(rf"\g<1>{REDACTED}", text)
    text = _JSON_VALUE.sub(rf"\g<1>{REDACTED}", text)
    text = _SIGNED_TOKEN.sub(REDACTED, text)
    text = _API_TOKEN.sub("tb_" + REDACTED, text)
    text = _AUTH_SCHEME.sub(rf"\g<1>{REDACTED}", text)
    # Cut after redacting: a cut through a token would leave a head that no longer matches.
    return _LONG_RUN.sub(lambda m: f"{m[0][:MAX_RUN]}…({len(m[0])} chars)", text)


def _field(name: str, value: object) -> object:
    """A JSON field's value, redacted (whole when its name says it is a secret)."""
    if value and _SECRET_FIELD.fullmatch(name):
        return REDACTED
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, Mapping):
        return {str(k): _field(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_field(name, v) for v in value]
    return redact(str(value))  # strings, and anything json would have written with str()


class TextFormatter(logging.Formatter):
    """TEXT_FORMAT, redacted."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: at, level, logger, message, and the event's fields."""

    def format(self, record: logging.LogRecord) -> str:
        message = redact(record.getMessage())
        entry: dict[str, object] = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat().replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": message,
        }
        for key, value in _PAIR.findall(message):
            entry.setdefault(key, _field(key, value))
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry.setdefault(key, _field(key, value))
        if record.exc_info:
            entry["error"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(fmt: str, level: int = logging.INFO, stream: TextIO | None = None) -> None:
    """Send the app's logs (aiohttp's access log too) to `stream`, stderr by default, as
    `text` or `json`."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
