"""How the audit log reads: one whole sentence per action, so each language orders its words.

"elnur confirmed" must become "elnur təsdiqlədi" and "elnur onayladı", not the status label
"təsdiqləndi" ("was confirmed") after a name; so the log has its own msgids, with the actor as a
placeholder.
"""

from __future__ import annotations

AUDIT_PHRASES: dict[str, str] = {
    "created": "%(actor)s booked it",
    "edited": "%(actor)s edited it",
    "rescheduled": "%(actor)s rescheduled it",
    "confirmed": "%(actor)s confirmed",
    "declined": "%(actor)s declined",
    "cancelled": "%(actor)s cancelled it",
    "went live": "%(actor)s put it on air",
    "completed": "%(actor)s took it off air",
    "studio joined": "%(actor)s: a studio joined",
    "studio left": "%(actor)s: a studio left",
    "feed lost": "%(actor)s: a studio's feed was lost",
    "feed restored": "%(actor)s: a studio's feed is back",
    "switched the program": "%(actor)s switched the program",
    "changed the program sound": "%(actor)s changed the program sound",
    "changed the graphics": "%(actor)s changed the program graphics",
    "changed the lower thirds": "%(actor)s changed the lower-third texts",
    "recording started": "%(actor)s: recording started",
    "recording finished": "%(actor)s: recording finished",
    "output added": "%(actor)s added an output",
    "output removed": "%(actor)s removed an output",
    "output live": "%(actor)s: an output went live",
    "output dropped": "%(actor)s: an output dropped and is retrying",
    "output failed": "%(actor)s: an output never reached its destination",
    "output stopped": "%(actor)s: an output stopped",
    "called production": "%(actor)s called the producer",
    "answered a call": "%(actor)s answered a studio's call",
}


def audit_phrase(action: str) -> str:
    """The msgid of an audit action (an unknown action reads as "<actor> <action>")."""
    return AUDIT_PHRASES.get(action, "%(actor)s " + action.replace("%", "%%"))
