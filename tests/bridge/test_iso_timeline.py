"""An ISO's timeline from RTP timestamps and arrival times (no network): a late first packet
does not shift the stream, a jump of the source's clock is followed, a reconnect re-anchors;
the studio's sender reports put its sound in step with its picture however late that came."""

from __future__ import annotations

from bridge.recording.timeline import (
    AUDIO_RATE,
    REANCHOR_MS,
    SETTLE_MS,
    RtpTimeline,
    StudioTimeline,
)
from bridge.relay.sender_reports import NTP_FRACTION, SenderReport, SenderReports

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


NTP_1900_TO_2026_S = 3_976_000_000  # a sender's clock now, in NTP seconds
VIDEO_SSRC, AUDIO_SSRC = 11, 22
VIDEO_TS0, AUDIO_TS0 = 4_294_000_000, 77  # each stream's random start (the picture's wraps)
AUDIO_TICKS = 960  # 20 ms of Opus


def _ntp(ms: float) -> int:
    """An NTP timestamp `ms` after the sender's clock read NTP_1900_TO_2026_S."""
    seconds, rest = divmod(ms / 1000, 1)
    return (NTP_1900_TO_2026_S + int(seconds)) << 32 | int(rest * NTP_FRACTION)


def test_a_sender_report_maps_rtp_time_to_the_senders_clock_across_the_wrap() -> None:
    report = SenderReport.from_rtcp(_ntp(1500.25), VIDEO_TS0)
    assert abs(report.ntp_ms - (NTP_1900_TO_2026_S * 1000 + 1500.25)) < 0.001
    after_wrap = (VIDEO_TS0 + 90 * 1000) % (1 << 32)  # one second later, past 2^32
    assert abs(report.sent_ms(after_wrap, VIDEO_RATE) - report.ntp_ms - 1000) < 0.001
    assert abs(report.sent_ms(VIDEO_TS0 - 9000, VIDEO_RATE) - report.ntp_ms + 100) < 0.001
    reports = SenderReports()
    for ssrc in range(10):  # a studio reconnecting again and again: a few streams are kept
        reports.add(ssrc, _ntp(ssrc), ssrc)
    assert reports.get(0) is None
    assert reports.get(9) == SenderReport.from_rtcp(_ntp(9), 9)


def _studio(picture_late_ms: float, reports_from_ms: float | None) -> list[tuple[int, int]]:
    """Ten seconds of a studio whose picture reaches the recorder `picture_late_ms` after its
    sound for the same instant (an encoder slow to encode), reporting from `reports_from_ms`
    on (None: never): each second, the recorded (picture, sound) stamps of its instant."""
    reports = SenderReports()
    timeline = StudioTimeline(reports.get)
    pairs: list[tuple[int, int]] = []
    for ms in range(0, 10_000, 20):  # the studio's clock, in steps of one sound packet
        if reports_from_ms is not None and ms >= reports_from_ms and ms % 1000 == 0:
            reports.add(VIDEO_SSRC, _ntp(ms), (VIDEO_TS0 + ms * 90) % (1 << 32))
            reports.add(AUDIO_SSRC, _ntp(ms), AUDIO_TS0 + ms * 48)
        sound = timeline.stamp_audio(AUDIO_SSRC, AUDIO_TS0 + ms * 48, 300 + ms + 3)
        if ms % 40 == 0:  # 25 pictures a second
            ts = (VIDEO_TS0 + ms * 90) % (1 << 32)
            picture = timeline.stamp_video(VIDEO_SSRC, ts, 300 + ms + 3 + picture_late_ms)
            if ms % 1000 == 0:
                pairs.append((picture, sound))
    return pairs


def test_sender_reports_put_the_sound_in_step_with_a_picture_that_came_late() -> None:
    # Without reports, each stream keeps its own delay: the sound leads by the picture's lag.
    unreported = _studio(picture_late_ms=150, reports_from_ms=None)
    assert all(abs(p - s - 150) <= 2 for p, s in unreported), unreported
    # With them, the sound is stamped at its picture's time once both are reported (the
    # first report comes a second in, as browsers send them).
    reported = _studio(picture_late_ms=150, reports_from_ms=1000)
    assert all(abs(p - s) <= 2 for p, s in reported[2:]), reported
    # The picture is never moved: its stamps are its own timeline's, reports or not.
    assert [p for p, _ in reported] == [p for p, _ in unreported]
    # A studio in step stays in step.
    assert all(abs(p - s) <= 2 for p, s in _studio(0, 1000)[2:])


def test_sound_reported_on_another_clock_than_its_picture_keeps_its_own_timeline() -> None:
    reports = SenderReports()
    timeline = StudioTimeline(reports.get)
    reports.add(VIDEO_SSRC, _ntp(0), VIDEO_TS0)
    reports.add(AUDIO_SSRC, _ntp(60_000), AUDIO_TS0)  # a minute off: not one sender's clock
    timeline.stamp_video(VIDEO_SSRC, VIDEO_TS0, 1000)
    assert timeline.stamp_audio(AUDIO_SSRC, AUDIO_TS0, 1005) == 1005
    assert timeline.stamp_audio(AUDIO_SSRC, AUDIO_TS0 + AUDIO_RATE, 2005) == 2005
