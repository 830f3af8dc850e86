"""The pool of media tests that .ci/run's two processes share: each test runs exactly once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from shared_pool import claim


def test_of_many_claims_on_a_test_at_once_exactly_one_wins(tmp_path: Path) -> None:
    tests = [f"tests/bridge/test_x.py::test_{n}[a/b: c]" for n in range(50)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        won = list(pool.map(lambda t: claim(tmp_path, t), [t for t in tests for _ in range(4)]))
    assert sum(won) == len(tests)
    assert [won[i * 4 : i * 4 + 4].count(True) for i in range(len(tests))] == [1] * len(tests)
    assert not claim(tmp_path, tests[0])  # and it stays claimed
