"""One studio's connection to its room: one aiortc peer connection, send and receive.

The studio's own camera and microphone come in on the m-lines it sends on; every partner gets
a pair of send-only slots (video, audio) on the m-lines the studio only receives on, in the
order of the booking. Nothing here encodes or decodes: the room wires feeds to slots.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

from aiortc import (
    RTCBundlePolicy,
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCRtpSender,
    RTCRtpTransceiver,
    RTCSessionDescription,
)
from aiortc.sdp import candidate_from_sdp

from bridge.aiortc_hooks import (
    accept_h264_profiles,
    accept_rsa_peers,
    request_keyframe,
    restrict_codecs,
    send_remb,
    tap_receiver,
)
from bridge.aiortc_hooks.sockets import drain_datagram_sockets, read_srtp_in_place
from bridge.aiortc_hooks.srtp import allow_large_srtp_packets
from bridge.errors import BadOffer
from bridge.program.return_feed import ReturnFeed
from bridge.relay.fanout import Feed, Slot
from bridge.sdp import add_bitrate_hints, inspect_offer
from bridge.spec import RoomSpec
from bridge.video_payloads import VideoCodec

log = logging.getLogger("telebridge.bridge.session")

# Encoders with RSA certificates (GStreamer's webrtcbin, libdatachannel) complete DTLS too,
# and their H.264 is taken in the Main and High profiles they offer.
accept_rsa_peers()
accept_h264_profiles()
# An encoder's full-rate video is read as fast as it comes, in packets of any MTU it uses.
drain_datagram_sockets()
allow_large_srtp_packets()

# A partner's slot carries each studio's codec untouched: it negotiates every one the relay
# forwards (browsers offer both), and each packet goes out as its own codec.
RELAYED_VIDEO = tuple(c.value for c in VideoCodec)
PROGRAM_VIDEO = "video/H264"  # the program is encoded once, as H.264, for the recording too
REMB_INTERVAL = 1.0
# aiortc's close can wait for ever on a transport that never ends (aiortc issue #283, seen
# here once in a few thousand closes): a studio's leaving must never hold up the room.
CLOSE_TIMEOUT_S = 5.0
PART_STOP_TIMEOUT_S = 1.0
PROGRAM_SLOT = "program"  # the studio id of the return feed's slot info

# The return feed of a connection (by its owner's id), sent through its video and audio
# senders (None: the connection has no m-line for it).
ReturnFeeds = Callable[[str, RTCRtpSender | None, RTCRtpSender | None], ReturnFeed]


@dataclass(frozen=True)
class SlotInfo:
    """Which m-lines of a studio's connection show which partner (the console needs this)."""

    studio_id: str
    video_mid: str | None
    audio_mid: str | None


@dataclass(frozen=True)
class Joined:
    """The answer to an offer, the id of its connection, and the slots of the studios it
    receives."""

    answer_sdp: str
    session_id: str
    slots: list[SlotInfo]
    program: SlotInfo | None = None  # the return feed's m-lines, when the offer asked for it


class StudioSession:
    """A studio's live connection: its own feeds in, its partners' slots out."""

    def __init__(
        self,
        spec: RoomSpec,
        studio_id: str,
        on_closed: Callable[[StudioSession], None],
        return_feeds: ReturnFeeds | None = None,
        control: bool = False,
    ) -> None:
        self.spec = spec
        # A control room's connection: it watches every studio and the program, and may send
        # only its microphone (talkback), or nothing at all.
        self.control = control
        self._return_feeds = return_feeds
        self.program_info: SlotInfo | None = None  # where the return feed is, when offered
        self.return_feed: ReturnFeed | None = None  # the program sent back, when offered
        self.studio_id = studio_id
        self.session_id = secrets.token_hex(8)
        self._on_closed = on_closed
        servers = [
            RTCIceServer(urls=s.urls, username=s.username, credential=s.credential)
            for s in spec.ice_servers
        ]
        # Always a list: with None aiortc would try a public STUN host (+5 s per connection).
        # web gives STUN only: the server is the reachable side and never relays via TURN.
        # max-bundle: with aiortc's default (balanced) a second audio or video m-line keeps a
        # transport that bundling then discards, and its media never flows.
        self.pc = RTCPeerConnection(
            RTCConfiguration(iceServers=servers, bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
        )
        self.feeds: dict[str, Feed] = {}
        self.receivers: dict[str, RTCRtpReceiver] = {}
        self.slots: list[Slot] = []
        self.slot_info: list[SlotInfo] = []
        self._remb_task: asyncio.Task[None] | None = None
        self._closed = False
        self.pc.on("connectionstatechange", self._state_changed)

    @property
    def connection_state(self) -> str:
        """aiortc's connection state."""
        return str(self.pc.connectionState)

    async def answer(self, offer_sdp: str) -> str:
        """Answer the studio's offer: tap what it sends, give each partner a pair of slots."""
        offered = inspect_offer(offer_sdp, must_send=not self.control)
        with _refusing("cannot be used"):
            await self.pc.setRemoteDescription(RTCSessionDescription(offer_sdp, "offer"))
        await self._add_offered_candidates(offer_sdp)
        by_mid = {t.mid: t for t in self.pc.getTransceivers()}
        partners = [s.id for s in self.spec.studios if s.id != self.studio_id]
        own_video_mid: str | None = None
        pending: dict[str, list[tuple[str, RTCRtpTransceiver]]] = {"video": [], "audio": []}
        for media in offered:
            transceiver = by_mid.get(media.mid)
            if transceiver is None:
                continue
            if media.kind == "video" and media.sends:
                # What the studio sends: the first codec of its offer the relay forwards
                # (inspect_offer made sure there is one).
                restrict_codecs(transceiver, media.codecs[0].value)
            if self.control and media.sends and media.kind == "video":
                transceiver.direction = "inactive"  # a control room shows no picture of its own
            elif media.sends and media.kind not in self.receivers:
                feed = Feed(
                    self.studio_id,
                    media.kind,
                    self._keyframe_requester(transceiver.receiver),
                    codec=media.codecs[0] if media.kind == "video" else None,
                )
                # The program needs the studio's pictures decoded; relaying never does.
                decode = self.spec.program and media.kind == "video"
                tap_receiver(transceiver.receiver, feed.on_packet, decode=decode)
                self.feeds[media.kind] = feed
                self.receivers[media.kind] = transceiver.receiver
                transceiver.direction = "recvonly"
                if media.kind == "video":
                    own_video_mid = media.mid
            elif media.receives:
                pending[media.kind].append((media.mid, transceiver))
            else:
                transceiver.direction = "inactive"
        if not self.feeds and not self.control:
            raise BadOffer("The offer sends no audio or video the bridge can take")
        for i, partner in enumerate(partners):
            mids: dict[str, str | None] = {"video": None, "audio": None}
            for kind in ("video", "audio"):
                if i < len(pending[kind]):
                    mid, transceiver = pending[kind][i]
                    mids[kind] = mid
                    self.slots.append(self._make_slot(transceiver, partner, kind))
            self.slot_info.append(SlotInfo(partner, mids["video"], mids["audio"]))
        self._attach_return_feed({k: v[len(partners) :] for k, v in pending.items()})
        with _refusing("cannot be answered"):
            await self.pc.setLocalDescription(await self.pc.createAnswer())
        for dtls in {t.receiver.transport for t in self.pc.getTransceivers()} - {None}:
            read_srtp_in_place(dtls)
        sdp = self.pc.localDescription.sdp
        q = self.spec.quality
        if own_video_mid is not None:
            sdp = add_bitrate_hints(sdp, own_video_mid, q.min_kbps, q.start_kbps, q.max_kbps)
        for slot in self.slots:
            slot.start()
        self._remb_task = asyncio.ensure_future(self._send_remb())
        return sdp

    async def _add_offered_candidates(self, offer_sdp: str) -> None:
        """Give the bundled ICE transport every candidate of the offer.

        With max-bundle, aiortc 1.16 hands the shared transport the candidates of the offer's
        last m-line, and Chromium lists them under the first: the server then knew the console
        only as peer-reflexive addresses learned from its checks, so master control could not
        tell a studio relayed through TURN ("relay") from a direct one.
        """
        transports = {
            t.receiver.transport.transport
            for t in self.pc.getTransceivers()
            if t.receiver.transport is not None
        }
        candidates = []
        for line in offer_sdp.splitlines():
            if line.startswith("a=candidate:"):
                try:
                    candidates.append(candidate_from_sdp(line[len("a=candidate:") :].strip()))
                except (AssertionError, ValueError, IndexError):
                    continue  # one candidate aiortc cannot read is no reason to refuse the offer
        for transport in transports:
            for candidate in candidates:
                # rtcp-mux: one component. An mDNS name (a browser's private host address)
                # would make aioice wait for a resolution that only works on the studio's LAN.
                if candidate.component == 1 and not candidate.ip.endswith(".local"):
                    await transport.addRemoteCandidate(candidate)  # same address: ignored

    def _attach_return_feed(self, extra: dict[str, list[tuple[str, RTCRtpTransceiver]]]) -> None:
        """The first receive pair beyond the partners' carries the program back (consoles
        offer it; encoders pushing WHIP do not); any further ones stay unused."""
        mids: dict[str, str | None] = {"video": None, "audio": None}
        if self._return_feeds is not None and (extra["video"] or extra["audio"]):
            senders: dict[str, RTCRtpSender] = {}
            for kind in ("video", "audio"):
                if not extra[kind]:
                    continue
                mid, transceiver = extra[kind].pop(0)
                if kind == "video" and not restrict_codecs(transceiver, PROGRAM_VIDEO):
                    transceiver.direction = "inactive"  # it cannot take H.264: no program
                    continue
                transceiver.direction = "sendonly"
                senders[kind] = transceiver.sender
                mids[kind] = mid
            self.return_feed = self._return_feeds(
                self.studio_id, senders.get("video"), senders.get("audio")
            )
            self.program_info = SlotInfo(PROGRAM_SLOT, mids["video"], mids["audio"])
        for kind in ("video", "audio"):
            for _mid, transceiver in extra[kind]:
                transceiver.direction = "inactive"  # more receive slots than needed

    def _make_slot(self, transceiver: RTCRtpTransceiver, partner: str, kind: str) -> Slot:
        if kind == "video":  # the studio's picture goes through untouched
            restrict_codecs(transceiver, *RELAYED_VIDEO)
        transceiver.direction = "sendonly"
        return Slot.on_sender(transceiver.sender, self.studio_id, partner, kind)

    @staticmethod
    def _keyframe_requester(receiver: RTCRtpReceiver) -> Callable[[int], Awaitable[None]]:
        async def ask(ssrc: int) -> None:
            await request_keyframe(receiver, ssrc)

        return ask

    async def round_trip_ms(self) -> float | None:
        """The round trip to the studio, from its receiver reports on our senders (RTCP)."""
        for slot in self.slots:
            report = await slot.sender.sender.getStats()
            for stat in report.values():
                rtt = getattr(stat, "roundTripTime", None)
                if stat.type == "remote-inbound-rtp" and rtt:
                    return round(float(rtt) * 1000, 1)
        return None

    async def _send_remb(self) -> None:
        """Keep telling the studio's browser it may send the profile's bitrate."""
        bitrate = self.spec.quality.max_kbps * 1000
        while True:
            receiver = self.receivers.get("video")
            feed = self.feeds.get("video")
            if receiver is not None and feed is not None and feed.ssrc is not None:
                await send_remb(receiver, bitrate, [feed.ssrc])
            await asyncio.sleep(REMB_INTERVAL)

    async def _state_changed(self) -> None:
        if self.pc.connectionState in ("failed", "closed"):
            await self.close()

    def show_program(self, shown: bool) -> None:
        """Send the program back (its picture and the studio's mix-minus), or stop sending it
        for a console that put it away; the connection and its m-lines stay as they are."""
        if self.return_feed is None:
            return
        if shown:
            self.return_feed.resume()
        else:
            self.return_feed.pause()

    async def close(self) -> None:
        """Close the connection and stop its slots (idempotent)."""
        if self._closed:
            return
        self._closed = True
        if self._remb_task is not None:
            self._remb_task.cancel()
        for slot in self.slots:
            await slot.stop()
        if self.return_feed is not None:
            await self.return_feed.close()
        for feed in self.feeds.values():
            for slot in list(feed.slots):
                feed.detach(slot)
        await self._close_peer()
        self._on_closed(self)

    async def _close_peer(self) -> None:
        """Close the peer connection, also one that a refused offer left half-made.

        aiortc 1.16's close stops every transceiver's transport in turn and fails on the first
        one that an offer left without a transport (m-lines of an unknown kind, a remote
        description that failed half-way), leaving the others' ICE sockets open: then each
        part is stopped on its own, whatever fails.
        """
        try:
            await asyncio.wait_for(self.pc.close(), CLOSE_TIMEOUT_S)
            return
        except TimeoutError:
            log.warning(
                "closing the connection of studio %s took over %g s; stopping its parts",
                self.studio_id,
                CLOSE_TIMEOUT_S,
            )
        except Exception as exc:
            log.warning(
                "closing a half-made connection of studio %s: %s: %s",
                self.studio_id,
                type(exc).__name__,
                exc,
            )
        parts: list[Any] = []
        for transceiver in self.pc.getTransceivers():
            dtls = transceiver.receiver.transport
            parts += [transceiver.receiver, transceiver.sender]
            parts += [dtls, getattr(dtls, "transport", None)]
        sctp = self.pc.sctp
        if sctp is not None:
            parts += [sctp, sctp.transport, sctp.transport.transport]
        for part in parts:
            if part is not None:
                with contextlib.suppress(Exception):  # TimeoutError included
                    await asyncio.wait_for(part.stop(), PART_STOP_TIMEOUT_S)


@contextlib.contextmanager
def _refusing(what: str) -> Iterator[None]:
    """aiortc's own errors on an offer it cannot take (ValueError, AttributeError, KeyError,
    ... from deep inside it) as BadOffer: the studio's offer is at fault, not the server."""
    try:
        yield
    except BadOffer:
        raise
    except Exception as exc:
        log.warning("an offer aiortc refused: %s: %s", type(exc).__name__, exc)
        # Where in aiortc, for whoever upgrades it: some of these were 500s before.
        log.debug("an offer aiortc refused", exc_info=True)
        raise BadOffer(f"The offer {what}: {type(exc).__name__}: {exc}"[:300]) from None
