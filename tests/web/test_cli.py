"""The `telebridge` command: tokens and logins made on the command line work; tokens are
listed and revoked there."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta
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


def rows(listing: str) -> dict[str, dict[str, str]]:
    """`token list` as {id: {column: value}}: columns are two or more spaces apart."""
    lines = listing.rstrip("\n").split("\n")
    columns = re.split(r"\s{2,}", lines[0].strip())
    assert columns[:8] == ["id", "prefix", "name", "role", "studio", "created", "expires",
                           "last used"], columns  # fmt: skip
    out = {}
    for line in lines[1:]:
        cells = dict(zip(columns, re.split(r"\s{2,}", line.strip()), strict=True))
        out[cells["id"]] = cells
    return out


async def test_tokens_expire_in_90_days_and_can_be_listed_and_revoked(
    tmp_path: Path, aiohttp_client: ClientFactory
) -> None:
    data = tmp_path / "data"
    client = await app_on(data, aiohttp_client)
    d = ["--data-dir", str(data)]
    (code, out, err), (code2, out2, _) = await asyncio.gather(
        telebridge("token", "create", "--role", "producer", *d, cwd=tmp_path),
        telebridge("token", "create", "--role", "viewer", "--name", "nightly export", "--days",
                   "7", *d, cwd=tmp_path),
    )  # fmt: skip
    assert (code, code2) == (0, 0), err
    first, second = out.strip(), out2.strip()
    assert "never shown again" in err and first not in err

    # 90 days unless told otherwise; the expiry is in the list, the secret is not.
    made = {t.prefix: t.token for t in await client.app[ACCOUNTS].tokens()}
    assert made[first[:11]].expires_at - made[first[:11]].created_at == timedelta(days=90)
    assert made[second[:11]].expires_at - made[second[:11]].created_at == timedelta(days=7)
    code, listing, err = await telebridge("token", "list", *d, cwd=tmp_path)
    assert code == 0, err
    assert first not in listing and second not in listing
    shown = rows(listing)
    one, two = str(made[first[:11]].id), str(made[second[:11]].id)
    assert shown[one]["prefix"] == first[:11]
    assert (shown[two]["name"], shown[two]["role"], shown[two]["studio"]) == (
        "nightly export",
        "viewer",
        "-",
    )
    assert shown[one]["last used"] == "never"
    assert shown[one]["state"] == "active"

    # A use shows up in the list.
    assert (await client.get("/api/bookings", headers=bearer(first))).status == 200
    shown = rows((await telebridge("token", "list", *d, cwd=tmp_path))[1])
    assert shown[one]["last used"].endswith(" UTC"), shown[one]
    assert shown[two]["last used"] == "never"

    # Revoked by the start the list shows: refused at once, the other token goes on.
    code, out, err = await telebridge("token", "revoke", first[:8], *d, cwd=tmp_path)
    assert code == 0, err
    assert out.startswith(f"revoked token {one} ")
    await assert_error(
        await client.get("/api/bookings", headers=bearer(first)), 401, "invalid_token"
    )
    assert (await client.get("/api/bookings", headers=bearer(second))).status == 200
    shown = rows((await telebridge("token", "list", *d, cwd=tmp_path))[1])
    assert (shown[one]["state"], shown[two]["state"]) == ("revoked", "active")

    # By id too; twice is harmless; what names nothing or several is refused, clearly.
    assert (await telebridge("token", "revoke", two, *d, cwd=tmp_path))[0] == 0
    await assert_error(
        await client.get("/api/bookings", headers=bearer(second)), 401, "invalid_token"
    )
    again = await telebridge("token", "revoke", two, *d, cwd=tmp_path)
    assert again[0] == 0 and "already revoked" in again[1]
    for selector, said in (("tb_", "names 2 tokens"), ("999", "does not exist")):
        code, out, err = await telebridge("token", "revoke", selector, *d, cwd=tmp_path)
        assert code != 0 and out == "" and said in err and "Traceback" not in err, err
    code, out, err = await telebridge("token", "create", "--role", "viewer", "--days", "0", *d,
                                      cwd=tmp_path)  # fmt: skip
    assert code != 0 and out == "" and "--days" in err
