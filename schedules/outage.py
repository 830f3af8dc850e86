"""Telling a database that is down, restarting or busy apart from a real error.

The web layer answers the first kind with 503 and a retry hint, and background jobs wait and
try again; anything else is a bug and is reported as one. Both SQLite and PostgreSQL (through
asyncpg) are covered; asyncpg errors raised while connecting reach us unwrapped by SQLAlchemy.
"""

from __future__ import annotations

import sqlalchemy as sa

# SQLSTATE classes and codes that say "not now", not "never": connection exceptions (08),
# transaction rollbacks such as serialization failures and deadlocks (40), insufficient
# resources such as too many connections (53), operator intervention such as a shutdown,
# a restart or a statement timeout (57), and a lock wait that ran out (55P03).
TRANSIENT_CLASSES = ("08", "40", "53", "57")
TRANSIENT_CODES = frozenset({"55P03"})


class DatabaseUnavailable(Exception):
    """The database did not answer in time, or dropped the connection; nothing was written."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(f"the database is not answering ({describe(cause)})")
        self.cause = cause


def _sqlstate(exc: BaseException) -> str | None:
    for candidate in (exc, getattr(exc, "orig", None)):
        code = getattr(candidate, "sqlstate", None) or getattr(candidate, "pgcode", None)
        if isinstance(code, str) and code:
            return code
    return None


def is_unavailable(exc: BaseException) -> bool:
    """Whether `exc` means the database is down or busy for now (so: retry later)."""
    if isinstance(exc, DatabaseUnavailable | OSError | TimeoutError):
        return True  # refused, unreachable, reset, or a connect/command timeout
    code = _sqlstate(exc)
    if code is not None:
        return code[:2] in TRANSIENT_CLASSES or code in TRANSIENT_CODES
    if isinstance(exc, sa.exc.DBAPIError):
        # No SQLSTATE: the driver lost the connection, or SQLite is locked or cannot open
        # its file. A programming error (bad SQL, a constraint) carries a state or is not an
        # OperationalError/InterfaceError.
        return exc.connection_invalidated or isinstance(
            exc, sa.exc.OperationalError | sa.exc.InterfaceError
        )
    # asyncpg's own client-side errors ("connection is closed", "cannot connect now").
    module = type(exc).__module__
    return module.startswith("asyncpg") and "Interface" in type(exc).__name__


def describe(exc: BaseException) -> str:
    """One line naming what went wrong, without SQL or a traceback (for logs and `check`)."""
    cause: BaseException = exc.cause if isinstance(exc, DatabaseUnavailable) else exc
    orig = getattr(cause, "orig", None)
    if isinstance(orig, BaseException):
        cause = orig
    text = str(cause).strip().splitlines()[0] if str(cause).strip() else ""
    return f"{type(cause).__name__}: {text}" if text else type(cause).__name__


_DATABASE_MODULES = ("sqlalchemy", "asyncpg", "aiosqlite", "sqlite3")


def raised_by_database(exc: BaseException) -> bool:
    """Whether `exc` came out of the database layer (not, say, a file the app was reading).

    asyncpg's connect errors are plain OSErrors that SQLAlchemy passes through unwrapped, so
    the type alone cannot tell a refused database from a missing recording; the traceback can.
    """
    if isinstance(exc, DatabaseUnavailable | sa.exc.DBAPIError):
        return True
    tb = exc.__traceback__
    while tb is not None:
        module = str(tb.tb_frame.f_globals.get("__name__", ""))
        if module.split(".", 1)[0] in _DATABASE_MODULES:
            return True
        tb = tb.tb_next
    return False


def database_down(exc: BaseException) -> bool:
    """The database is down, restarting or busy: answer 503 and try again later."""
    return raised_by_database(exc) and is_unavailable(exc)
