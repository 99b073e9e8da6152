"""`python -m tenants operators ...`: the platform operator's accounts, managed from a shell
with access to the service's database (e.g. `kubectl exec` into a tenants pod).

    python -m tenants operators create --email ops@example.com   (password: prompt or
                                                                   OPERATOR_PASSWORD)
    python -m tenants operators list
    python -m tenants operators deactivate --email ops@example.com
    python -m tenants operators reactivate --email ops@example.com
"""

import argparse
import asyncio
import getpass
import os
import sys

from common.db import Database
from tenants.operators import service
from tenants.settings import TenantsSettings

MIN_PASSWORD = 12


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m tenants operators")
    commands = root.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create", help="add a platform operator")
    create.add_argument("--email", required=True)
    commands.add_parser("list", help="list platform operators")
    for name in ("deactivate", "reactivate"):
        command = commands.add_parser(name, help=f"{name} a platform operator")
        command.add_argument("--email", required=True)
    return root


def _password() -> str:
    password = os.environ.get("OPERATOR_PASSWORD") or getpass.getpass("Password: ")
    if len(password) < MIN_PASSWORD:
        raise SystemExit(f"the password needs at least {MIN_PASSWORD} characters")
    return password


async def _run(args: argparse.Namespace, database: Database) -> int:
    if args.command == "create":
        try:
            operator = await service.create_operator(database, args.email, _password())
        except service.OperatorExists:
            print(f"an operator with the email {args.email} already exists", file=sys.stderr)
            return 1
        print(f"created operator {operator.email} ({operator.id})")
    elif args.command == "list":
        for operator in await service.list_operators(database):
            state = "active" if operator.is_active else "inactive"
            print(f"{operator.id}  {operator.email}  {state}")
    else:
        if not await service.set_operator_active(
            database, args.email, args.command == "reactivate"
        ):
            print(f"no operator with the email {args.email}", file=sys.stderr)
            return 1
        print(f"{args.command}d {args.email}")
    return 0


async def run(argv: list[str], settings: TenantsSettings) -> int:
    args = parser().parse_args(argv)
    database = Database(settings.database_url, pool_size=1)
    try:
        return await _run(args, database)
    finally:
        await database.dispose()


def main(argv: list[str]) -> int:
    return asyncio.run(run(argv, TenantsSettings()))
