"""Master control's WebSocket closes once its caller's credential no longer stands: at logout at
once, and at the periodic check after an expiry, a revocation or a logout on another server."""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp
import pytest
from helpers import DEMO_PASSWORD
from webtools import ClockedApp, login, session_csrf

from web.access.security import token_digest
from web.live import master_control
from web.services import ACCOUNTS, MONITOR, SETTINGS

# Far more than the periodic check takes on a loaded machine, far less than "never".
CLOSE_WITHIN_S = master_control.RECHECK_SECONDS + 15


async def hello(ws: aiohttp.ClientWebSocketResponse) -> None:
    """The first message: the monitor is streaming."""
    msg = await asyncio.wait_for(ws.receive(), 10)
    assert msg.type == aiohttp.WSMsgType.TEXT, msg
    assert json.loads(msg.data)["type"] == "hello"


async def closed(ws: aiohttp.ClientWebSocketResponse) -> tuple[int | None, str]:
    """Read snapshots until the server closes; (close code, reason)."""
    deadline = time.monotonic() + CLOSE_WITHIN_S
    while True:
        left = deadline - time.monotonic()
        assert left > 0, f"the monitor was still open after {CLOSE_WITHIN_S} s"
        msg = await asyncio.wait_for(ws.receive(), left)
        if msg.type == aiohttp.WSMsgType.TEXT:
            continue
        assert msg.type == aiohttp.WSMsgType.CLOSE, msg
        return ws.close_code, str(msg.extra)


async def test_logout_closes_the_monitor_at_once(
    clocked: ClockedApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No periodic check within the test: only the logout itself can close the socket.
    monkeypatch.setattr(master_control, "RECHECK_SECONDS", 3600.0)
    client = clocked.client
    await login(client, "producer", DEMO_PASSWORD)
    async with client.ws_connect("/ws/monitor") as ws:
        await hello(ws)
        csrf = await session_csrf(client)
        out = await client.post("/logout", data={"csrf_token": csrf}, allow_redirects=False)
        assert out.status == 303
        assert await closed(ws) == (master_control.CLOSE_SIGNED_OUT, "signed out")
    assert not clocked.app[MONITOR].clients


async def test_an_expired_session_closes_the_monitor(clocked: ClockedApp) -> None:
    client = clocked.client
    await login(client, "producer", DEMO_PASSWORD)
    async with client.ws_connect("/ws/monitor") as ws:
        await hello(ws)
        clocked.clock.advance(hours=clocked.app[SETTINGS].session_hours)
        assert await closed(ws) == (master_control.CLOSE_SIGNED_OUT, "session expired")


async def test_a_session_ended_elsewhere_closes_the_monitor(clocked: ClockedApp) -> None:
    # Another server on the same database logged this session out: only the database knows.
    client = clocked.client
    await login(client, "producer", DEMO_PASSWORD)
    [cookie] = [c for c in client.session.cookie_jar if c.key == "tb_session"]
    async with client.ws_connect("/ws/monitor") as ws:
        await hello(ws)
        await clocked.app[ACCOUNTS].end_session(token_digest(cookie.value))
        assert await closed(ws) == (master_control.CLOSE_SIGNED_OUT, "signed out")


async def test_a_revoked_token_closes_the_monitor(clocked: ClockedApp) -> None:
    client, accounts = clocked.client, clocked.app[ACCOUNTS]
    async with client.ws_connect("/ws/monitor", headers=clocked.headers["producer"]) as ws:
        await hello(ws)
        # Still streaming while the token stands.
        msg = await asyncio.wait_for(ws.receive(), 10)
        assert msg.type == aiohttp.WSMsgType.TEXT
        [token] = [t for t in await accounts.tokens() if t.token.name == "producer-bot"]
        assert await accounts.revoke_token(token.token.id)
        assert await closed(ws) == (master_control.CLOSE_SIGNED_OUT, "token revoked")
