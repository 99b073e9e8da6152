"""Roles, database and schemas, as an operator would create them before the first migration.

Per service two roles: `<service>_owner` owns the schema and runs migrations; `<service>_app`
is what the service connects as: it owns nothing, has no BYPASSRLS, and can touch only its
own schema's tables.
"""

import asyncpg

SERVICES_WITH_SCHEMA = ("tenants", "ingest", "query")


def owner_role(service: str) -> str:
    return f"{service}_owner"


def app_role(service: str) -> str:
    return f"{service}_app"


def database_urls(service: str, host: str, port: int, database: str) -> dict[str, str]:
    base = f"postgresql+asyncpg://{{role}}@{host}:{port}/{database}"
    return {
        "DATABASE_URL": base.format(role=app_role(service)),
        "MIGRATION_DATABASE_URL": base.format(role=owner_role(service)),
    }


async def _ensure_role(conn: asyncpg.Connection, name: str) -> None:
    exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", name)
    if not exists:
        await conn.execute(f'CREATE ROLE "{name}" LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB')


async def prepare_database(admin_dsn: str, database: str) -> None:
    """Idempotent: safe to run before every `make dev`."""
    admin = await asyncpg.connect(admin_dsn)
    try:
        for service in SERVICES_WITH_SCHEMA:
            await _ensure_role(admin, owner_role(service))
            await _ensure_role(admin, app_role(service))
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database):
            await admin.execute(f'CREATE DATABASE "{database}"')
    finally:
        await admin.close()

    target = await asyncpg.connect(admin_dsn, database=database)
    try:
        await target.execute("REVOKE ALL ON SCHEMA public FROM PUBLIC")
        for service in SERVICES_WITH_SCHEMA:
            owner, app = owner_role(service), app_role(service)
            await target.execute(f'GRANT CONNECT ON DATABASE "{database}" TO "{owner}", "{app}"')
            await target.execute(f'CREATE SCHEMA IF NOT EXISTS "{service}" AUTHORIZATION "{owner}"')
            await target.execute(f'GRANT USAGE ON SCHEMA "{service}" TO "{app}"')
            await target.execute(
                f'ALTER DEFAULT PRIVILEGES FOR ROLE "{owner}" IN SCHEMA "{service}" '
                f'GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO "{app}"'
            )
            await target.execute(
                f'ALTER DEFAULT PRIVILEGES FOR ROLE "{owner}" IN SCHEMA "{service}" '
                f'GRANT USAGE, SELECT ON SEQUENCES TO "{app}"'
            )
            await target.execute(
                f'ALTER DEFAULT PRIVILEGES FOR ROLE "{owner}" IN SCHEMA "{service}" '
                f'GRANT EXECUTE ON FUNCTIONS TO "{app}"'
            )
    finally:
        await target.close()


async def drop_database(admin_dsn: str, database: str) -> None:
    admin = await asyncpg.connect(admin_dsn)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    finally:
        await admin.close()
