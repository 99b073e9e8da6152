"""The transactional outbox: an event is written in the same transaction as the change it
announces, and a relay publishes it to Kafka afterwards. Nothing is announced that did not
happen, and nothing that happened goes unannounced."""

import asyncio
import contextlib
import logging

from faststream.kafka import KafkaBroker
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    LargeBinary,
    MetaData,
    Table,
    Text,
    Uuid,
    delete,
    func,
    insert,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from common.db import Database
from common.events import Event, encode_event

logger = logging.getLogger(__name__)

RELAY_SCOPE = "outbox_relay"


def outbox_table(metadata: MetaData) -> Table:
    return Table(
        "outbox",
        metadata,
        Column("sequence", BigInteger, primary_key=True, autoincrement=True),
        Column("event_id", Uuid, nullable=False, unique=True),
        Column("company_id", Uuid, nullable=False),
        Column("topic", Text, nullable=False),
        Column("key", Text, nullable=False),
        Column("body", LargeBinary, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


async def add_to_outbox(session: AsyncSession, outbox: Table, *events: Event) -> None:
    """Queues events for publication when the caller's transaction commits."""
    if not events:
        return
    await session.execute(
        insert(outbox),
        [
            {
                "event_id": event.id,
                "company_id": event.company_id,
                "topic": event.topic,
                "key": event.key(),
                "body": encode_event(event),
            }
            for event in events
        ],
    )
    session.info["outbox_written"] = True


class OutboxRelay:
    """Publishes outbox rows in order, then deletes them; wakes on commit, polls as a fallback.

    Rows are locked with SKIP LOCKED, so several replicas can relay side by side. A crash
    between publishing and deleting publishes again: consumers are idempotent.
    """

    def __init__(
        self,
        database: Database,
        broker: KafkaBroker,
        outbox: Table,
        *,
        batch_size: int = 100,
        poll_interval: float = 1.0,
    ) -> None:
        self.database = database
        self.broker = broker
        self.outbox = outbox
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self._task: asyncio.Task[None] | None = None

    async def relay_once(self) -> int:
        """Publishes one batch; returns how many rows it published."""
        async with self.database.transaction(scope=RELAY_SCOPE) as session:
            rows = (
                await session.execute(
                    select(
                        self.outbox.c.sequence,
                        self.outbox.c.topic,
                        self.outbox.c.key,
                        self.outbox.c.body,
                    )
                    .order_by(self.outbox.c.sequence)
                    .limit(self.batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not rows:
                return 0
            for row in rows:
                await self.broker.publish(row.body, topic=row.topic, key=row.key.encode())
            await session.execute(
                delete(self.outbox).where(
                    self.outbox.c.sequence.in_([row.sequence for row in rows])
                )
            )
        return len(rows)

    async def run(self) -> None:
        backoff = self.poll_interval
        while True:
            try:
                while await self.relay_once() == self.batch_size:
                    pass
                backoff = self.poll_interval
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("outbox relay failed; retrying")
                backoff = min(backoff * 2, 30.0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.database.outbox_written.wait(), backoff)
            self.database.outbox_written.clear()

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name="outbox-relay")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
