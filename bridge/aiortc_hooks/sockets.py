"""Hooks below aiortc: how its UDP sockets are read and written.

Both are private to the standard library and to aioice, so each is installed once, guarded
by what it expects to find, and failing loudly (HookBroken) when an upgrade moved it:

- asyncio's datagram transport reads one datagram per wake-up of the event loop, into a
  256 KiB buffer allocated for each (see DATAGRAM_BYTES). A loop that also runs the
  program's threads (which hold the GIL for milliseconds at a time) then reads a socket only
  a few hundred times a second, and a studio sending 2.5 Mbps of video (about
  250 packets a second, more in bursts after each key frame) overflows the socket's receive
  buffer: the kernel drops 50-80 % of an encoder's packets (measured with GStreamer's
  webrtcbin, which ignores REMB; browsers back off and hide it). Reading what is waiting, up
  to DATAGRAMS_PER_WAKEUP at a time, takes the loss to none.
- aioice hands every datagram to its STUN parser first and takes what fails to parse (a
  raised ValueError) as media. The first byte tells them apart (RFC 7983: 0-3 STUN, 20-63
  DTLS, 128-191 RTP and RTCP), so the read loop hands RTP and RTCP of a direct candidate pair
  straight to the ICE connection, as aioice would after its parser failed: a relay reads about
  280 of them a second per stream. The parser does not look at the first byte, and a PCMA
  packet whose sequence number equals its length less 20 parsed as a STUN request and was lost.
  A relayed connection's RTP and RTCP go further: to its DTLS transport's reader
  (`read_srtp_in_place`), which decrypts them and hands them on there and then.
"""

from __future__ import annotations

import asyncio.selector_events as selector_events
import logging
import socket
from collections.abc import Callable
from typing import Any, NamedTuple

from aioice.ice import Connection, StunProtocol
from aiortc.rtcdtlstransport import RTCDtlsTransport

from bridge.aiortc_hooks.pinned import HookBroken
from bridge.aiortc_hooks.receiving import srtp_reader

log = logging.getLogger("telebridge.bridge.sockets")

DATAGRAMS_PER_WAKEUP = 64
# What one read asks for: the largest UDP payload (65,507 bytes) fits. asyncio asks for its
# transports' max_size, 256 KiB, and CPython allocates that much for every datagram before
# cutting it to size: above glibc's mmap threshold, so each read also mapped and unmapped
# memory. Measured on loopback: 9.3 us a 1200-byte datagram sent and read, 1.5 with this.
DATAGRAM_BYTES = 65536


def drain_datagram_sockets() -> None:
    """Let every asyncio datagram transport read up to DATAGRAMS_PER_WAKEUP waiting
    datagrams each time its socket is readable, not one (idempotent)."""
    transport: Any = getattr(selector_events, "_SelectorDatagramTransport", None)
    if transport is None:
        raise HookBroken("asyncio has no _SelectorDatagramTransport")
    original = transport._read_ready
    if getattr(original, "drains", False):
        return
    needed = {"recvfrom", "datagram_received", "error_received", "_fatal_error", "_conn_lost"}
    missing = needed - set(original.__code__.co_names)
    if missing:  # the loop below repeats that body: it must still be the body we read
        raise HookBroken(f"asyncio's datagram _read_ready no longer uses {', '.join(missing)}")

    stun_received = StunProtocol.datagram_received.__code__.co_names
    if not {"parse_message", "data_received"} <= set(stun_received):
        raise HookBroken("aioice's StunProtocol no longer parses STUN before handing on data")

    def read_ready(self: Any) -> None:
        # The body of CPython 3.11-3.13's _read_ready, in a loop until the socket is empty.
        reading: _Reading | None = getattr(self, _READING, None)
        if reading is None:
            reading = _reading(self)
        size, media = reading.size, reading.media
        # given when the connection's answer is made, after its first datagrams (STUN): read
        # from the connection each time, not kept
        srtp = getattr(reading.rtp_connection, _SRTP_READER, None)
        for _ in range(DATAGRAMS_PER_WAKEUP):
            if self._conn_lost:
                return
            try:
                data, addr = self._sock.recvfrom(size)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                self._protocol.error_received(exc)
                return
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException as exc:
                self._fatal_error(exc, "Fatal read error on datagram transport")
                return
            try:
                if media is not None and data and 127 < data[0] < 192:
                    # to the connection's SRTP reader, unless it is not (yet) its to take
                    if srtp is None or not srtp(data):
                        media(data)
                else:
                    self._protocol.datagram_received(data, addr)
            except Exception:  # that datagram is lost, not the rest of the burst
                _unreadable(data, addr)

    read_ready.drains = True  # type: ignore[attr-defined]
    transport._read_ready = read_ready


# The attribute of a datagram transport that keeps how its reads go (_Reading): worked out on
# its first wake-up, not on each (the socket's family alone is a Python-level enum conversion).
_READING = "_telebridge_reading"


class _Reading(NamedTuple):
    size: int  # bytes one read asks for
    media: Callable[[bytes], None] | None  # where its RTP and RTCP go (_media_receivers)
    rtp_connection: Connection | None  # the ICE connection whose RTP component it carries


def _reading(transport: Any) -> _Reading:
    """How `transport` reads, kept on it once its protocol is complete (an aioice socket
    has its candidate and connection from its first datagram on, but only then)."""
    protocol = transport._protocol
    # A Unix datagram may be larger than any UDP one: asyncio's size for those.
    size = transport.max_size if transport._sock.family == socket.AF_UNIX else DATAGRAM_BYTES
    reading = _Reading(size, *_media_receivers(protocol))
    complete = type(protocol) is not StunProtocol or (
        getattr(protocol, "local_candidate", None) is not None and protocol.receiver is not None
    )
    if complete:
        setattr(transport, _READING, reading)
    return reading


_failures = 0


def _unreadable(data: bytes, addr: Any) -> None:
    """A datagram whose handling raised: aioice's STUN parser raises struct.error (not the
    ValueError it catches) on an attribute shorter than its type (seen from Janus's ICE);
    a relay step may meet a payload nobody foresaw. Logged, the first and every 1000th."""
    global _failures
    _failures += 1
    if _failures == 1 or _failures % 1000 == 0:
        log.warning(
            "a datagram of %d bytes from %s could not be handled (%d so far)",
            len(data),
            addr,
            _failures,
            exc_info=True,
        )


# The attribute of an ICE connection that holds what takes its RTP and RTCP the moment they
# are read (receiving.srtp_reader). On the connection, not in a mapping keyed by it: the reader
# refers to the connection through its DTLS transport, which would keep every closed
# connection alive in a mapping (a weak-keyed one included).
_SRTP_READER = "_telebridge_srtp_reader"


def read_srtp_in_place(dtls: RTCDtlsTransport) -> None:
    """Hand the RTP and RTCP of `dtls`'s connection to its reader as the socket is read,
    not to aiortc's queue (DTLS and STUN still go the usual way)."""
    connection: Connection = dtls.transport._connection
    setattr(connection, _SRTP_READER, srtp_reader(dtls))


def _media_receivers(protocol: Any) -> tuple[Callable[[bytes], None] | None, Connection | None]:
    """Where an aioice socket's RTP and RTCP go (its ICE connection, for the component of its
    candidate), and that connection if the socket carries its RTP component (whose SRTP
    reader, once given, takes them first); (None, None) for any other protocol (a TURN
    client's, or not aioice's)."""
    if type(protocol) is not StunProtocol:
        return None, None
    candidate = getattr(protocol, "local_candidate", None)
    connection = protocol.receiver
    if candidate is None or connection is None:
        return None, None
    received: Callable[[bytes, int], None] = connection.data_received
    component: int = candidate.component
    return (lambda data: received(data, component)), connection if component == 1 else None


def send_datagram(transport: Any, data: bytes, address: Any) -> None:
    """`transport.sendto(data, address)` straight to its socket when nothing waits in its
    buffer (the relay's every packet: asyncio's checks before the send cost about as much as
    the send); whatever the socket refuses goes the transport's way, which buffers or
    reports it."""
    sock = getattr(transport, "_sock", None)
    if sock is not None and not transport._buffer and not transport._conn_lost:
        try:
            sock.sendto(data, address)
            return
        except OSError:
            pass  # would block, or an error asyncio reports: the transport's way does both
    transport.sendto(data, address)
