"""The `telebridge` command: serve, token create, user add, check (the README lists them)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from aiohttp import web

from schedules.accounts import Accounts
from schedules.db import make_engine, migrate
from schedules.errors import ScheduleError
from schedules.timeutil import utc_now
from web.access.security import hash_password, new_token, token_digest
from web.app import make_app
from web.demo import DEMO_PASSWORD, seed_demo
from web.logs import configure_logging
from web.services import ACCOUNTS, BOOKINGS, OUTAGE
from web.settings import Settings


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
    create.add_argument("--days", type=int, help="expire after this many days (default never)")
    create.add_argument("--data-dir", type=Path)

    user = sub.add_parser("user", help="logins")
    user_sub = user.add_subparsers(dest="user_command", required=True)
    add = user_sub.add_parser("add", help="add a login; password read from standard input")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=["admin", "producer", "operator", "viewer"])
    add.add_argument("--studio", help="the operator's studio id")
    add.add_argument("--language", default="en", choices=["en", "az", "tr"])
    add.add_argument("--data-dir", type=Path)

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
        if args.command == "token":
            return asyncio.run(_token_create(settings, args))
        return asyncio.run(_user_add(settings, args))
    except ScheduleError as exc:
        print(f"telebridge: {exc}", file=sys.stderr)
        return 2


def _serve(settings: Settings, demo: bool) -> int:
    configure_logging(settings.log_format)

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
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.database)
    await migrate(engine)
    return Accounts(engine)


async def _token_create(settings: Settings, args: argparse.Namespace) -> int:
    accounts = await _open(settings)
    try:
        token = new_token()
        now = utc_now()
        expires = now + timedelta(days=args.days) if args.days else None
        name = args.name or f"{args.role} token"
        await accounts.add_token(
            token_digest(token), name, args.role, now, studio_id=args.studio, expires_at=expires
        )
        print(token)
    finally:
        await accounts.engine.dispose()
    return 0


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
        hashed = await asyncio.get_running_loop().run_in_executor(None, hash_password, password)
        user = await accounts.add_user(
            args.name, args.role, hashed, utc_now(), studio_id=args.studio, language=args.language
        )
        print(f"added {user.name} ({user.role.value})")
    finally:
        await accounts.engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
