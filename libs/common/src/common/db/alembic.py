"""Runs a service's Alembic migrations as the schema owner, version table in its own schema."""

import asyncio
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine


def _config(migrations_dir: Path, url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.attributes["url"] = url
    return config


def upgrade(migrations_dir: Path, url: str, revision: str = "head") -> None:
    command.upgrade(_config(migrations_dir, url), revision)


def downgrade(migrations_dir: Path, url: str, revision: str) -> None:
    command.downgrade(_config(migrations_dir, url), revision)


def run_env(metadata: MetaData) -> None:
    """The body of every service's `migrations/env.py`."""
    url = context.config.attributes["url"]

    def run(connection: Connection) -> None:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            version_table_schema=metadata.schema,
        )
        with context.begin_transaction():
            context.run_migrations()

    async def main() -> None:
        engine = create_async_engine(url, poolclass=pool.NullPool)
        async with engine.connect() as connection:
            await connection.run_sync(run)
            await connection.commit()
        await engine.dispose()

    asyncio.run(main())
