"""API tokens: their last use recorded to the minute, revocation taking effect at once, naming a
token by id or by its start, and a database of schema 4 keeping its tokens (the command line
itself: test_cli.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from databases import copy_of
from helpers import bearer
from webtools import ClockedApp, assert_error

from schedules import db
from schedules.accounts import Accounts, TokenInfo, pick_token
from schedules.errors import NotFound, ValidationError
from schedules.model import ApiToken, Role
from web.access.security import new_token, token_digest, token_prefix
from web.services import ACCOUNTS

V4_API_TOKENS = """CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY, token_hash VARCHAR(64) NOT NULL UNIQUE, name VARCHAR(100) NOT NULL,
    role VARCHAR(16) NOT NULL, studio_id VARCHAR(64), created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP, revoked BOOLEAN NOT NULL)"""


@pytest.fixture
def empty_database(request: pytest.FixtureRequest, backend: str, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database (no schema) on this test's backend."""
    if backend == "sqlite":
        yield db.sqlite_url(str(tmp_path / "empty.db"))
        return
    with copy_of(request.getfixturevalue("pg_cluster"), "template0") as url:
        yield url


async def last_use(accounts: Accounts, name: str) -> object:
    return {t.token.name: t.last_used_at for t in await accounts.tokens()}[name]


async def test_a_tokens_last_use_is_recorded_to_the_minute(clocked: ClockedApp) -> None:
    accounts, client, clock = clocked.app[ACCOUNTS], clocked.client, clocked.clock
    assert await last_use(accounts, "admin-bot") is None
    first = clock()
    assert (await client.get("/api/me", headers=clocked.headers["admin"])).status == 200
    assert await last_use(accounts, "admin-bot") == first
    assert await last_use(accounts, "viewer-bot") is None  # only the token that was used

    # Within the minute nothing is written again ...
    clock.advance(seconds=59)
    assert (await client.get("/api/bookings", headers=clocked.headers["admin"])).status == 200
    assert await last_use(accounts, "admin-bot") == first
    # ... after it, the new time is.
    clock.advance(seconds=2)
    assert (await client.get("/api/bookings", headers=clocked.headers["admin"])).status == 200
    assert await last_use(accounts, "admin-bot") == first + timedelta(seconds=61)

    # A refused token is not "used".
    clocked.clock.advance(minutes=5)
    for info in await accounts.tokens():
        if info.token.name == "viewer-bot":
            assert await accounts.revoke_token(info.token.id)
    refused = await client.get("/api/me", headers=clocked.headers["viewer"])
    await assert_error(refused, 401, "invalid_token")
    assert await last_use(accounts, "viewer-bot") is None


async def test_a_revoked_token_is_refused_at_once(clocked: ClockedApp) -> None:
    accounts, client = clocked.app[ACCOUNTS], clocked.client
    token = new_token()
    made = await accounts.add_token(
        token_digest(token),
        "nightly export",
        "producer",
        clocked.clock(),
        expires_at=clocked.clock() + timedelta(days=90),
        prefix=token_prefix(token),
    )
    assert (await client.get("/api/bookings", headers=bearer(token))).status == 200
    listed = {t.token.id: t for t in await accounts.tokens()}[made.id]
    assert (listed.prefix, listed.state(clocked.clock())) == (token[:11], "active")
    assert token not in repr(listed)  # only the start of the secret is kept

    assert await accounts.revoke_token(made.id)
    assert not await accounts.revoke_token(made.id)  # once is enough
    await assert_error(
        await client.get("/api/bookings", headers=bearer(token)), 401, "invalid_token"
    )
    listed = {t.token.id: t for t in await accounts.tokens()}[made.id]
    assert listed.state(clocked.clock()) == "revoked"
    # Other tokens go on working.
    assert (await client.get("/api/bookings", headers=clocked.headers["admin"])).status == 200


def info(token_id: int, prefix: str | None) -> TokenInfo:
    now = datetime.now(UTC)
    return TokenInfo(ApiToken(token_id, "t", Role.VIEWER, None, now, None, False), prefix, None)


def test_a_token_is_named_by_its_id_or_its_start() -> None:
    tokens = [info(1, "tb_AbCdEfGh"), info(2, "tb_AbXyZ123"), info(12, None)]
    assert pick_token(tokens, "1").token.id == 1
    assert pick_token(tokens, "12").token.id == 12  # made before prefixes: by id only
    assert pick_token(tokens, "tb_AbC").token.id == 1
    assert pick_token(tokens, " tb_AbXyZ123 ").token.id == 2
    assert pick_token(tokens, "tb_AbCdEfGh" + "rest-of-the-secret").token.id == 1  # whole token
    with pytest.raises(ValidationError, match=r"names 2 tokens \(ids 1, 2\)"):
        pick_token(tokens, "tb_Ab")
    for unknown in ("3", "tb_Zz", "", "tb_AbCdEfGX"):
        with pytest.raises(NotFound):
            pick_token(tokens, unknown)


async def test_a_schema_4_database_keeps_its_tokens(empty_database: str) -> None:
    engine = db.make_engine(empty_database)
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.text("CREATE TABLE schema_version (version INTEGER NOT NULL)"))
            await conn.execute(sa.text("INSERT INTO schema_version VALUES (4)"))
            await conn.execute(sa.text(V4_API_TOKENS))
            await conn.execute(
                sa.text(
                    "INSERT INTO api_tokens VALUES (7, 'feedfeed', 'old bot', 'producer', NULL, "
                    "'2026-11-01 10:00:00', NULL, FALSE)"
                )
            )
        assert await db.migrate(engine) == 4
        accounts = Accounts(engine)
        [old] = await accounts.tokens()
        assert (old.token.id, old.token.name, old.prefix, old.last_used_at) == (
            7,
            "old bot",
            None,
            None,
        )
        now = datetime.now(UTC)
        found = await accounts.find_token("feedfeed")
        assert found is not None
        await accounts.record_token_use(found, now)
        [used] = await accounts.tokens()
        assert used.last_used_at is not None
        assert abs(used.last_used_at - now) < timedelta(seconds=1)
        assert await accounts.revoke_token(7)
        assert await db.migrate(engine) == db.SCHEMA_VERSION  # a second start changes nothing
    finally:
        await engine.dispose()
