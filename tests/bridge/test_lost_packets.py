"""The relay's NACK bookkeeping agrees with aiortc's, packet by packet."""

from __future__ import annotations

from aiortc.rtcrtpreceiver import NackGenerator
from aiortc.rtp import RtpPacket
from hypothesis import given
from hypothesis import strategies as st

from bridge.aiortc_hooks.lost_packets import LostPackets

# What arrives of a stream: mostly the next packet, sometimes a gap (loss), a step back
# (reordering, a retransmission), a repeat, or a jump across the 16-bit wrap.
steps = st.lists(
    st.one_of(
        st.just(1),
        st.just(1),
        st.integers(2, 40),
        st.integers(-30, 0),
        st.integers(30_000, 40_000),
    ),
    min_size=1,
    max_size=300,
)


def arrivals(start: int, deltas: list[int]) -> list[tuple[int, int, float]]:
    """(sequence number, timestamp, wall clock) of each packet."""
    seq, out = start, []
    for i, delta in enumerate(deltas):
        seq = (seq + delta) % (1 << 16)
        out.append((seq, (seq * 3000) % (1 << 32), 1_000_000 + i * 0.0333 + (i % 7) * 0.002))
    return out


@given(st.integers(0, 0xFFFF), steps)
def test_lost_packets_are_what_aiortc_would_ask_again(start: int, deltas: list[int]) -> None:
    theirs, ours = NackGenerator(), LostPackets()
    for seq, _timestamp, _now in arrivals(start, deltas):
        packet = RtpPacket(payload_type=96, sequence_number=seq)
        assert ours.add(packet) == theirs.add(packet)
        assert (ours.max_seq, ours.missing) == (theirs.max_seq, theirs.missing)
