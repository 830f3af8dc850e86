"""The stream rewriter: one continuous outgoing stream across source restarts."""

from __future__ import annotations

import itertools

import pytest

from bridge.relay.rewrite import StreamRewriter, seq_newer


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


@pytest.mark.parametrize(
    ("a", "b", "newer"),
    [
        (1, 0, True),
        (0, 1, False),
        (0, 65535, True),
        (65535, 0, False),
        (5, 5, False),
        (40000, 10000, True),
        (10000, 40000, False),
        (40000, 7000, False),  # 33000 apart: more than half the space, so it wrapped
    ],
)
def test_sequence_order_wraps(a: int, b: int, newer: bool) -> None:
    assert seq_newer(a, b) is newer


def test_a_new_source_continues_the_outgoing_numbers() -> None:
    clock = Clock()
    r = StreamRewriter(90000, clock)
    first = [r.map(111, seq, 1000 + 3000 * i) for i, seq in enumerate(range(65530, 65536))]
    seqs = [s for s, _ in first]
    assert all((b - a) % 65536 == 1 for a, b in itertools.pairwise(seqs))
    clock.t += 0.5  # the studio reloads; half a second passes
    s, ts = r.map(222, 17, 555)  # new SSRC, unrelated numbers
    assert s == (seqs[-1] + 1) % 65536
    assert (ts - first[-1][1]) % (1 << 32) == 45000  # 0.5 s at 90 kHz
    s2, ts2 = r.map(222, 18, 555 + 3000)
    assert (s2, ts2 - ts) == ((s + 1) % 65536, 3000)


def test_a_retransmission_maps_to_its_original_number() -> None:
    r = StreamRewriter(90000, Clock())
    out = {seq: r.map(7, seq, 90 * seq) for seq in (100, 101, 103)}
    assert r.map(7, 102, 90 * 102) == ((out[101][0] + 1) % 65536, out[101][1] + 90)
    assert r.map(7, 104, 90 * 104)[0] == (out[103][0] + 1) % 65536
