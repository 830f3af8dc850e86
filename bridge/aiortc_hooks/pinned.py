"""The aiortc the hooks were written for, and the error when an upgrade moved what they hook."""

from __future__ import annotations

import aiortc

PINNED_AIORTC = "1.16.0"


class HookBroken(RuntimeError):
    """aiortc no longer has the internals this module hooks (an upgrade moved them)."""


def require(obj: object, fields: tuple[str, ...]) -> None:
    """Raise HookBroken naming the `fields` `obj` lacks (an aiortc upgrade moved them)."""
    missing = [f for f in fields if not hasattr(obj, f)]
    if missing:
        raise HookBroken(
            f"aiortc {aiortc.__version__} lacks {', '.join(missing)} on {type(obj).__name__}; "
            f"bridge/aiortc_hooks/ was written for aiortc {PINNED_AIORTC}"
        )
