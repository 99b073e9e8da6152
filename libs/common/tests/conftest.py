"""Fixtures of the kit's own tests, on the real parts: the local broker and PostgreSQL.

Database tests connect as `ingest_app` (no table ownership, no BYPASSRLS); tables are made
by `ingest_owner`, as a migration would make them.
"""

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from uuid import uuid4

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from common.bus import dead_letter_topic, ensure_topics
from common.events import ALL_TOPICS
from common.settings import ServiceSettings
from devstack.database import app_role, database_urls, owner_role
from devstack.pytest_plugin import ADMIN_DSN

SERVICE = "ingest"
OWNER = owner_role(SERVICE)
APP = app_role(SERVICE)


def asyncpg_dsn(role: str, database: str) -> str:
    return f"postgresql://{role}@127.0.0.1:5432/{database}"


@pytest.fixture(scope="session")
def app_database_url(test_database: str) -> str:
    """The URL the service itself would use: the application role."""
    return database_urls(SERVICE, "127.0.0.1", 5432, test_database)["DATABASE_URL"]


@pytest.fixture(scope="session")
def owner_database_url(test_database: str) -> str:
    return database_urls(SERVICE, "127.0.0.1", 5432, test_database)["MIGRATION_DATABASE_URL"]


@pytest.fixture
async def owner_connection(test_database: str) -> AsyncIterator[asyncpg.Connection]:
    """The schema owner's connection, for what a migration does."""
    connection = await asyncpg.connect(asyncpg_dsn(OWNER, test_database))
    yield connection
    await connection.close()


@pytest.fixture
async def scratch_schema(test_database: str) -> AsyncIterator[str]:
    """A schema of this test alone, owned by `ingest_owner` with `ingest_app` granted DML the
    way devstack grants it on the service schemas; dropped afterwards."""
    schema = f"commontest_{uuid4().hex[:12]}"
    admin = await asyncpg.connect(ADMIN_DSN, database=test_database)
    try:
        await admin.execute(f'CREATE SCHEMA "{schema}" AUTHORIZATION "{OWNER}"')
        await admin.execute(f'GRANT USAGE ON SCHEMA "{schema}" TO "{APP}"')
        await admin.execute(
            f'ALTER DEFAULT PRIVILEGES FOR ROLE "{OWNER}" IN SCHEMA "{schema}" '
            f'GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO "{APP}"'
        )
        await admin.execute(
            f'ALTER DEFAULT PRIVILEGES FOR ROLE "{OWNER}" IN SCHEMA "{schema}" '
            f'GRANT USAGE, SELECT ON SEQUENCES TO "{APP}"'
        )
    finally:
        await admin.close()
    yield schema
    admin = await asyncpg.connect(ADMIN_DSN, database=test_database)
    try:
        await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
    finally:
        await admin.close()


@pytest.fixture(scope="session")
def bus_settings(kafka_bootstrap: str) -> ServiceSettings:
    return ServiceSettings(service_name="common-tests", kafka_bootstrap_servers=kafka_bootstrap)


@pytest.fixture(scope="session")
async def bus_topics(bus_settings: ServiceSettings) -> tuple[str, ...]:
    """Every event topic and its dead-letter topic exist before a test publishes."""
    topics = (*ALL_TOPICS, *(dead_letter_topic(topic) for topic in ALL_TOPICS))
    await ensure_topics(bus_settings, topics)
    return topics


async def _wait_until(condition: Callable[[], bool], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {within}s for {what}")
        await asyncio.sleep(0.05)


@pytest.fixture(scope="session")
def wait_until() -> Callable[[Callable[[], bool], float, str], Awaitable[None]]:
    """Polls a condition; the timeout is generous, it is not what a test measures."""
    return _wait_until


class TopicReader:
    """Reads a topic from its beginning to its current end, outside any consumer group."""

    def __init__(self, bootstrap_servers: str) -> None:
        self.bootstrap_servers = bootstrap_servers

    @staticmethod
    def headers(record: ConsumerRecord[Any, Any]) -> dict[str, str]:
        return {name: value.decode() for name, value in record.headers}

    async def read(self, topic: str) -> list[ConsumerRecord[bytes, bytes]]:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap_servers,
            group_id=None,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await consumer.start()
        try:
            await consumer.topics()
            partitions = [
                TopicPartition(topic, partition)
                for partition in sorted(consumer.partitions_for_topic(topic) or ())
            ]
            assert partitions, f"topic {topic} does not exist"
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            end = await consumer.end_offsets(partitions)
            records: list[ConsumerRecord[bytes, bytes]] = []
            deadline = time.monotonic() + 30
            while [tp for tp in partitions if await consumer.position(tp) < end[tp]]:
                if time.monotonic() > deadline:
                    raise AssertionError(f"could not read {topic} to its end")
                batches = await consumer.getmany(timeout_ms=500)
                for batch in batches.values():
                    records.extend(batch)
            return records
        finally:
            await consumer.stop()

    async def wait_for(
        self,
        topic: str,
        match: Callable[[ConsumerRecord[bytes, bytes]], bool],
        within: float = 60.0,
    ) -> ConsumerRecord[bytes, bytes]:
        deadline = time.monotonic() + within
        while True:
            found = [record for record in await self.read(topic) if match(record)]
            if found:
                assert len(found) == 1, f"{len(found)} matching records on {topic}"
                return found[0]
            if time.monotonic() > deadline:
                raise AssertionError(f"no matching record on {topic} after {within}s")
            await asyncio.sleep(0.5)


@pytest.fixture(scope="session")
def topic_reader(kafka_bootstrap: str) -> TopicReader:
    return TopicReader(kafka_bootstrap)
