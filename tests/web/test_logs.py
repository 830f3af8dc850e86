"""Structured logs: one JSON object per line with the event's booking and studio as fields;
no token, password or credential in any line or field, and no endless line."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from harness.waiting import eventually
from web.access.joinlinks import calendar_token, join_path, watch_path
from web.app import make_app
from web.logs import MAX_RUN, REDACTED, JsonFormatter, configure_logging, redact
from web.services import SIGNER
from web.settings import Settings


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


# --- no secrets, no endless lines ------------------------------------------------------------

SIGNED = "eyJiIjoiYms0MiIsInMiOiJ0cmVuZCJ9.VGhpc0lzQU1hY09mVHdlbnR5Qnl0"
API_TOKEN = "tb_" + "Q" * 43


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        (f"GET /join/bk42/trend?token={SIGNED} HTTP/1.1", "GET /join/bk42/trend?token="),
        ("GET /calendar/trend.ics?token=opaque-token-value&x=1 HTTP/1.1", "&x=1"),
        (f"/watch/bk42?lang=az&token={SIGNED}", "/watch/bk42?lang=az&token="),
        (f"/login?next=%2Fjoin%2Fbk42%2Ftrend%3Ftoken%3D{SIGNED}", "/login?next=%2Fjoin"),
        ("/login?next=/x?token%253Dopaque-token-value%2526y%253D2", "%2526y%253D2"),
        (f"/join/bk42/trend/{SIGNED}/state", "/join/bk42/trend/"),  # a token in a path
        (f"Authorization: Bearer {API_TOKEN}", "Authorization: Bearer "),
        (f"session {API_TOKEN} seen", "session tb_"),
        ('{"urls": "turn:t", "username": "1:b.s", "credential": "c2VjcmV0cGFzcw=="}', '"1:b.s"'),
        ("TELEBRIDGE_TURN_SECRET=hunter2hunter2 csrf_token=abcdefabcdef", "TELEBRIDGE_TURN_"),
        ("srt://host:9000?passphrase=longpassphrase1&latency=200", "&latency=200"),
    ],
)
def test_redact_removes_every_kind_of_token(text: str, kept: str) -> None:
    out = redact(text)
    assert kept in out and REDACTED in out, out
    for secret in (SIGNED, SIGNED.split(".")[1], API_TOKEN[3:], "opaque-token-value"):
        assert secret not in out
    for secret in ("c2VjcmV0cGFzcw", "hunter2", "abcdefabcdef", "longpassphrase1"):
        assert secret not in out


def test_redact_cuts_long_runs_and_says_how_long_they_were() -> None:
    path = "/" + "a" * 2999
    out = redact(f'GET {path} HTTP/1.1 "-"')
    assert out == f'GET {path[:MAX_RUN]}…(3000 chars) HTTP/1.1 "-"'
    assert redact("/" + "b" * (MAX_RUN - 1)) == "/" + "b" * (MAX_RUN - 1)  # at the limit: kept
    # The cut comes after the redaction: a token across the limit leaves no head behind.
    out = redact("/" + "c" * (MAX_RUN - 20) + f"?token={SIGNED}")
    assert SIGNED[:10] not in out and "chars)" not in out


def test_json_fields_are_redacted_too_nested_and_by_name() -> None:
    entry = _line(
        "aiohttp.access",
        "%s",
        f"GET /join/bk42/trend?token={SIGNED}",
        request_header={"Referer": f"https://h/join/bk42/trend?token={SIGNED}"},
        authorization=f"Bearer {API_TOKEN}",
        password="hunter2hunter2",
        path="/" + "d" * 999,
    )
    text = json.dumps(entry)
    assert SIGNED not in text and API_TOKEN not in text and "hunter2" not in text
    assert entry["token"] == entry["authorization"] == entry["password"] == REDACTED
    assert entry["request_header"] == {"Referer": f"https://h/join/bk42/trend?token={REDACTED}"}
    assert str(entry["path"]).endswith("…(1000 chars)")


@pytest.fixture
def log_stream() -> Iterator[Callable[[str], io.StringIO]]:
    """Logging configured as `telebridge serve` does, into a stream the test reads; pytest's
    own handlers stay, and all of it is put back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level

    def configure(fmt: str) -> io.StringIO:
        stream = io.StringIO()
        configure_logging(fmt, stream=stream)
        root.handlers.extend(handlers)
        return stream

    yield configure
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.parametrize("fmt", ["text", "json"])
async def test_the_access_log_shows_no_token_and_no_endless_path(
    fmt: str,
    tmp_path: Path,
    log_stream: Callable[[str], io.StringIO],
    aiohttp_client: Callable[[web.Application], Awaitable[TestClient[Any, Any]]],
) -> None:
    stream = log_stream(fmt)
    app = await make_app(Settings.load({}, data_dir=tmp_path / "data", secret="x"))
    client = await aiohttp_client(app)
    signer = app[SIGNER]
    join = join_path(signer, "bk42", "trend")
    calendar = f"/calendar/trend.ics?token={calendar_token(signer, 'trend')}"
    watch = watch_path(signer, "bk42")
    long_path = "/" + "e" * 2999
    # A script the console page loads: the browser sends the join link as its Referer.
    await client.get("/static/console.js", headers={"Referer": f"https://h{join}"})
    for path in (join, calendar, watch, long_path):
        # Not followed: the watch page sends the anonymous to /login?next=<it, token and all>.
        await client.get(path, allow_redirects=False)

    def lines() -> list[str]:
        return stream.getvalue().splitlines()

    # The access log is written just after each answer went out.
    await eventually(lambda: sum("aiohttp.access" in line for line in lines()) >= 5)
    out = stream.getvalue()
    tokens = [join.split("token=")[1], calendar.split("token=")[1], watch.split("token=")[1]]
    for token in tokens:
        for part in token.split("."):
            assert part not in out, f"{part} logged:\n{out}"
    assert out.count("token=" + REDACTED) >= 4  # the three links and the Referer
    assert "e" * (MAX_RUN + 1) not in out
    assert "…(3000 chars)" in out
    if fmt == "json":
        entries = [json.loads(line) for line in lines()]
        access = [e for e in entries if e["logger"] == "aiohttp.access"]
        assert {e.get("token") for e in access} <= {REDACTED, None}
        assert any(e.get("token") == REDACTED for e in access)
        referers = [e["request_header"]["Referer"] for e in access]
        assert f"https://h/join/bk42/trend?token={REDACTED}" in referers
