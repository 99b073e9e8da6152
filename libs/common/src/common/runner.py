"""The command line every service has: `python -m <service> serve | migrate | downgrade REV`."""

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from common.db import alembic
from common.logging import configure_logging
from common.settings import ServiceSettings


def run_service(
    settings: ServiceSettings,
    create_app: Callable[[], FastAPI],
    migrations_dir: Path | None,
    argv: list[str] | None = None,
) -> int:
    parser = argparse.ArgumentParser(prog=settings.service_name)
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="run the consumers and the HTTP API (the default)")
    if migrations_dir:
        commands.add_parser("migrate", help="upgrade the schema to the newest migration")
        down = commands.add_parser("downgrade", help="downgrade the schema to a revision")
        down.add_argument("revision")
    args = parser.parse_args(argv if argv is not None else sys.argv[1:])

    configure_logging(settings.service_name, settings.log_level)
    if args.command == "migrate" and migrations_dir:
        alembic.upgrade(migrations_dir, settings.migration_database_url)
        return 0
    if args.command == "downgrade" and migrations_dir:
        alembic.downgrade(migrations_dir, settings.migration_database_url, args.revision)
        return 0
    uvicorn.run(
        create_app(),
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=10,
    )
    return 0
