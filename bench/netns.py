"""Benchmarks that use WebRTC run inside the test network namespace (see .ci/netns)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

NETNS = Path(__file__).resolve().parents[1] / ".ci" / "netns"


def ensure_netns() -> None:
    """Re-run this program inside a private network namespace with a veth pair, once."""
    if os.environ.get("TELEBRIDGE_NETNS") == "1":
        return
    if os.geteuid() != 0:
        sys.exit(
            "WebRTC benchmarks need a non-loopback test address: run them as root "
            "(they enter a private network namespace) or under .ci/netns yourself"
        )
    os.execv(str(NETNS), [str(NETNS), sys.executable, *sys.argv])
