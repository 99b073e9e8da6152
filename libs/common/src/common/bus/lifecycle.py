from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

from faststream.kafka import KafkaBroker
from sqlalchemy import Table

from common.bus.broker import ensure_topics
from common.bus.consumer import dead_letter_topic
from common.bus.outbox import OutboxRelay
from common.db import Database
from common.settings import ServiceSettings


@asynccontextmanager
async def running_bus(
    settings: ServiceSettings,
    broker: KafkaBroker,
    *,
    topics: Iterable[str],
    outbox: tuple[Database, Table] | None = None,
) -> AsyncIterator[None]:
    """Creates the topics and their dead-letter topics, starts the broker (subscribers must be
    registered before) and, given a database's outbox, relays it while the block runs."""
    topics = list(topics)
    await ensure_topics(settings, [*topics, *map(dead_letter_topic, topics)])
    await broker.start()
    relay = OutboxRelay(outbox[0], broker, outbox[1]) if outbox else None
    if relay:
        relay.start()
    try:
        yield
    finally:
        if relay:
            await relay.stop()
        await broker.stop()
