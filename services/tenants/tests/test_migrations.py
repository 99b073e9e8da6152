import asyncio
import uuid
from collections.abc import Iterator

import asyncpg
import pytest

from common.db.alembic import downgrade, upgrade
from devstack.database import drop_database, prepare_database
from devstack.pytest_plugin import ADMIN_DSN, migrations_dir, service_database_urls


@pytest.fixture
def scratch_database() -> Iterator[str]:
    """A database of its own: dropping tables under the session's pooled connections would
    break the other tests."""
    name = f"kp_test_migrations_{uuid.uuid4().hex[:8]}"
    asyncio.run(prepare_database(ADMIN_DSN, name))
    yield name
    asyncio.run(drop_database(ADMIN_DSN, name))


def tables_with_forced_rls(database: str) -> dict[str, bool]:
    async def query() -> dict[str, bool]:
        connection = await asyncpg.connect(ADMIN_DSN, database=database)
        try:
            rows = await connection.fetch(
                "SELECT c.relname, c.relrowsecurity AND c.relforcerowsecurity AS forced"
                " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = 'tenants' AND c.relkind = 'r'"
                " AND c.relname <> 'alembic_version'"
            )
        finally:
            await connection.close()
        return {row["relname"]: row["forced"] for row in rows}

    return asyncio.run(query())


def test_downgrade_to_base_and_upgrade_again(scratch_database: str) -> None:
    owner_url = service_database_urls("tenants", scratch_database)["MIGRATION_DATABASE_URL"]
    expected = {"companies": True, "users": True, "outbox": True}

    upgrade(migrations_dir("tenants"), owner_url)
    assert tables_with_forced_rls(scratch_database) == expected

    downgrade(migrations_dir("tenants"), owner_url, "base")
    assert tables_with_forced_rls(scratch_database) == {}

    upgrade(migrations_dir("tenants"), owner_url)
    assert tables_with_forced_rls(scratch_database) == expected
