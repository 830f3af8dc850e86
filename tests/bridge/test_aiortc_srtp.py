"""SRTP below aiortc: packets of any MTU, and the relay's lean calls agree with pylibsrtp's."""

from __future__ import annotations

import os

import pylibsrtp
import pytest

import bridge.session  # noqa: F401  # installs the hooks, as the bridge does
from bridge.aiortc_hooks.srtp import SRTP_BUFFER_BYTES, RtpCipher


def sessions(key: bytes) -> tuple[pylibsrtp.Session, pylibsrtp.Session]:
    """A sending and a receiving session of one key, as aiortc makes them."""
    outbound = pylibsrtp.Policy(key=key, ssrc_type=pylibsrtp.Policy.SSRC_ANY_OUTBOUND)
    inbound = pylibsrtp.Policy(key=key, ssrc_type=pylibsrtp.Policy.SSRC_ANY_INBOUND)
    return pylibsrtp.Session(outbound), pylibsrtp.Session(inbound)


def rtp(sequence_number: int, payload: bytes) -> bytes:
    return bytes([0x80, 96]) + sequence_number.to_bytes(2, "big") + bytes(7) + b"\x07" + payload


@pytest.mark.parametrize("payload_bytes", [1200, 1400, 1500])
def test_srtp_protects_the_packets_encoders_send(payload_bytes: int) -> None:
    # GStreamer's payloaders fill 1400 bytes; pylibsrtp alone refuses anything past 1356.
    tx, rx = sessions(os.urandom(30))
    packet = rtp(1, os.urandom(payload_bytes))
    protected = tx.protect(packet)
    assert len(protected) > len(packet)
    assert rx.unprotect(protected) == packet


def test_the_lean_calls_give_what_pylibsrtp_gives_byte_for_byte() -> None:
    key = os.urandom(30)
    theirs_tx, theirs_rx = sessions(key)
    ours_tx, ours_rx = sessions(key)
    sender, receiver = RtpCipher(ours_tx), RtpCipher(ours_rx)
    for sequence_number in range(1, 200):
        packet = rtp(sequence_number, os.urandom(sequence_number * 7))
        protected = sender.protect(packet)
        assert protected == theirs_tx.protect(packet)
        assert receiver.unprotect(protected) == packet == theirs_rx.unprotect(protected)


def test_the_lean_calls_refuse_what_pylibsrtp_refuses() -> None:
    tx, rx = sessions(os.urandom(30))
    sender, receiver = RtpCipher(tx), RtpCipher(rx)
    protected = sender.protect(rtp(5, b"picture"))
    tampered = protected[:-1] + bytes([protected[-1] ^ 1])
    with pytest.raises(pylibsrtp.Error, match="authentication failure"):
        receiver.unprotect(tampered)
    assert receiver.unprotect(protected) == rtp(5, b"picture")
    with pytest.raises(pylibsrtp.Error, match="replay check failed"):
        receiver.unprotect(protected)  # the same packet again
    with pytest.raises(ValueError, match="too long"):
        sender.protect(rtp(6, bytes(SRTP_BUFFER_BYTES)))
    with pytest.raises(ValueError, match="too long"):
        receiver.unprotect(bytes(SRTP_BUFFER_BYTES + 1))


def test_pylibsrtp_own_calls_still_work_beside_the_lean_ones() -> None:
    # aiortc protects its RTCP (and a TURN pair's RTP) through pylibsrtp on the same session
    # and buffer the lean calls use.
    tx, rx = sessions(os.urandom(30))
    sender, receiver = RtpCipher(tx), RtpCipher(rx)
    first, second = rtp(1, b"a" * 900), rtp(2, b"b" * 100)
    lean, own = sender.protect(first), tx.protect(second)
    assert rx.unprotect(own) == second
    assert receiver.unprotect(lean) == first
