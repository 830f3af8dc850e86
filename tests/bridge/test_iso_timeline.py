"""An ISO's timeline from RTP timestamps and arrival times (no network): a late first packet
does not shift the stream, a jump of the source's clock is followed, a reconnect re-anchors."""

from __future__ import annotations

from bridge.recording.iso import REANCHOR_MS, SETTLE_MS, RtpTimeline

VIDEO_RATE = 90000
FRAME_TICKS = 3000  # 30 fps
FRAME_MS = 1000 / 30


def test_a_late_first_packet_does_not_shift_the_stream() -> None:
    timeline = RtpTimeline(VIDEO_RATE)
    # Frames are sent every 33.3 ms from t=100 ms; the first one arrives 40 ms late, the rest
    # with 2 ms of network delay.
    stamps = []
    for n in range(90):
        sent = 100 + n * FRAME_MS
        arrival = sent + (40 if n == 0 else 2)
        stamps.append(timeline.stamp(1234, 5000 + n * FRAME_TICKS, arrival))
    # Once the earliest arrival is known, each frame is stamped when it was sent (+2 ms).
    for n in range(2, 90):
        assert abs(stamps[n] - (100 + n * FRAME_MS + 2)) <= 1, (n, stamps[n])


def test_the_anchor_settles_and_later_delays_do_not_move_it() -> None:
    timeline = RtpTimeline(VIDEO_RATE)
    settled = int(SETTLE_MS / FRAME_MS) + 3
    for n in range(settled):
        timeline.stamp(1, n * FRAME_TICKS, n * FRAME_MS + 5)
    # After the first stretch, a frame that arrives early (a delayed path cleared) keeps its
    # place on the stream's clock: the timeline no longer moves.
    n = settled
    assert timeline.stamp(1, n * FRAME_TICKS, n * FRAME_MS + 1) == round(n * FRAME_MS + 5)


def test_a_jump_of_the_source_clock_is_followed_and_a_new_source_re_anchored() -> None:
    timeline = RtpTimeline(VIDEO_RATE)
    for n in range(10):
        timeline.stamp(7, n * FRAME_TICKS, 1000 + n * FRAME_MS)
    # The sender's RTP clock jumps ahead by 10 s: the arrival time wins.
    jumped = timeline.stamp(7, 10 * FRAME_TICKS + 10 * VIDEO_RATE, 1000 + 10 * FRAME_MS)
    assert abs(jumped - (1000 + 10 * FRAME_MS)) <= 1
    assert REANCHOR_MS < 10_000
    # A reconnect: new SSRC, new RTP numbers, anchored at its own first packet.
    assert timeline.stamp(8, 123, 5000.0) == 5000
    assert timeline.stamp(8, 123 + FRAME_TICKS, 5000 + FRAME_MS) == round(5000 + FRAME_MS)
