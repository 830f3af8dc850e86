"""The checks of an output body: every problem named by field, nothing half-valid stored."""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import SplitResult, urlsplit

from schedules.errors import ValidationError
from schedules.outputs.record import OutputDraft, OutputKind, listens

MAX_NAME = 100
MAX_URL = 1000
MAX_KEY = 512
PASSPHRASE_CHARS = (10, 79)  # what SRT (libsrt) accepts
LATENCY_MS = (20, 8000)
LISTEN_PORTS = (1024, 65535)  # a listener binds a server port: never a privileged one
FIELDS = frozenset({"kind", "name", "url", "key", "passphrase", "latency_ms"})
SCHEMES = {OutputKind.RTMP: ("rtmp", "rtmps"), OutputKind.SRT: ("srt",)}
# Printable, no spaces: a key or passphrase pasted with a line break would never work.
PRINTABLE = re.compile(r"^[\x21-\x7e]+$")


def parse_output(data: object) -> OutputDraft:
    """Validate an output body (`kind`, `name`, `url`, `key`, `passphrase`, `latency_ms`)."""
    if not isinstance(data, Mapping):
        raise ValidationError("The body must be a JSON object")
    errors: dict[str, str] = {str(k): "unknown field" for k in data if k not in FIELDS}
    kind = _kind(data.get("kind"), errors)
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        errors["name"] = "is required"
    elif len(name.strip()) > MAX_NAME:
        errors["name"] = f"must be at most {MAX_NAME} characters"
    url = _url(kind, data.get("url"), errors) if kind else ""
    key = _secret("key", data.get("key"), kind, OutputKind.RTMP, (1, MAX_KEY), errors)
    passphrase = _secret(
        "passphrase", data.get("passphrase"), kind, OutputKind.SRT, PASSPHRASE_CHARS, errors
    )
    latency = _latency(data.get("latency_ms"), kind, errors)
    if errors:
        problem = (
            f"{next(iter(errors))}: {next(iter(errors.values()))}"
            if len(errors) == 1
            else "The output has problems in: " + ", ".join(sorted(errors))
        )
        raise ValidationError(problem, errors)
    assert kind is not None and isinstance(name, str)
    return OutputDraft(kind, name.strip(), url, key, passphrase, latency)


def _kind(value: object, errors: dict[str, str]) -> OutputKind | None:
    if value is None:
        errors["kind"] = "is required"
    elif not isinstance(value, str) or value not in OutputKind.__members__.values():
        errors["kind"] = "must be one of " + ", ".join(k.value for k in OutputKind)
    else:
        return OutputKind(value)
    return None


def _url(kind: OutputKind, value: object, errors: dict[str, str]) -> str:
    if kind is OutputKind.HLS:
        if value not in (None, ""):
            errors["url"] = "HLS is served by Telebridge itself: leave the URL out"
        return ""
    if not isinstance(value, str) or not value.strip():
        errors["url"] = "is required"
        return ""
    url = value.strip()
    if len(url) > MAX_URL:
        errors["url"] = f"must be at most {MAX_URL} characters"
        return ""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        errors["url"] = "is not a valid URL"
        return ""
    schemes = SCHEMES[kind]
    if parts.scheme not in schemes:
        errors["url"] = "must start with " + " or ".join(f"{s}://" for s in schemes)
    elif kind is OutputKind.RTMP:
        _rtmp(parts, errors)
    else:
        _srt(parts, port, errors)
    return url


def _rtmp(parts: SplitResult, errors: dict[str, str]) -> None:
    if not parts.hostname:
        errors["url"] = "names no host, such as rtmp://a.rtmp.youtube.com/live2"
    elif not parts.path.strip("/"):
        errors["url"] = "names no application, such as rtmp://a.rtmp.youtube.com/live2"


def _srt(parts: SplitResult, port: int | None, errors: dict[str, str]) -> None:
    if port is None:
        errors["url"] = "needs a port: srt://playout.example:9000, or srt://:9000 to listen"
    elif listens(parts.hostname) and not LISTEN_PORTS[0] <= port <= LISTEN_PORTS[1]:
        low, high = LISTEN_PORTS
        errors["url"] = f"a listener's port must be from {low} to {high}"
    elif parts.path.strip("/") or parts.query:
        errors["url"] = "takes no path or options: set passphrase and latency_ms as fields"


def _secret(
    field: str,
    value: object,
    kind: OutputKind | None,
    belongs_to: OutputKind,
    length: tuple[int, int],
    errors: dict[str, str],
) -> str | None:
    if value is None or value == "":
        return None
    if kind is not None and kind is not belongs_to:
        errors[field] = f"only {belongs_to.value} outputs take one"
    elif not isinstance(value, str):
        errors[field] = "must be text"
    elif not length[0] <= len(value) <= length[1]:
        low, high = length
        errors[field] = (
            f"must be at most {high} characters"
            if low <= 1
            else f"must be from {low} to {high} characters"
        )
    elif not PRINTABLE.match(value):
        errors[field] = "must be printable characters without spaces"
    else:
        return value
    return None


def _latency(value: object, kind: OutputKind | None, errors: dict[str, str]) -> int | None:
    if value is None:
        return None
    low, high = LATENCY_MS
    if kind is not None and kind is not OutputKind.SRT:
        errors["latency_ms"] = "only srt outputs take one"
    elif isinstance(value, bool) or not isinstance(value, int):
        errors["latency_ms"] = "must be a whole number of milliseconds"
    elif not low <= value <= high:
        errors["latency_ms"] = f"must be from {low} to {high}"
    else:
        return value
    return None
