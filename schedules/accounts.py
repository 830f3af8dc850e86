"""Logins, API tokens and sessions: who may act on bookings (storage; hashing is the caller's)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from schedules import db
from schedules.errors import DuplicateId, NotFound, ValidationError
from schedules.model import ApiToken, Role, User

LANGUAGES = ("en", "az", "tr")


def _user(row: sa.Row[object]) -> User:
    m = row._mapping
    return User(
        id=m["id"],
        name=m["name"],
        role=Role(m["role"]),
        studio_id=m["studio_id"],
        language=m["language"],
        password_hash=m["password_hash"],
    )


def check_role(role: str, studio_id: str | None) -> Role:
    """The role named `role`; operators need a studio, the others must not have one."""
    try:
        parsed = Role(role)
    except ValueError:
        choices = ", ".join(r.value for r in Role)
        raise ValidationError(f"role must be one of {choices}", {"role": "unknown role"}) from None
    if parsed is Role.OPERATOR and not studio_id:
        raise ValidationError("an operator needs a studio", {"studio": "is required"})
    return parsed


class Accounts:
    """Users, API tokens and login sessions on the booking database."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def _check_studio(self, studio_id: str | None) -> None:
        if studio_id is None:
            return
        async with self.engine.connect() as conn:
            found = await conn.execute(
                sa.select(db.studios.c.id).where(db.studios.c.id == studio_id)
            )
            if found.first() is None:
                raise NotFound("studio", studio_id)

    async def add_user(
        self,
        name: str,
        role: str,
        password_hash: str,
        now: datetime,
        studio_id: str | None = None,
        language: str = "en",
    ) -> User:
        """Store a new login; DuplicateId when the name is taken."""
        parsed = check_role(role, studio_id)
        await self._check_studio(studio_id)
        async with self.engine.begin() as conn:
            taken = await conn.execute(sa.select(db.users.c.id).where(db.users.c.name == name))
            if taken.first() is not None:
                raise DuplicateId("user", name)
            result = await conn.execute(
                db.users.insert().values(
                    name=name,
                    role=parsed.value,
                    studio_id=studio_id if parsed is Role.OPERATOR else None,
                    language=language,
                    password_hash=password_hash,
                    created_at=now,
                )
            )
            user_id = result.inserted_primary_key[0] if result.inserted_primary_key else 0
        return User(
            int(user_id),
            name,
            parsed,
            studio_id if parsed is Role.OPERATOR else None,
            language,
            password_hash,
        )

    async def user_by_name(self, name: str) -> User | None:
        """The login called `name`, if any."""
        async with self.engine.connect() as conn:
            row = (await conn.execute(sa.select(db.users).where(db.users.c.name == name))).first()
        return _user(row) if row else None

    async def user_by_id(self, user_id: int) -> User | None:
        """The login with this id, if any."""
        async with self.engine.connect() as conn:
            row = (await conn.execute(sa.select(db.users).where(db.users.c.id == user_id))).first()
        return _user(row) if row else None

    async def count_users(self) -> int:
        """How many logins exist."""
        async with self.engine.connect() as conn:
            count = (await conn.execute(sa.select(sa.func.count()).select_from(db.users))).scalar()
        return int(count or 0)

    async def set_language(self, user_id: int, language: str) -> None:
        """Remember the user's interface language."""
        if language not in LANGUAGES:
            raise ValidationError("unknown language", {"language": "must be en, az or tr"})
        async with self.engine.begin() as conn:
            await conn.execute(
                db.users.update().where(db.users.c.id == user_id).values(language=language)
            )

    async def add_token(
        self,
        token_hash: str,
        name: str,
        role: str,
        now: datetime,
        studio_id: str | None = None,
        expires_at: datetime | None = None,
    ) -> ApiToken:
        """Store a bearer token's record under the hash of its secret."""
        parsed = check_role(role, studio_id)
        await self._check_studio(studio_id)
        async with self.engine.begin() as conn:
            result = await conn.execute(
                db.api_tokens.insert().values(
                    token_hash=token_hash,
                    name=name,
                    role=parsed.value,
                    studio_id=studio_id if parsed is Role.OPERATOR else None,
                    created_at=now,
                    expires_at=expires_at,
                    revoked=False,
                )
            )
            token_id = result.inserted_primary_key[0] if result.inserted_primary_key else 0
        return ApiToken(int(token_id), name, parsed, studio_id, now, expires_at, False)

    async def token_by_hash(self, token_hash: str) -> ApiToken | None:
        """The token stored under this hash, if any."""
        t = db.api_tokens
        async with self.engine.connect() as conn:
            row = (await conn.execute(sa.select(t).where(t.c.token_hash == token_hash))).first()
        if row is None:
            return None
        return ApiToken(
            row.id,
            row.name,
            Role(row.role),
            row.studio_id,
            row.created_at,
            row.expires_at,
            bool(row.revoked),
        )

    async def add_session(
        self, id_hash: str, user_id: int, now: datetime, expires_at: datetime
    ) -> None:
        """Store a login session under the hash of its cookie value."""
        async with self.engine.begin() as conn:
            await conn.execute(
                db.sessions.delete().where(db.sessions.c.expires_at < now)
            )  # expired sessions are swept on every login
            await conn.execute(
                db.sessions.insert().values(
                    id_hash=id_hash, user_id=user_id, created_at=now, expires_at=expires_at
                )
            )

    async def live_session(self, id_hash: str, now: datetime) -> tuple[User, datetime] | None:
        """The user of a live session and when the session expires; None when unknown or
        expired."""
        s, u = db.sessions, db.users
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(u, s.c.expires_at)
                    .join(s, s.c.user_id == u.c.id)
                    .where(s.c.id_hash == id_hash, s.c.expires_at > now)
                )
            ).first()
        return (_user(row), row.expires_at) if row else None

    async def end_session(self, id_hash: str) -> None:
        """Forget a session (logout)."""
        async with self.engine.begin() as conn:
            await conn.execute(db.sessions.delete().where(db.sessions.c.id_hash == id_hash))
