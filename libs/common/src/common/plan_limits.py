"""The plan limits tenants announces, kept by each service that enforces one of them (ingest:
document characters; query: assistants) in a `company_limits` table of its own schema, so a
check never waits on the tenants service.

`company.created` (at sign-up, before any upload can happen) and `company.plan_changed` carry
the limits. They travel on different topics, so one may overtake the other: each row keeps
when the limits it holds were announced, and an older announcement never overwrites a newer
one. A company with no row is one the service has not heard of yet; what that means is the
enforcing service's decision.
"""

import logging
from datetime import datetime
from uuid import UUID

from faststream.kafka import KafkaBroker
from sqlalchemy import BigInteger, Column, DateTime, MetaData, Table, Uuid, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from common.bus import PermanentFailure, record_processed, subscribe
from common.db import Database
from common.events import CompanyCreated, CompanyPlanChanged, PlanLimitsV1

logger = logging.getLogger(__name__)

LIMIT_NAMES = tuple(PlanLimitsV1.model_fields)


def company_limits_table(metadata: MetaData) -> Table:
    """The table `common.db.migrations.create_company_limits_table` creates."""
    return Table(
        "company_limits",
        metadata,
        Column("company_id", Uuid, primary_key=True),
        *(Column(name, BigInteger, nullable=True) for name in LIMIT_NAMES),
        Column("announced_at", DateTime(timezone=True), nullable=False),
        Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


async def store_limits(
    session: AsyncSession,
    table: Table,
    company_id: UUID,
    limits: PlanLimitsV1,
    announced_at: datetime,
) -> bool:
    """Keeps `limits` unless newer ones are already kept; whether they were kept."""
    values = limits.model_dump()
    statement = insert(table).values(company_id=company_id, announced_at=announced_at, **values)
    stored = await session.execute(
        statement.on_conflict_do_update(
            index_elements=[table.c.company_id],
            set_={**values, "announced_at": announced_at, "updated_at": func.now()},
            where=table.c.announced_at < statement.excluded.announced_at,
        ).returning(table.c.company_id)
    )
    return stored.first() is not None


async def read_limits(session: AsyncSession, table: Table, company_id: UUID) -> PlanLimitsV1 | None:
    """The company's latest known limits; None when it has not been heard of."""
    row = (
        await session.execute(
            select(*(table.c[name] for name in LIMIT_NAMES)).where(table.c.company_id == company_id)
        )
    ).first()
    return None if row is None else PlanLimitsV1(**row._asdict())


async def apply_announcement(
    database: Database,
    *,
    table: Table,
    inbox: Table,
    consumer: str,
    event: CompanyCreated | CompanyPlanChanged,
) -> None:
    """Keeps the limits a company event announces, once per event (the inbox)."""
    limits = event.payload.limits
    if limits is None:
        return  # announced before events carried limits: nothing to learn from it
    if event.payload.company_id != event.company_id:
        raise PermanentFailure("the payload's company is not the envelope's")
    async with database.transaction(event.company_id) as session:
        if not await record_processed(session, inbox, consumer, event):
            return
        if not await store_limits(session, table, event.company_id, limits, event.occurred_at):
            logger.info(
                "older plan limits ignored",
                extra={"company_id": str(event.company_id), "event_id": str(event.id)},
            )


def register(
    broker: KafkaBroker, database: Database, *, table: Table, inbox: Table, service: str
) -> None:
    """Follows `company.created` and `company.plan_changed` into `table`, in consumer groups
    named after `service`."""
    created_group = f"{service}.plan-limits-created"
    changed_group = f"{service}.plan-limits-changed"

    async def on_created(event: CompanyCreated) -> None:
        """Keeps a new company's plan limits."""
        await apply_announcement(
            database, table=table, inbox=inbox, consumer=created_group, event=event
        )

    async def on_plan_changed(event: CompanyPlanChanged) -> None:
        """Keeps a company's plan limits after a change of plan."""
        await apply_announcement(
            database, table=table, inbox=inbox, consumer=changed_group, event=event
        )

    subscribe(broker, group_id=created_group, event_type=CompanyCreated, handler=on_created)
    subscribe(
        broker, group_id=changed_group, event_type=CompanyPlanChanged, handler=on_plan_changed
    )
