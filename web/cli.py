"""The `telebridge` command: serve, token create/list/revoke, user add,
node list/drain/resume/forget, check (the README lists them)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

from schedules.accounts import LANGUAGES, Accounts, TokenInfo, pick_token
from schedules.db import make_engine, migrate
from schedules.errors import ScheduleError
from schedules.timeutil import utc_now
from web.access.security import (
    new_password_hash,
    new_token,
    set_password_cost,
    token_digest,
    token_prefix,
)
from web.data_dir import private_dir, private_sqlite
from web.logs import configure_logging
from web.settings import Settings

# A token made without --days stops working after this many: a forgotten token does not stay a
# way in for ever.
DEFAULT_TOKEN_DAYS = 90


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="telebridge", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the server")
    serve.add_argument("--host", help="listen address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="listen port (default 8080)")
    serve.add_argument("--data-dir", type=Path, help="data directory (default ./data)")
    serve.add_argument(
        "--demo",
        action="store_true",
        help="seed demo studios, logins and a booking into an empty database",
    )

    token = sub.add_parser("token", help="API bearer tokens")
    token_sub = token.add_subparsers(dest="token_command", required=True)
    create = token_sub.add_parser("create", help="print a new bearer token")
    create.add_argument(
        "--role", required=True, choices=["admin", "producer", "operator", "viewer"]
    )
    create.add_argument("--studio", help="the operator's studio id")
    create.add_argument("--name", help="who the token is for (shown in the audit log)")
    create.add_argument(
        "--days",
        type=_positive,
        default=DEFAULT_TOKEN_DAYS,
        help=f"expire after this many days (default {DEFAULT_TOKEN_DAYS})",
    )
    create.add_argument("--data-dir", type=Path)
    listing = token_sub.add_parser(
        "list", help="every token: id, prefix, name, role, expiry, last use, state"
    )
    listing.add_argument("--data-dir", type=Path)
    revoke = token_sub.add_parser("revoke", help="revoke a token for good")
    revoke.add_argument("token", help="the token's id, or its start as `token list` shows it")
    revoke.add_argument("--data-dir", type=Path)

    user = sub.add_parser("user", help="logins")
    user_sub = user.add_subparsers(dest="user_command", required=True)
    add = user_sub.add_parser("add", help="add a login; password read from standard input")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=["admin", "producer", "operator", "viewer"])
    add.add_argument("--studio", help="the operator's studio id")
    add.add_argument(
        "--language", default="", choices=LANGUAGES, help="default: the browser's, until chosen"
    )
    add.add_argument("--data-dir", type=Path)

    node = sub.add_parser("node", help="the nodes of a cluster on one database")
    node_sub = node.add_subparsers(dest="node_command", required=True)
    node_sub.add_parser("list", help="every node: address, rooms, capacity, state").add_argument(
        "--data-dir", type=Path
    )
    for verb, what in (
        ("drain", "take no new rooms; its rooms move to other nodes once unused, or at its stop"),
        ("resume", "take rooms again"),
        ("forget", "take a dead node that is not coming back out of the list (master control)"),
    ):
        command = node_sub.add_parser(verb, help=what)
        command.add_argument("node", help="the node's id, as `node list` shows it")
        command.add_argument("--data-dir", type=Path)

    check = sub.add_parser(
        "check",
        help="say whether the database, data directory and STUN/TURN servers in force work",
    )
    check.add_argument("--data-dir", type=Path)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    args = _parser().parse_args(argv)
    settings = Settings.load(
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
        data_dir=getattr(args, "data_dir", None),
    )
    try:
        if args.command == "serve":
            return _serve(settings, args.demo)
        if args.command == "check":
            return asyncio.run(_check(settings))
        if args.command == "node":
            from web.cluster.commands import node_command

            return asyncio.run(node_command(settings, args))
        if args.command == "token":
            return asyncio.run(TOKEN_COMMANDS[args.token_command](settings, args))
        return asyncio.run(_user_add(settings, args))
    except ScheduleError as exc:
        print(f"telebridge: {exc}", file=sys.stderr)
        return 2


def _serve(settings: Settings, demo: bool) -> int:
    configure_logging(settings.log_format)

    # Here, not at the top: the app brings aiohttp and the media stack (aiortc, PyAV), and the
    # token and user commands should start at once (aiohttp alone is half their start-up).
    from aiohttp import web

    from web.app import make_app
    from web.demo import DEMO_PASSWORD, seed_demo
    from web.services import ACCOUNTS, BOOKINGS, OUTAGE

    async def app() -> web.Application:
        application = await make_app(settings)
        url = f"http://{settings.host}:{settings.port}/"
        print(f"Telebridge on {url} (data in {settings.data_dir.resolve()})", flush=True)
        if demo:
            if not application[OUTAGE].watch.migrated:
                print(
                    "The database is not answering: demo data not seeded; serving anyway.",
                    flush=True,
                )
                return application
            logins = await seed_demo(application[BOOKINGS], application[ACCOUNTS], utc_now())
            if logins:
                print(
                    "Demo studios and a booking seeded. Demo logins, all with password "
                    f"'{DEMO_PASSWORD}':",
                    flush=True,
                )
                for login in logins:
                    print(f"  {login}", flush=True)
            else:
                print(
                    "Database not empty: demo data left as it is. Demo logins (if seeded "
                    f"earlier) use the password '{DEMO_PASSWORD}'.",
                    flush=True,
                )
        return application

    web.run_app(app(), host=settings.host, port=settings.port, print=None)
    return 0


async def _check(settings: Settings) -> int:
    from web.check import report, run_checks

    text, code = report(await run_checks(settings))
    print(text, flush=True)
    return code


async def _open(settings: Settings) -> Accounts:
    # The first command on a new host may be this one: it creates them as `serve` would.
    private_dir(settings.data_dir)
    private_sqlite(settings.database)
    set_password_cost(settings.password_cost)
    engine = make_engine(settings.database)
    await migrate(engine)
    return Accounts(engine)


async def _token_create(settings: Settings, args: argparse.Namespace) -> int:
    accounts = await _open(settings)
    try:
        token = new_token()
        now = utc_now()
        expires = now + timedelta(days=args.days)
        name = args.name or f"{args.role} token"
        record = await accounts.add_token(
            token_digest(token),
            name,
            args.role,
            now,
            studio_id=args.studio,
            expires_at=expires,
            prefix=token_prefix(token),
        )
        print(token)
        # Only the token goes to standard output (for scripts); the rest is for the person.
        print(
            f"token {record.id} ({token_prefix(token)}...) expires {_when(expires)}; "
            "keep it now: it is never shown again",
            file=sys.stderr,
        )
    finally:
        await accounts.engine.dispose()
    return 0


TOKEN_COLUMNS = ("id", "prefix", "name", "role", "studio", "created", "expires", "last used")


def token_table(tokens: list[TokenInfo], now: datetime) -> str:
    """`token list`'s text: one row per token under a header, columns aligned, times in UTC."""
    rows = [[*TOKEN_COLUMNS, "state"]]
    for info in tokens:
        t = info.token
        rows.append(
            [
                str(t.id),
                info.prefix or "-",
                t.name,
                t.role.value,
                t.studio_id or "-",
                _when(t.created_at),
                _when(t.expires_at) if t.expires_at else "never",
                _when(info.last_used_at) if info.last_used_at else "never",
                info.state(now),
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def _when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC") if at else "-"


async def _token_list(settings: Settings, args: argparse.Namespace) -> int:
    accounts = await _open(settings)
    try:
        print(token_table(await accounts.tokens(), utc_now()))
    finally:
        await accounts.engine.dispose()
    return 0


async def _token_revoke(settings: Settings, args: argparse.Namespace) -> int:
    accounts = await _open(settings)
    try:
        info = pick_token(await accounts.tokens(), args.token)
        t = info.token
        named = f"token {t.id} ({info.prefix or 'no prefix'}, {t.name})"
        if await accounts.revoke_token(t.id):
            print(f"revoked {named}")
        else:
            print(f"{named} was already revoked")
    finally:
        await accounts.engine.dispose()
    return 0


TOKEN_COMMANDS = {"create": _token_create, "list": _token_list, "revoke": _token_revoke}


async def _user_add(settings: Settings, args: argparse.Namespace) -> int:
    password = sys.stdin.readline().rstrip("\r\n")
    if len(password) < 8:
        print(
            "telebridge: the password (first line of standard input) needs 8 characters or more",
            file=sys.stderr,
        )
        return 2
    accounts = await _open(settings)
    try:
        hashed = await new_password_hash(password)
        user = await accounts.add_user(
            args.name, args.role, hashed, utc_now(), studio_id=args.studio, language=args.language
        )
        print(f"added {user.name} ({user.role.value})")
    finally:
        await accounts.engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
