"""The bridge's named errors; `web` maps them to HTTP statuses."""

from __future__ import annotations


class BridgeError(Exception):
    """Base of the errors the bridge raises on purpose."""


class BadOffer(BridgeError):
    """An SDP offer the bridge cannot answer (broken, hostile, without media, wrong codec)."""


class RoomClosed(BridgeError):
    """The room is not open (before the line check, after teardown, or never opened)."""


class UnknownStudio(BridgeError):
    """The studio is not part of this room."""


class UnknownControl(BridgeError):
    """No control room connection of that id in the room (it ended, or never was)."""


class NoMicrophone(BridgeError):
    """A control room connection that sends no microphone cannot talk back."""
