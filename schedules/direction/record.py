"""What a cue and a chat message are: what the producer sends, what the studio answers."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class CueKind(enum.StrEnum):
    """The calls a floor manager makes, in the order a show uses them; FREE is a text line."""

    STAND_BY = "stand_by"
    TEN_SECONDS = "ten_seconds"
    YOU_ARE_ON = "you_are_on"
    WRAP_UP = "wrap_up"
    OFF_AIR = "off_air"
    FREE = "free"  # only the text: "Look at camera 2", "Slow down"


# What a console shows, large, next to the tally (translated on the page).
CUE_LABELS: dict[CueKind, str] = {
    CueKind.STAND_BY: "STAND BY",
    CueKind.TEN_SECONDS: "10 SECONDS",
    CueKind.YOU_ARE_ON: "YOU ARE ON",
    CueKind.WRAP_UP: "WRAP UP",
    CueKind.OFF_AIR: "OFF AIR",
    CueKind.FREE: "CUE",
}


@dataclass(frozen=True)
class CueDraft:
    """A validated cue body."""

    studio_id: str
    kind: CueKind
    text: str = ""


@dataclass(frozen=True)
class Cue(CueDraft):
    """A cue as sent, and its acknowledgement once the studio's operator has given it."""

    id: int = 0
    booking_id: str = ""
    sent_by: str = ""
    sent_at: datetime | None = None
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None


PRODUCTION = "production"  # the sender of a message from the control room, not a studio


@dataclass(frozen=True)
class MessageDraft:
    """A validated chat message: to everyone in the booking, or privately to one studio."""

    text: str
    to_studio: str | None = None


@dataclass(frozen=True)
class Message(MessageDraft):
    """A stored chat message. `from_studio` is the operator's studio, or None for production
    (producers and admins); a private message is between production and `to_studio`."""

    id: int = 0
    booking_id: str = ""
    author: str = ""
    from_studio: str | None = None
    sent_at: datetime | None = None

    def seen_by(self, studio_id: str | None) -> bool:
        """Whether the console of `studio_id` (None: production) is one of its readers."""
        if studio_id is None or self.to_studio is None:
            return True
        return studio_id in (self.to_studio, self.from_studio)
