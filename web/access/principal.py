"""Who is asking, once the credential has been checked (see web.access.auth)."""

from __future__ import annotations

from dataclasses import dataclass

from schedules.model import Role


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: a logged-in user or an API token."""

    name: str
    role: Role
    studio_id: str | None
    user_id: int | None = None
    language: str | None = None
    via_token: bool = False
