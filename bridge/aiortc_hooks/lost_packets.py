"""aiortc's NACK bookkeeping of a received stream, the same results with less work.

A relayed video packet still feeds aiortc's NACK generator (which packets to ask again),
which copies its set of missing packets into a list on every packet and steps through
helper calls. The subclass keeps aiortc's fields and results exactly (a test holds it to
aiortc's, packet by packet) and takes the common case, the next packet with none missing,
in a few operations (measured in a loop: 0.40 -> 0.13 us a packet). aiortc's receive
statistics were tried the same way and gained nothing: the wall clock they read per packet
is most of their cost.
"""

from __future__ import annotations

from aiortc.rtcrtpreceiver import NackGenerator
from aiortc.rtp import RtpPacket

SEQ_MASK = 0xFFFF


class LostPackets(NackGenerator):
    """aiortc's NackGenerator: the sequence numbers missing below the highest received."""

    def add(self, packet: RtpPacket) -> bool:
        """Mark a packet received; True when it shows packets missing before it."""
        seq = packet.sequence_number
        max_seq = self.max_seq
        if max_seq is not None and not self.missing and seq == (max_seq + 1) & SEQ_MASK:
            self.max_seq = seq  # the next one, nothing missing: nothing else to do
            return False
        return super().add(packet)
