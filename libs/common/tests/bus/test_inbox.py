"""The inbox, on a real `inbox` table made by `inbox_table_sql`, used as the application role."""

from collections.abc import AsyncIterator
from uuid import UUID, uuid4

import asyncpg
import pytest
from sqlalchemy import Table, func, select
from sqlalchemy.exc import DBAPIError

from common.bus import already_processed, inbox_table, record_processed
from common.db import Database, make_metadata
from common.db.migrations import inbox_table_sql
from common.events import QuestionAsked, QuestionAskedV1

COMPANY_A = UUID("00000000-0000-4000-8000-0000000000aa")
COMPANY_B = UUID("00000000-0000-4000-8000-0000000000bb")
CONSUMER = "query.answering"


@pytest.fixture
async def inbox(scratch_schema: str, owner_connection: asyncpg.Connection) -> Table:
    for statement in inbox_table_sql(scratch_schema):
        await owner_connection.execute(statement)
    return inbox_table(make_metadata(scratch_schema))


@pytest.fixture
async def database(app_database_url: str) -> AsyncIterator[Database]:
    database = Database(app_database_url, pool_size=1)
    yield database
    await database.dispose()


def question_asked(company_id: UUID = COMPANY_A) -> QuestionAsked:
    return QuestionAsked.new(
        company_id,
        QuestionAskedV1(question_id=uuid4(), question="Who approves leave?", asked_by=uuid4()),
    )


async def test_first_delivery_is_recorded_and_a_redelivery_is_not(
    database: Database, inbox: Table
) -> None:
    event = question_asked()

    async with database.transaction(company_id=COMPANY_A) as session:
        assert not await already_processed(session, inbox, CONSUMER, event.id)
        assert await record_processed(session, inbox, CONSUMER, event) is True
        assert await already_processed(session, inbox, CONSUMER, event.id)

    async with database.transaction(company_id=COMPANY_A) as session:
        assert await already_processed(session, inbox, CONSUMER, event.id)
        assert await record_processed(session, inbox, CONSUMER, event) is False

    async with database.transaction(company_id=COMPANY_A) as session:
        assert await session.scalar(select(func.count()).select_from(inbox)) == 1


async def test_each_consumer_has_its_own_record(database: Database, inbox: Table) -> None:
    event = question_asked()

    async with database.transaction(company_id=COMPANY_A) as session:
        assert await record_processed(session, inbox, CONSUMER, event) is True
        assert not await already_processed(session, inbox, "query.indexing", event.id)
        assert await record_processed(session, inbox, "query.indexing", event) is True


async def test_a_rolled_back_transaction_records_nothing(database: Database, inbox: Table) -> None:
    event = question_asked()

    async def fail_after_recording() -> None:
        async with database.transaction(company_id=COMPANY_A) as session:
            assert await record_processed(session, inbox, CONSUMER, event) is True
            raise RuntimeError("the effects failed")

    with pytest.raises(RuntimeError, match="the effects failed"):
        await fail_after_recording()

    async with database.transaction(company_id=COMPANY_A) as session:
        assert not await already_processed(session, inbox, CONSUMER, event.id)
        assert await record_processed(session, inbox, CONSUMER, event) is True


async def test_another_company_cannot_see_the_record(database: Database, inbox: Table) -> None:
    event = question_asked(COMPANY_A)
    async with database.transaction(company_id=COMPANY_A) as session:
        assert await record_processed(session, inbox, CONSUMER, event) is True

    async with database.transaction(company_id=COMPANY_B) as session:
        assert not await already_processed(session, inbox, CONSUMER, event.id)
        assert await session.scalar(select(func.count()).select_from(inbox)) == 0


async def test_a_company_cannot_record_another_companys_event(
    database: Database, inbox: Table
) -> None:
    async def record_in_the_wrong_company() -> None:
        async with database.transaction(company_id=COMPANY_B) as session:
            await record_processed(session, inbox, CONSUMER, question_asked(COMPANY_A))

    with pytest.raises(DBAPIError, match="row-level security policy"):
        await record_in_the_wrong_company()
