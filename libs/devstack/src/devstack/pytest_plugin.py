"""Fixtures that start what is real once per test session: the broker, and a database made
for this run with every service's roles and schemas (dropped at the end)."""

import asyncio
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg
import pytest

from devstack.broker import LocalBroker
from devstack.database import database_urls, drop_database, prepare_database

ADMIN_DSN = os.environ.get(
    "TEST_ADMIN_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REPO_ROOT = Path(__file__).resolve().parents[4]


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    broker = LocalBroker()
    broker.start()
    yield broker.bootstrap_servers
    broker.stop()


@contextmanager
def fresh_database(prefix: str) -> Iterator[str]:
    """A database made for the caller, with every service's roles and schemas; dropped after."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    asyncio.run(prepare_database(ADMIN_DSN, name))
    try:
        yield name
    finally:
        asyncio.run(drop_database(ADMIN_DSN, name))


@pytest.fixture(scope="session")
def test_database() -> Iterator[str]:
    with fresh_database("kp_test") as name:
        yield name


@pytest.fixture
def scratch_database() -> Iterator[str]:
    """A database of its own, for migration tests: dropping tables under the session's pooled
    connections would break the other tests."""
    with fresh_database("kp_test_migrations") as name:
        yield name


def forced_rls_tables(database: str, schema: str) -> dict[str, bool]:
    """The schema's tables (but alembic's), each with whether RLS is on and forced."""

    async def query() -> dict[str, bool]:
        connection = await asyncpg.connect(ADMIN_DSN, database=database)
        try:
            rows = await connection.fetch(
                "SELECT c.relname, c.relrowsecurity AND c.relforcerowsecurity AS forced"
                " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = $1 AND c.relkind = 'r' AND c.relname <> 'alembic_version'",
                schema,
            )
        finally:
            await connection.close()
        return {row["relname"]: row["forced"] for row in rows}

    return asyncio.run(query())


def run_sql(database: str, sql: str, *args: object) -> list[dict[str, object]]:
    """Runs one statement as the administrator (no RLS) and returns its rows."""

    async def run() -> list[dict[str, object]]:
        connection = await asyncpg.connect(ADMIN_DSN, database=database)
        try:
            return [dict(row) for row in await connection.fetch(sql, *args)]
        finally:
            await connection.close()

    return asyncio.run(run())


def service_database_urls(service: str, database: str) -> dict[str, str]:
    """DATABASE_URL (the app role) and MIGRATION_DATABASE_URL (the owner) for a service."""
    return database_urls(service, "127.0.0.1", 5432, database)


def migrations_dir(service: str) -> Path:
    return REPO_ROOT / "services" / service / "migrations"


@pytest.fixture(scope="session")
def migrated_database(test_database: str) -> dict[str, dict[str, str]]:
    """The test database with every service's migrations applied; URLs by service."""
    from common.db import alembic

    urls = {}
    for service in ("tenants", "ingest", "query"):
        urls[service] = service_database_urls(service, test_database)
        alembic.upgrade(migrations_dir(service), urls[service]["MIGRATION_DATABASE_URL"])
    return urls


@pytest.fixture(scope="session")
def embedder() -> object:
    """The real packaged embedding model, loaded once per session."""
    from common.embedding import Embedder

    return Embedder()
