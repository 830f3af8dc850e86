"""Aiortc studios that join the real app over HTTP, as a console does (for the web tests)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import numpy as np
import pytest
from aiortc import RTCBundlePolicy, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError
from synthetic_media import CameraTrack, ToneTrack, video_codecs
from webtools import Client, ClockedApp

from harness.peer_close import close_peer
from harness.waiting import eventually

FMT = "%Y-%m-%dT%H:%M:%SZ"
FRAME_TIMEOUT = 10.0
SHADE_TOLERANCE = 20


@dataclass(frozen=True)
class Link:
    """One studio's join link, split into what the signalling endpoints take."""

    booking: str
    studio: str
    token: str

    def session(self, token: str | None = None) -> str:
        """The console's offer endpoint, with this link's token unless another is given."""
        return f"/join/{self.booking}/{self.studio}/session?token={quote(token or self.token)}"

    def leave(self, session: str | None) -> str:
        """The console's Leave of one of its connections."""
        return f"/join/{self.booking}/{self.studio}/session/{session}?token={quote(self.token)}"

    @property
    def whip(self) -> str:
        return f"/whip/{self.booking}/{self.studio}"


class Studio:
    """A studio as an aiortc peer that joins over HTTP; reads every partner track it gets."""

    def __init__(
        self,
        studio_id: str,
        shade: int,
        partners: int = 1,
        send: str = "sendrecv",
        sends: str = "video/VP8",
        receives: tuple[str, ...] = ("video/VP8", "video/H264"),
    ) -> None:
        """`sends`: its camera's codec; `receives`: the codecs its partners' slots offer."""
        self.studio_id, self.shade = studio_id, shade
        self.pc = RTCPeerConnection(
            RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
        )
        camera = self.pc.addTransceiver(CameraTrack(shade), direction=send)
        camera.setCodecPreferences(video_codecs(sends))
        self.pc.addTransceiver(ToneTrack(440 + shade), direction=send)
        for _ in range(partners):
            partner = self.pc.addTransceiver("video", direction="recvonly")
            partner.setCodecPreferences(video_codecs(*receives))
            self.pc.addTransceiver("audio", direction="recvonly")
        self.seen: dict[str, list[float]] = {}  # "partner/kind" -> one entry per frame
        self.session: str | None = None
        self.answer: dict[str, Any] = {}  # the console's last answer document
        self._readers: list[asyncio.Task[None]] = []

    async def offer(self) -> str:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return str(self.pc.localDescription.sdp)

    async def join(self, client: Client, link: Link) -> None:
        """The console's way in: POST the offer as JSON, set the answer, read partner tracks."""
        resp = await client.post(link.session(), json={"sdp": await self.offer()})
        assert resp.status == 200, await resp.text()
        await self.accept(await resp.json())

    async def accept(self, doc: dict[str, Any]) -> None:
        """Take the console's answer document: set its SDP, read the partner tracks."""
        await self.pc.setRemoteDescription(RTCSessionDescription(doc["sdp"], "answer"))
        by_mid = {t.mid: t for t in self.pc.getTransceivers()}
        for slot in doc["slots"]:
            for kind in ("video", "audio"):
                if slot[f"{kind}_mid"]:
                    track = by_mid[slot[f"{kind}_mid"]].receiver.track
                    self._read(f"{slot['studio']}/{kind}", track)
        self.session, self.answer = doc["session"], doc

    def _read(self, key: str, track: Any) -> None:
        seen = self.seen.setdefault(key, [])

        async def run() -> None:
            with contextlib.suppress(MediaStreamError):  # the connection closed
                while True:
                    frame = await track.recv()
                    if track.kind == "audio":
                        seen.append(float(frame.sample_rate))
                    else:  # the median brightness: each studio's camera has its own shade
                        seen.append(float(np.median(frame.to_ndarray(format="rgb24")[::6, ::6])))

        self._readers.append(asyncio.ensure_future(run()))

    async def fresh(self, key: str, frames: int = 3) -> float:
        """The last of `frames` frames of `key` that arrive from now on (not a backlog)."""
        seen = self.seen[key]
        start = len(seen)
        await eventually(
            lambda: len(seen) >= start + frames,
            timeout=FRAME_TIMEOUT,
            interval=0.01,
            message=f"{self.studio_id} getting new {key} frames",
        )
        return seen[-1]

    async def close(self) -> None:
        for task in self._readers:
            task.cancel()
        await asyncio.gather(*self._readers, return_exceptions=True)
        await close_peer(self.pc)


async def sees(viewer: Studio, source: Studio, within: float = 0.0) -> None:
    """`viewer` receives `source`'s camera now (waiting up to `within` s for a switch)."""
    shades: list[float] = []

    async def shows_source() -> bool:
        shades.append(await viewer.fresh(f"{source.studio_id}/video"))
        return abs(shades[-1] - source.shade) < SHADE_TOLERANCE

    await eventually(
        shows_source,
        timeout=within,
        interval=0,  # fresh() waits for new frames itself
        message=lambda: f"{viewer.studio_id} seeing {source.studio_id} (shade {shades[-1]})",
    )


@pytest.fixture
async def studios() -> AsyncIterator[Callable[..., Studio]]:
    """Make studios; every peer connection is closed after the test, whatever happened."""
    made: list[Studio] = []

    def make(studio_id: str, shade: int, **kw: Any) -> Studio:
        made.append(Studio(studio_id, shade, **kw))
        return made[-1]

    try:
        yield make
    finally:
        await asyncio.gather(*(s.close() for s in made))


async def offer_of(*media: tuple[str, str], channel: bool = False) -> str:
    """The offer of a throw-away peer with these (kind, direction) transceivers."""
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    try:
        for kind, direction in media:
            pc.addTransceiver(kind, direction=direction)
        if channel:
            pc.createDataChannel("chat")
        await pc.setLocalDescription(await pc.createOffer())
        return str(pc.localDescription.sdp)
    finally:
        await close_peer(pc)


async def book(
    c: ClockedApp, starts: datetime, studios: tuple[str, ...] = ("trend", "dha")
) -> dict[str, Link]:
    """Book an hour with a 15 min line check as the producer; its join links, per studio."""
    body = {
        "title": "Caspian energy week",
        "studios": list(studios),
        "starts_at": starts.strftime(FMT),
        "ends_at": (starts + timedelta(hours=1)).strftime(FMT),
        "setup_minutes": 15,
    }
    resp = await c.client.post("/api/bookings", json=body, headers=c.headers["producer"])
    assert resp.status == 201, await resp.text()
    return await join_links(c, (await resp.json())["booking"]["id"])


async def join_links(c: ClockedApp, booking_id: str) -> dict[str, Link]:
    """The booking's join links as the producer gets them now, per studio."""
    resp = await c.client.get(
        f"/api/bookings/{booking_id}/join-links", headers=c.headers["producer"]
    )
    assert resp.status == 200, await resp.text()
    out = {}
    for link in (await resp.json())["links"]:
        url = urlsplit(link["url"])
        booking, studio = url.path.split("/")[2:4]
        out[link["studio"]] = Link(booking, studio, parse_qs(url.query)["token"][0])
    return out


async def live_pair(
    c: ClockedApp, studios: Callable[..., Studio]
) -> tuple[dict[str, Link], Studio, Studio]:
    """A booking open now (starts in 5 min, 15 min line check), Trend and DHA joined and live."""
    ln = await book(c, c.clock() + timedelta(minutes=5))
    trend, dha = studios("trend", 40), studios("dha", 200)
    await trend.join(c.client, ln["trend"])
    await dha.join(c.client, ln["dha"])
    await sees(trend, dha)
    await sees(dha, trend)
    return ln, trend, dha
