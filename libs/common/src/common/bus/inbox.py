"""The inbox: which events a consumer has already applied, so re-delivery changes nothing."""

from uuid import UUID

from sqlalchemy import Column, DateTime, MetaData, Table, Text, Uuid, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from common.events import Event


def inbox_table(metadata: MetaData) -> Table:
    return Table(
        "inbox",
        metadata,
        Column("consumer", Text, primary_key=True),
        Column("event_id", Uuid, primary_key=True),
        Column("company_id", Uuid, nullable=False),
        Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


async def already_processed(
    session: AsyncSession, inbox: Table, consumer: str, event_id: UUID
) -> bool:
    found = await session.scalar(
        select(inbox.c.event_id).where(inbox.c.consumer == consumer, inbox.c.event_id == event_id)
    )
    return found is not None


async def record_processed(
    session: AsyncSession, inbox: Table, consumer: str, event: Event
) -> bool:
    """Records the event as applied, in the caller's transaction.

    Returns False when another delivery got there first: the caller must then roll back
    (raise), so its effects are not applied twice.
    """
    result = await session.execute(
        insert(inbox)
        .values(consumer=consumer, event_id=event.id, company_id=event.company_id)
        .on_conflict_do_nothing()
        .returning(inbox.c.event_id)
    )
    return result.first() is not None
