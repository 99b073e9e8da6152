"""The plan limits a service keeps from tenants' announcements, on a real `company_limits`
table made by `company_limits_table_sql`, used as the application role."""

from collections.abc import AsyncIterator
from datetime import timedelta
from uuid import UUID, uuid4

import asyncpg
import pytest
from sqlalchemy import Table, func, select

from common.bus import PermanentFailure, inbox_table
from common.db import Database, make_metadata
from common.db.migrations import company_limits_table_sql, inbox_table_sql
from common.events import (
    CompanyCreated,
    CompanyCreatedV1,
    CompanyPlanChanged,
    CompanyPlanChangedV1,
    PlanLimitsV1,
)
from common.plan_limits import apply_announcement, company_limits_table, read_limits

CONSUMER = "test.plan-limits"
STARTER = PlanLimitsV1(
    monthly_message_limit=3_000,
    user_limit=3,
    assistant_limit=2,
    document_character_limit=50_000,
    storage_mb_limit=5,
)
BUSINESS = STARTER.model_copy(update={"document_character_limit": 750_000, "assistant_limit": 6})


@pytest.fixture
async def tables(scratch_schema: str, owner_connection: asyncpg.Connection) -> tuple[Table, Table]:
    for statement in [*company_limits_table_sql(scratch_schema), *inbox_table_sql(scratch_schema)]:
        await owner_connection.execute(statement)
    metadata = make_metadata(scratch_schema)
    return company_limits_table(metadata), inbox_table(metadata)


@pytest.fixture
async def database(app_database_url: str) -> AsyncIterator[Database]:
    database = Database(app_database_url, pool_size=2)
    yield database
    await database.dispose()


def created(company_id: UUID, limits: PlanLimitsV1 | None = STARTER) -> CompanyCreated:
    return CompanyCreated.new(
        company_id,
        CompanyCreatedV1(
            company_id=company_id, name="Acme", slug="acme", plan="starter", limits=limits
        ),
    )


def plan_changed(company_id: UUID, limits: PlanLimitsV1 = BUSINESS) -> CompanyPlanChanged:
    return CompanyPlanChanged.new(
        company_id,
        CompanyPlanChangedV1(
            company_id=company_id, old_plan="starter", new_plan="business", limits=limits
        ),
    )


class Follower:
    def __init__(self, database: Database, tables: tuple[Table, Table]) -> None:
        self.database = database
        self.limits, self.inbox = tables

    async def apply(self, event: CompanyCreated | CompanyPlanChanged) -> None:
        await apply_announcement(
            self.database, table=self.limits, inbox=self.inbox, consumer=CONSUMER, event=event
        )

    async def read(self, company_id: UUID) -> PlanLimitsV1 | None:
        async with self.database.transaction(company_id) as session:
            return await read_limits(session, self.limits, company_id)


@pytest.fixture
def follower(database: Database, tables: tuple[Table, Table]) -> Follower:
    return Follower(database, tables)


async def test_a_new_company_and_its_change_of_plan_are_kept(follower: Follower) -> None:
    company_id = uuid4()
    assert await follower.read(company_id) is None

    await follower.apply(created(company_id))
    assert await follower.read(company_id) == STARTER

    await follower.apply(plan_changed(company_id))
    assert await follower.read(company_id) == BUSINESS


async def test_an_older_announcement_arriving_late_changes_nothing(follower: Follower) -> None:
    company_id = uuid4()
    change = plan_changed(company_id)
    late = created(company_id)
    late = late.model_copy(update={"occurred_at": change.occurred_at - timedelta(seconds=1)})

    await follower.apply(change)
    await follower.apply(late)

    assert await follower.read(company_id) == BUSINESS


async def test_a_redelivery_is_applied_once(follower: Follower, database: Database) -> None:
    company_id = uuid4()
    event = created(company_id)
    await follower.apply(event)
    await follower.apply(event)

    async with database.transaction(company_id) as session:
        assert await session.scalar(select(func.count()).select_from(follower.inbox)) == 1
    assert await follower.read(company_id) == STARTER


async def test_an_announcement_without_limits_teaches_nothing(follower: Follower) -> None:
    company_id = uuid4()
    await follower.apply(created(company_id, limits=None))
    assert await follower.read(company_id) is None


async def test_a_payload_for_another_company_is_refused(follower: Follower) -> None:
    company_id, other = uuid4(), uuid4()
    forged = created(company_id).model_copy(update={"company_id": other})
    with pytest.raises(PermanentFailure):
        await follower.apply(forged)
    assert await follower.read(other) is None


async def test_one_company_cannot_read_anothers_limits(follower: Follower) -> None:
    company_id = uuid4()
    await follower.apply(created(company_id))
    async with follower.database.transaction(uuid4()) as session:
        assert await read_limits(session, follower.limits, company_id) is None
        assert await session.scalar(select(func.count()).select_from(follower.limits)) == 0
