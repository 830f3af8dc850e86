"""The audience routes' cache: one read at a time per key, whoever asks meanwhile.

200 players whose playlist expired together used to make 200 reads (database queries for the
booking, file reads for the playlist) that queued for the database's connections: playlist
answers took 1.4 s at the median and 9.6 s at p95 in bench/outputs.py.
"""

from __future__ import annotations

import asyncio

import pytest

from web.pages.watch_cache import Recent


class Source:
    """What the cache reads: counts its reads, answers when released."""

    def __init__(self) -> None:
        self.reads = 0
        self.release = asyncio.Event()
        self.value = "v1"
        self.fail = False

    async def read(self) -> str:
        self.reads += 1
        await self.release.wait()
        if self.fail:
            raise ConnectionError("database down")
        return self.value


async def test_requests_that_miss_together_share_one_read() -> None:
    cache: Recent[str, str] = Recent(ttl=60)
    source = Source()
    waiting = [asyncio.ensure_future(cache.get("b", source.read)) for _ in range(200)]
    await asyncio.sleep(0)
    source.release.set()
    assert await asyncio.gather(*waiting) == ["v1"] * 200
    assert source.reads == 1
    assert await cache.get("b", source.read) == "v1" and source.reads == 1  # kept


async def test_a_value_just_expired_is_served_while_it_is_read_again() -> None:
    now = [100.0]
    cache: Recent[str, str] = Recent(ttl=2.0, clock=lambda: now[0])
    source = Source()
    source.release.set()
    assert await cache.get("b", source.read) == "v1"
    now[0] += 3.0  # expired, within one more ttl
    source.release.clear()
    source.value = "v2"
    assert await cache.get("b", source.read) == "v1"  # at once, not after the read
    await asyncio.sleep(0)
    assert source.reads == 2  # ... which is under way
    source.release.set()
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert await cache.get("b", source.read) == "v2"
    now[0] += 5.0  # long expired: wait for the new read rather than serve what is kept
    source.release.clear()
    source.value = "v3"
    late = asyncio.ensure_future(cache.get("b", source.read))
    await asyncio.sleep(0)
    assert not late.done()
    source.release.set()
    assert await late == "v3"


async def test_an_error_is_not_kept_and_reaches_those_who_wait() -> None:
    cache: Recent[str, str] = Recent(ttl=60)
    source = Source()
    source.fail = True
    source.release.set()
    with pytest.raises(ConnectionError):
        await cache.get("b", source.read)
    source.fail = False
    assert await cache.get("b", source.read) == "v1"
    assert source.reads == 2


async def test_a_viewer_hanging_up_does_not_cancel_the_read_of_the_others() -> None:
    cache: Recent[str, str] = Recent(ttl=60)
    source = Source()
    first = asyncio.ensure_future(cache.get("b", source.read))
    second = asyncio.ensure_future(cache.get("b", source.read))
    await asyncio.sleep(0)
    first.cancel()
    source.release.set()
    assert await second == "v1"
    assert source.reads == 1
