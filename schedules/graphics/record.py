"""What the program's graphics of a booking are: lower-third texts, what is on screen, the logo."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

# The corners a logo may sit in (the live side draws the same four).
CORNERS = ("top-left", "top-right", "bottom-left", "bottom-right")
DEFAULT_CORNER = "top-right"
# The language of a text given without one before any is stored: the partners' common one.
FIRST_LANGUAGE = "en"


@dataclass(frozen=True)
class LowerThird:
    """A studio's lower third in one language: who speaks, and what they are."""

    studio_id: str
    language: str
    name: str
    title: str = ""


@dataclass(frozen=True)
class ClockSetting:
    """The clock on screen: an IANA zone and the label (a city) written next to the time."""

    zone: str
    label: str = ""


@dataclass(frozen=True)
class OnScreen:
    """What the producer has put in the program's graphics."""

    language: str | None = None  # the texts' language; None: the first stored
    shown: tuple[str, ...] = ()  # the studios whose lower third is on, in booking order
    clock: ClockSetting | None = None
    logo_visible: bool = False
    logo_corner: str = DEFAULT_CORNER


@dataclass(frozen=True)
class TextDraft:
    """A lower third's text as given with a change (its language comes from the change)."""

    name: str
    title: str = ""


@dataclass(frozen=True)
class GraphicsChange:
    """A validated change of the graphics: each part left None stays as it is.

    `visible` with a `studio_id` shows or hides that studio's lower third; without one, every
    studio's that has a text. `clock_given` tells "clock: null" (hide it) from no clock at all.
    """

    studio_id: str | None = None
    visible: bool | None = None
    text: TextDraft | None = None
    language: str | None = None
    clock_given: bool = False
    clock: ClockSetting | None = None
    logo_visible: bool | None = None
    logo_corner: str | None = None


@dataclass(frozen=True)
class BookingGraphics:
    """A booking's graphics: what is on screen and every stored text, the first stored first."""

    booking_id: str
    on_screen: OnScreen
    texts: tuple[LowerThird, ...] = ()

    @property
    def languages(self) -> tuple[str, ...]:
        """The languages texts are stored in, the first stored first."""
        return tuple(dict.fromkeys(t.language for t in self.texts))

    @property
    def language(self) -> str | None:
        """The language the lower thirds show: the producer's pick, else the first stored."""
        if self.on_screen.language is not None:
            return self.on_screen.language
        return self.texts[0].language if self.texts else None

    def text_of(self, studio_id: str) -> LowerThird | None:
        """The studio's text in the shown language, else in the first language stored for it
        (a guest's name is better in another language than missing)."""
        own = [t for t in self.texts if t.studio_id == studio_id]
        return next((t for t in own if t.language == self.language), own[0] if own else None)


@dataclass(frozen=True)
class Logo:
    """The site's logo: a PNG picture, checked, with who uploaded it and when."""

    png: bytes
    width: int
    height: int
    sha256: str
    uploaded_by: str = ""
    uploaded_at: datetime | None = None
