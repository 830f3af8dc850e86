"""Logins, API tokens and sessions: who may act on bookings (storage; hashing is the caller's)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from schedules import db
from schedules.errors import DuplicateId, NotFound, ValidationError
from schedules.model import ApiToken, Role, User
from schedules.rules.zones import check_zone

# The interface languages a login may choose: the partners' working languages (the web side
# ships a catalog for each).
LANGUAGES = ("en", "az", "tr", "kk", "ky", "uz", "ru")
LANGUAGE_ERROR = "must be one of " + ", ".join(LANGUAGES)
# A token's last use is written at most once per this interval: to the minute is all a list
# needs, and a busy integration then costs no write per request.
TOKEN_USE_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class TokenInfo:
    """An API token as lists show it: its record, the first characters of its secret (None for
    tokens made before they were kept) and when it was last used (to the minute)."""

    token: ApiToken
    prefix: str | None
    last_used_at: datetime | None

    def state(self, now: datetime) -> str:
        """`active`, `expired` or `revoked`."""
        if self.token.revoked:
            return "revoked"
        if self.token.expires_at is not None and self.token.expires_at <= now:
            return "expired"
        return "active"


def pick_token(tokens: Sequence[TokenInfo], selector: str) -> TokenInfo:
    """The one token named by `selector`: its id, or the start of the token as printed (any
    length; the whole token works too). NotFound, or ValidationError when it names several."""
    selector = selector.strip()
    if selector.isdigit():
        found = [t for t in tokens if t.token.id == int(selector)]
    else:
        found = [
            t
            for t in tokens
            if t.prefix
            and selector
            and (t.prefix.startswith(selector) or selector.startswith(t.prefix))
        ]
    if not found:
        raise NotFound("token", selector)
    if len(found) > 1:
        ids = ", ".join(str(t.token.id) for t in found)
        raise ValidationError(
            f'"{selector}" names {len(found)} tokens (ids {ids}): give more of it, or the id',
            {"token": "names several tokens"},
        )
    return found[0]


def _user(row: sa.Row[object]) -> User:
    m = row._mapping
    return User(
        id=m["id"],
        name=m["name"],
        role=Role(m["role"]),
        studio_id=m["studio_id"],
        language=m["language"],
        password_hash=m["password_hash"],
        time_zone=m["time_zone"],
        studio_zone=m["studio_zone"] or "",
    )


def _users() -> sa.Select[tuple[object, ...]]:
    # With the operator's studio's zone: the zone its pages default to (rules.zones).
    u, s = db.users, db.studios
    return sa.select(u, s.c.timezone.label("studio_zone")).select_from(
        u.outerjoin(s, s.c.id == u.c.studio_id)
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
        language: str = "",
    ) -> User:
        """Store a new login; DuplicateId when the name is taken.

        Without a language the login has not chosen one: its pages follow its browser until it
        picks one from the menu.
        """
        if language and language not in LANGUAGES:
            raise ValidationError("unknown language", {"language": LANGUAGE_ERROR})
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
            row = (await conn.execute(_users().where(db.users.c.name == name))).first()
        return _user(row) if row else None

    async def user_by_id(self, user_id: int) -> User | None:
        """The login with this id, if any."""
        async with self.engine.connect() as conn:
            row = (await conn.execute(_users().where(db.users.c.id == user_id))).first()
        return _user(row) if row else None

    async def count_users(self) -> int:
        """How many logins exist."""
        async with self.engine.connect() as conn:
            count = (await conn.execute(sa.select(sa.func.count()).select_from(db.users))).scalar()
        return int(count or 0)

    async def set_language(self, user_id: int, language: str) -> None:
        """Remember the user's interface language."""
        if language not in LANGUAGES:
            raise ValidationError("unknown language", {"language": LANGUAGE_ERROR})
        async with self.engine.begin() as conn:
            await conn.execute(
                db.users.update().where(db.users.c.id == user_id).values(language=language)
            )

    async def set_time_zone(self, user_id: int, zone: str) -> None:
        """Remember the zone the user's pages show times in ("" = back to the default)."""
        try:
            zone = check_zone(zone)
        except ValueError as exc:
            raise ValidationError("unknown time zone", {"time_zone": str(exc)}) from None
        async with self.engine.begin() as conn:
            await conn.execute(
                db.users.update().where(db.users.c.id == user_id).values(time_zone=zone)
            )

    async def replace_password_hash(self, user_id: int, old: str, new: str) -> bool:
        """Store `new` as the user's password hash if `old` is still the stored one (a password
        changed meanwhile wins); whether it was replaced."""
        u = db.users
        async with self.engine.begin() as conn:
            result = await conn.execute(
                u.update()
                .where(u.c.id == user_id, u.c.password_hash == old)
                .values(password_hash=new)
            )
        return bool(result.rowcount)

    async def add_token(
        self,
        token_hash: str,
        name: str,
        role: str,
        now: datetime,
        studio_id: str | None = None,
        expires_at: datetime | None = None,
        prefix: str | None = None,
    ) -> ApiToken:
        """Store a bearer token's record under the hash of its secret (and the secret's first
        characters, to name it in lists)."""
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
                    prefix=prefix,
                )
            )
            token_id = result.inserted_primary_key[0] if result.inserted_primary_key else 0
        return ApiToken(int(token_id), name, parsed, studio_id, now, expires_at, False)

    def _token_query(self) -> sa.Select[tuple[object, ...]]:
        t, u = db.api_tokens, db.api_token_uses
        return sa.select(t, u.c.last_used_at).select_from(t.outerjoin(u, u.c.token_id == t.c.id))

    async def find_token(self, token_hash: str) -> TokenInfo | None:
        """The token stored under this hash, with its prefix and last use, if any."""
        query = self._token_query().where(db.api_tokens.c.token_hash == token_hash)
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return _token_info(row) if row else None

    async def token_by_hash(self, token_hash: str) -> ApiToken | None:
        """The token stored under this hash, if any."""
        info = await self.find_token(token_hash)
        return info.token if info else None

    async def tokens(self) -> list[TokenInfo]:
        """Every API token, revoked and expired ones included, oldest first."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(self._token_query().order_by(db.api_tokens.c.id))
        return [_token_info(row) for row in rows]

    async def revoke_token(self, token_id: int) -> bool:
        """Revoke a token for good; False when it already was."""
        t = db.api_tokens
        async with self.engine.begin() as conn:
            result = await conn.execute(
                t.update().where(t.c.id == token_id, t.c.revoked.is_(False)).values(revoked=True)
            )
        return bool(result.rowcount)

    async def record_token_use(self, info: TokenInfo, now: datetime) -> None:
        """Remember that the token was used at `now`, unless its last use already says so to
        the minute (then nothing is written)."""
        cutoff = now - TOKEN_USE_RESOLUTION
        if info.last_used_at is not None and info.last_used_at > cutoff:
            return
        async with self.engine.begin() as conn:
            await conn.execute(_upsert_use(conn, info.token.id, now, cutoff))

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
                    _users()
                    .add_columns(s.c.expires_at)
                    .join(s, s.c.user_id == u.c.id)
                    .where(s.c.id_hash == id_hash, s.c.expires_at > now)
                )
            ).first()
        return (_user(row), row.expires_at) if row else None

    async def end_session(self, id_hash: str) -> None:
        """Forget a session (logout)."""
        async with self.engine.begin() as conn:
            await conn.execute(db.sessions.delete().where(db.sessions.c.id_hash == id_hash))


def _token_info(row: sa.Row[object]) -> TokenInfo:
    m = row._mapping
    token = ApiToken(
        m["id"],
        m["name"],
        Role(m["role"]),
        m["studio_id"],
        m["created_at"],
        m["expires_at"],
        bool(m["revoked"]),
    )
    return TokenInfo(token, m["prefix"], m["last_used_at"])


def _upsert_use(
    conn: AsyncConnection, token_id: int, now: datetime, cutoff: datetime
) -> sa.Executable:
    # One statement on both backends, so two requests using a token for the first time at
    # once cannot both insert; an older use never overwrites a newer one.
    u = db.api_token_uses
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = insert(u).values(token_id=token_id, last_used_at=now)
    return stmt.on_conflict_do_update(
        index_elements=[u.c.token_id],
        set_={"last_used_at": stmt.excluded.last_used_at},
        where=u.c.last_used_at < cutoff,
    )
