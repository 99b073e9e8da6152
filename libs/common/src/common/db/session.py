"""The unit of work: one transaction per request or message, the tenant set inside it."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

# The GUCs the RLS policies read (see common.db.migrations).
COMPANY_SETTING = "app.company_id"
SCOPE_SETTING = "app.scope"


class TenantScopeError(RuntimeError):
    """A transaction was opened without saying whose rows it may touch."""


class Database:
    def __init__(self, url: str, *, pool_size: int = 5) -> None:
        self.engine = create_async_engine(url, pool_size=pool_size, pool_pre_ping=True)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        # Set after a transaction that wrote outbox rows commits, to wake the relay.
        self.outbox_written = asyncio.Event()

    @asynccontextmanager
    async def transaction(
        self, company_id: UUID | None = None, *, scope: str | None = None
    ) -> AsyncIterator[AsyncSession]:
        """Opens a transaction for one company (or a named system scope), commits at the end.

        The tenant is set with `set_config(..., is_local => true)`: it dies with the
        transaction, so a pooled connection can never carry it into someone else's work.
        This is the one place that commits; service code only flushes.
        """
        if (company_id is None) == (scope is None):
            raise TenantScopeError("give exactly one of company_id or scope")
        async with self.sessions() as session:
            async with session.begin():
                if company_id is not None:
                    await session.execute(
                        select(func.set_config(COMPANY_SETTING, str(company_id), True))
                    )
                else:
                    await session.execute(select(func.set_config(SCOPE_SETTING, scope, True)))
                yield session
            if session.info.pop("outbox_written", False):
                self.outbox_written.set()

    async def dispose(self) -> None:
        await self.engine.dispose()
