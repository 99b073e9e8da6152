"""The transactional outbox and its relay, on real Postgres (as the application role) and the
real broker. The relay's outbox lives in a schema of the test alone, so what it relays is
exactly what the test wrote; the topics are shared, so messages are told apart by event id."""

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import pytest
from faststream.kafka import KafkaBroker
from sqlalchemy import Table, func, select

from common.bus import OutboxRelay, add_to_outbox, create_broker, outbox_table
from common.bus.outbox import RELAY_SCOPE
from common.db import Database, make_metadata
from common.db.migrations import outbox_table_sql
from common.events import (
    DocumentIndexed,
    DocumentIndexedV1,
    Event,
    UndecodableEvent,
    decode_event,
)
from common.settings import ServiceSettings

COMPANY_A = UUID("00000000-0000-4000-8000-0000000000aa")
COMPANY_B = UUID("00000000-0000-4000-8000-0000000000bb")
TOPIC = DocumentIndexed.topic


@pytest.fixture
async def outbox(scratch_schema: str, owner_connection: asyncpg.Connection) -> Table:
    for statement in outbox_table_sql(scratch_schema):
        await owner_connection.execute(statement)
    return outbox_table(make_metadata(scratch_schema))


@pytest.fixture
async def database(app_database_url: str) -> AsyncIterator[Database]:
    database = Database(app_database_url)
    yield database
    await database.dispose()


@pytest.fixture
async def broker(
    bus_settings: ServiceSettings, bus_topics: tuple[str, ...]
) -> AsyncIterator[KafkaBroker]:
    broker = create_broker(bus_settings)
    await broker.start()
    yield broker
    await broker.stop()


@pytest.fixture
def relay(database: Database, broker: KafkaBroker, outbox: Table) -> OutboxRelay:
    return OutboxRelay(database, broker, outbox)


def document_indexed(company_id: UUID = COMPANY_A, document_id: UUID | None = None) -> Event:
    return DocumentIndexed.new(
        company_id, DocumentIndexedV1(document_id=document_id or uuid4(), chunk_count=4)
    )


async def outbox_rows(database: Database, outbox: Table) -> int:
    async with database.transaction(scope=RELAY_SCOPE) as session:
        count = await session.scalar(select(func.count()).select_from(outbox))
        assert count is not None
        return count


async def published(topic_reader: Any, events: list[Event]) -> list[tuple[bytes, Event]]:
    """The (key, event) of each of `events` found on the topic, in the topic's order."""
    wanted = {event.id for event in events}
    found: list[tuple[bytes, Event]] = []
    for record in await topic_reader.read(TOPIC):
        try:
            event = decode_event(record.value)
        except UndecodableEvent:
            continue
        if event.id in wanted:
            found.append((record.key, event))
    return found


async def test_add_to_outbox_writes_a_row_in_the_callers_transaction(
    database: Database, outbox: Table
) -> None:
    event = document_indexed()
    database.outbox_written.clear()

    async with database.transaction(company_id=COMPANY_A) as session:
        await add_to_outbox(session, outbox, event)
        row = (await session.execute(select(outbox))).one()
        assert not database.outbox_written.is_set()

    assert database.outbox_written.is_set()
    assert row.event_id == event.id
    assert row.company_id == COMPANY_A
    assert row.topic == TOPIC
    assert row.key == event.key()
    assert decode_event(row.body) == event
    async with database.transaction(company_id=COMPANY_B) as session:
        assert await session.scalar(select(func.count()).select_from(outbox)) == 0


async def test_relay_once_publishes_with_the_events_key_and_deletes_the_row(
    database: Database, outbox: Table, relay: OutboxRelay, topic_reader: Any
) -> None:
    event = document_indexed()
    async with database.transaction(company_id=COMPANY_A) as session:
        await add_to_outbox(session, outbox, event)

    assert await relay.relay_once() == 1

    assert await published(topic_reader, [event]) == [(event.key().encode(), event)]
    assert await outbox_rows(database, outbox) == 0
    assert await relay.relay_once() == 0
    assert len(await published(topic_reader, [event])) == 1


async def test_relay_keeps_one_documents_events_in_order_across_companies(
    database: Database, outbox: Table, relay: OutboxRelay, topic_reader: Any
) -> None:
    document_id = uuid4()
    first, second, third = (document_indexed(COMPANY_A, document_id) for _ in range(3))
    other = document_indexed(COMPANY_B)
    async with database.transaction(company_id=COMPANY_A) as session:
        await add_to_outbox(session, outbox, first, second)
    async with database.transaction(company_id=COMPANY_B) as session:
        await add_to_outbox(session, outbox, other)
    async with database.transaction(company_id=COMPANY_A) as session:
        await add_to_outbox(session, outbox, third)

    assert await relay.relay_once() == 4

    found = await published(topic_reader, [first, second, third, other])
    assert [event for _, event in found if event != other] == [first, second, third]
    assert other in [event for _, event in found]
    assert await outbox_rows(database, outbox) == 0


async def test_a_rolled_back_transaction_leaves_nothing_and_publishes_nothing(
    database: Database, outbox: Table, relay: OutboxRelay, topic_reader: Any
) -> None:
    event = document_indexed()
    database.outbox_written.clear()

    async def change_that_fails() -> None:
        async with database.transaction(company_id=COMPANY_A) as session:
            await add_to_outbox(session, outbox, event)
            raise RuntimeError("the change failed")

    with pytest.raises(RuntimeError, match="the change failed"):
        await change_that_fails()

    assert not database.outbox_written.is_set()
    assert await outbox_rows(database, outbox) == 0
    assert await relay.relay_once() == 0
    assert await published(topic_reader, [event]) == []


async def test_the_running_relay_wakes_on_commit(
    database: Database, broker: KafkaBroker, outbox: Table, topic_reader: Any
) -> None:
    # A poll interval far beyond the wait: only the commit's wake-up can publish in time.
    relay = OutboxRelay(database, broker, outbox, poll_interval=600.0)
    relay.start()
    try:
        for _ in range(2):
            # The second event comes once the relay has surely been idle: no first pass to catch it.
            event = document_indexed()
            async with database.transaction(company_id=COMPANY_A) as session:
                await add_to_outbox(session, outbox, event)
            assert await wait_published(topic_reader, event) == [(event.key().encode(), event)]
    finally:
        await relay.stop()
    assert await outbox_rows(database, outbox) == 0


async def wait_published(topic_reader: Any, event: Event) -> list[tuple[bytes, Event]]:
    deadline = time.monotonic() + 30
    while not (found := await published(topic_reader, [event])):
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    return found
