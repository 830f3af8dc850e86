"""The `telebridge` command: tokens and logins made on the command line work."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient
from helpers import bearer
from webtools import assert_error, booking_body, login

from web.app import make_app
from web.demo import seed_demo
from web.services import ACCOUNTS, BOOKINGS, CLOCK
from web.settings import Settings

ClientFactory = Callable[[web.Application], Awaitable[TestClient[Any, Any]]]
TOKEN = re.compile(r"tb_[A-Za-z0-9_-]{20,}")


async def telebridge(*args: str, stdin: str = "", cwd: Path) -> tuple[int, str, str]:
    """Run `python -m web.cli ARGS` with a clean environment; (exit code, stdout, stderr)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELEBRIDGE_")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "web.cli",
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=cwd,
        env=env,
    )
    out, err = await asyncio.wait_for(proc.communicate(stdin.encode()), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def app_on(data_dir: Path, aiohttp_client: ClientFactory) -> TestClient[Any, Any]:
    """The app on `data_dir` (secret generated there, as `serve` would), demo seeded."""
    app = await make_app(Settings.load({}, data_dir=data_dir))
    await seed_demo(app[BOOKINGS], app[ACCOUNTS], app[CLOCK]())
    return await aiohttp_client(app)


async def test_token_create_prints_one_working_token(
    tmp_path: Path, aiohttp_client: ClientFactory
) -> None:
    data = tmp_path / "data"
    client = await app_on(data, aiohttp_client)
    d = str(data)
    (code, out, err), (op_code, op_out, _), (no_code, no_out, no_err) = await asyncio.gather(
        telebridge("token", "create", "--role", "producer", "--data-dir", d, cwd=tmp_path),
        telebridge(
            "token", "create", "--role", "operator", "--studio", "kabar", "--data-dir", d,
            cwd=tmp_path,
        ),
        telebridge("token", "create", "--role", "operator", "--data-dir", d, cwd=tmp_path),
    )  # fmt: skip
    assert code == 0, err
    assert out.endswith("\n") and out.count("\n") == 1, repr(out)
    token = out.strip()
    assert TOKEN.fullmatch(token), token

    resp = await client.post("/api/bookings", json=booking_body(days=4), headers=bearer(token))
    assert resp.status == 201, await resp.text()
    booking = (await resp.json())["booking"]
    audit = await client.get(f"/api/bookings/{booking['id']}/audit", headers=bearer(token))
    assert (await audit.json())["events"][0]["actor"] == "producer token (token)"

    # The operator token is bound to its studio.
    assert op_code == 0
    op = bearer(op_out.strip())
    me = await (await client.get("/api/me", headers=op)).json()
    assert (me["role"], me["studio"]) == ("operator", "kabar")
    await assert_error(
        await client.get(f"/api/bookings/{booking['id']}", headers=op), 404, "not_found"
    )

    # An operator without a studio is refused, clearly, and nothing is printed as a token.
    assert no_code != 0
    assert no_out == ""
    assert "operator" in no_err and "studio" in no_err
    assert "Traceback" not in no_err


async def test_token_create_refusals(tmp_path: Path) -> None:
    d = str(tmp_path / "data")
    runs = await asyncio.gather(
        telebridge(
            "token", "create", "--role", "operator", "--studio", "nowhere", "--data-dir", d,
            cwd=tmp_path,
        ),
        telebridge("token", "create", "--role", "superuser", "--data-dir", d, cwd=tmp_path),
    )  # fmt: skip
    for code, out, err in runs:
        assert code != 0
        assert out == ""
        assert err.strip() and "Traceback" not in err
    assert "nowhere" in runs[0][2]


async def test_user_add_reads_the_password_from_stdin(
    tmp_path: Path, aiohttp_client: ClientFactory
) -> None:
    data = tmp_path / "data"
    client = await app_on(data, aiohttp_client)
    d = str(data)
    password = "correct horse battery"
    (code, out, err), (short_code, short_out, short_err) = await asyncio.gather(
        telebridge("user", "add", "leyla", "--role", "viewer", "--data-dir", d,
                   stdin=password + "\n", cwd=tmp_path),
        telebridge("user", "add", "short", "--role", "viewer", "--data-dir", d,
                   stdin="abc\n", cwd=tmp_path),
    )  # fmt: skip
    assert code == 0, err
    assert password not in out + err

    await login(client, "leyla", password)
    me = await (await client.get("/api/me")).json()
    assert (me["name"], me["role"]) == ("leyla", "viewer")

    user = await client.app[ACCOUNTS].user_by_name("leyla")
    assert user is not None
    assert user.password_hash.startswith("scrypt$")
    assert password not in user.password_hash

    assert short_code != 0
    assert short_out == ""
    assert "8 characters" in short_err
    assert await client.app[ACCOUNTS].user_by_name("short") is None

    again = await telebridge(
        "user", "add", "leyla", "--role", "viewer", "--data-dir", d, stdin=password + "\n",
        cwd=tmp_path,
    )  # fmt: skip
    assert again[0] != 0
    assert "already exists" in again[2] and "Traceback" not in again[2]
