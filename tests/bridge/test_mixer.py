"""The program mixer: equal loudness, gain and mute, mix-minus, bounded buffers (no network)."""

from __future__ import annotations

import numpy as np
import pytest

from bridge.program.mixer import (
    DRAIN_SLACK_SECONDS,
    PREBUFFER_SECONDS,
    RATE,
    AudioMixer,
    dbfs,
    to_float,
    to_int16,
)

BLOCK = RATE // 50  # 20 ms


def tone(hz: float, level_dbfs: float, seconds: float, start: int = 0) -> np.ndarray:
    n = np.arange(start, start + int(seconds * RATE))
    amplitude = 10 ** (level_dbfs / 20) * np.sqrt(2)  # RMS of a sine is peak / sqrt(2)
    return (amplitude * np.sin(2 * np.pi * hz * n / RATE)).astype(np.float32)


def run(mixer: AudioMixer, sources: dict[str, tuple[float, float]], seconds: float):
    """Push and mix `seconds` of tones block by block; the last program and mix-minus."""
    program, minus = np.zeros(0), {}
    for i in range(int(seconds * 50)):
        for sid, (hz, level) in sources.items():
            mixer.push(sid, tone(hz, level, 0.02, start=i * BLOCK))
        program, minus = mixer.mix(BLOCK)
    return program, minus


def share(mix: np.ndarray, hz: float) -> float:
    """How much of `hz` is in `mix` (amplitude of that frequency's component)."""
    n = np.arange(mix.size)
    return float(abs(np.dot(mix, np.exp(-2j * np.pi * hz * n / RATE))) * 2 / mix.size)


def test_studios_are_brought_to_equal_loudness() -> None:
    mixer = AudioMixer(["baku", "rome"])
    program, _ = run(mixer, {"baku": (300, -32), "rome": (700, -12)}, 12.0)
    baku, rome = share(program, 300), share(program, 700)
    assert abs(20 * np.log10(baku / rome)) < 2.0  # 20 dB apart at the input, within 2 dB here


@pytest.mark.parametrize(
    ("gain_db", "muted", "expected_db"), [(6.0, False, 6.0), (-6.0, False, -6.0), (0.0, True, None)]
)
def test_the_producer_sets_gain_and_mute(gain_db: float, muted: bool, expected_db) -> None:
    mixer = AudioMixer(["baku", "rome"])
    run(mixer, {"baku": (300, -20), "rome": (700, -20)}, 6.0)  # settle the automatic gain
    mixer.set_gain("rome", gain_db, muted)
    program, _ = run(mixer, {"baku": (300, -20), "rome": (700, -20)}, 0.2)
    ratio = share(program, 700) / share(program, 300)
    if expected_db is None:
        assert ratio < 0.01
    else:
        assert abs(20 * np.log10(ratio) - expected_db) < 1.0


def test_each_studio_hears_everyone_but_itself() -> None:
    mixer = AudioMixer(["baku", "rome", "astana"])
    program, minus = run(
        mixer, {"baku": (300, -20), "rome": (700, -20), "astana": (1100, -20)}, 6.0
    )
    for sid, hz in (("baku", 300), ("rome", 700), ("astana", 1100)):
        own = share(minus[sid], hz)
        others = [share(minus[sid], f) for f in (300, 700, 1100) if f != hz]
        assert own < 0.001 and min(others) > 0.05, sid
    assert all(share(program, hz) > 0.05 for hz in (300, 700, 1100))


def test_a_late_studio_is_silence_and_a_fast_one_is_bounded() -> None:
    mixer = AudioMixer(["baku", "rome"])
    mixer.push("baku", tone(300, -20, 1.0))  # a second at once: more than the bound
    program, minus = mixer.mix(BLOCK)
    assert program.size == BLOCK and minus["baku"].size == BLOCK
    assert mixer.channels["baku"].buffer.size <= int(0.2 * RATE)
    assert mixer.channels["baku"].dropped >= int(0.8 * RATE) - BLOCK
    assert dbfs(minus["baku"]) == -np.inf  # Rome sent nothing yet: silence for Baku


def test_quiet_samples_pass_unchanged_and_loud_ones_are_limited() -> None:
    mixer = AudioMixer(["a", "b"])
    loud = np.full(BLOCK, 0.9, np.float32)
    mixer.push("a", loud)
    mixer.push("b", loud)
    program, _ = mixer.mix(BLOCK)
    assert program.max() <= 1.0
    pcm = to_int16(np.array([0.25, -0.5], np.float32))
    assert np.allclose(to_float(pcm), [0.25, -0.5], atol=1e-4)


def _pulse_delays(stall: tuple[float, float] | None) -> list[float]:
    """Seconds from each pulse a studio sent (one a second) to where it is in the program.

    The studio sends 20 ms of sound every 20 ms; the program takes 1024-sample blocks on its
    own clock. During `stall` (start, end) nothing arrives, and at its end all of it at once.
    """
    mixer = AudioMixer(["baku"])
    packet, block, seconds = RATE // 50, 1024, 5
    source = np.zeros(seconds * RATE, np.float32)
    for s in range(RATE, source.size, RATE):
        source[s : s + RATE // 20] = 0.3  # 50 ms, from each whole second
    events = []
    for i in range(source.size // packet):
        at = i * packet / RATE + 0.001
        if stall is not None and stall[0] <= at < stall[1]:
            at = stall[1]
        events.append((at, 0, i))
    events += [(j * block / RATE, 1, j) for j in range(source.size // block)]
    program = np.zeros(source.size, np.float32)
    for _, kind, i in sorted(events):
        if kind == 0:
            mixer.push("baku", source[i * packet : (i + 1) * packet])
        else:  # the block is stamped with the time it is mixed, like ProgramAudio's clock
            program[i * block : (i + 1) * block], _ = mixer.mix(block)
    loud = np.abs(program) > 0.05
    onsets = [s for s in np.flatnonzero(loud) if not loud[s - 1]]
    return [(s % RATE) / RATE for s in onsets]


def test_the_sound_is_held_at_the_prebuffer_even_after_a_burst() -> None:
    # However playing started, the studio's sound settles at the jitter buffer's delay (the
    # picture's delay does not depend on it either: that is what keeps them in sync).
    steady = _pulse_delays(None)
    assert len(steady) == 4, steady
    assert all(abs(d - PREBUFFER_SECONDS) <= DRAIN_SLACK_SECONDS for d in steady), steady
    # 150 ms without packets, then all of them at once: the pulse during the burst is late,
    # but within about a second the buffer holds the prebuffer again, not the burst for good.
    stalled = _pulse_delays((1.3, 1.45))
    assert len(stalled) == 4, stalled
    assert all(abs(d - PREBUFFER_SECONDS) <= DRAIN_SLACK_SECONDS for d in stalled[2:]), stalled
