"""Consuming events safely, written once for every service.

FastStream's Kafka defaults are not what we want: it commits before the handler runs, and a
nack seeks back at once (a tight loop). Here a subscriber decodes the envelope itself, calls
the typed handler, retries failures with backoff, and dead-letters what still fails, with the
error, to `<topic>.dlt`. The offset is committed only after that: after the handler's
transaction committed, or after the message is safely on the dead-letter topic. If even the
dead-letter publish fails, nothing is committed and the message comes again.
"""

import asyncio
import logging
import traceback
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaRouter
from faststream.kafka.annotations import KafkaBroker as ContextBroker
from faststream.kafka.annotations import KafkaMessage

from common.events import Event, UndecodableEvent, decode_event

logger = logging.getLogger(__name__)

E = TypeVar("E", bound=Event)


class PermanentFailure(Exception):
    """Raised by a handler for a failure retrying cannot fix: dead-lettered at once."""


@dataclass(frozen=True)
class RetryPolicy:
    delays: Sequence[float] = (0.5, 2.0, 5.0)
    """Seconds to wait before each retry; one attempt more than there are delays."""


def dead_letter_topic(topic: str) -> str:
    return f"{topic}.dlt"


def subscribe(
    broker: KafkaBroker | KafkaRouter,
    *,
    group_id: str,
    event_type: type[E],
    handler: Callable[[E], Awaitable[None]],
    retry: RetryPolicy = RetryPolicy(),
    topic: str | None = None,
) -> None:
    """Registers `handler` for `event_type` on its topic (or `topic`), in consumer group
    `group_id`."""
    topic = topic or event_type.topic

    async def dead_letter(
        broker: KafkaBroker, message: KafkaMessage, reason: str, error: str
    ) -> None:
        raw = message.raw_message
        assert not isinstance(raw, tuple)
        await broker.publish(
            message.body,
            topic=dead_letter_topic(topic),
            key=raw.key,
            headers={
                "dlt-reason": reason,
                "dlt-error": error[-4000:],
                "dlt-consumer-group": group_id,
                "dlt-source": f"{raw.topic}/{raw.partition}/{raw.offset}",
            },
        )
        logger.error(
            "message dead-lettered",
            extra={"topic": topic, "group_id": group_id, "reason": reason, "error": error[-500:]},
        )

    async def consume(message: KafkaMessage, bus: ContextBroker) -> None:
        try:
            event = decode_event(message.body)
        except UndecodableEvent as exc:
            await dead_letter(bus, message, "undecodable", str(exc))
            return
        if not isinstance(event, event_type):
            await dead_letter(bus, message, "unexpected-type", f"{event.type} v{event.version}")
            return
        attempts = len(retry.delays) + 1
        for attempt in range(1, attempts + 1):
            try:
                await handler(event)
                return
            except PermanentFailure as exc:
                await dead_letter(bus, message, "permanent-failure", str(exc))
                return
            except Exception:
                error = traceback.format_exc()
                if attempt == attempts:
                    await dead_letter(bus, message, "retries-exhausted", error)
                    return
                logger.warning(
                    "handler failed; retrying",
                    extra={"topic": topic, "event_id": str(event.id), "attempt": attempt},
                    exc_info=True,
                )
                await asyncio.sleep(retry.delays[attempt - 1])

    consume.__name__ = f"{group_id}__{topic}".replace(".", "_").replace("-", "_")
    consume.__doc__ = handler.__doc__
    broker.subscriber(
        topic,
        group_id=group_id,
        ack_policy=AckPolicy.NACK_ON_ERROR,
        auto_offset_reset="earliest",
        title=f"{topic}:{group_id}",
        description=handler.__doc__,
    )(consume)


def subscribe_fanout(
    broker: KafkaBroker,
    *,
    topic: str,
    event_type: type[E] | tuple[type[E], ...],
    handler: Callable[[E], None],
    title: str,
    from_beginning: bool = False,
) -> None:
    """Every replica reads every message from now on: no consumer group, nothing committed.

    For in-memory fan-out to this process's waiting requests (answers, live status); a
    message this process cannot decode is not its to dead-letter, so it is skipped.
    `from_beginning` replays the topic first, to rebuild in-memory state (suspensions).
    """

    async def consume(message: KafkaMessage) -> None:
        try:
            event = decode_event(message.body)
        except UndecodableEvent:
            logger.warning("skipped an undecodable message", extra={"topic": topic})
            return
        if isinstance(event, event_type):
            handler(event)

    consume.__name__ = f"fanout__{topic}".replace(".", "_")
    broker.subscriber(
        topic,
        group_id=None,
        auto_offset_reset="earliest" if from_beginning else "latest",
        ack_policy=AckPolicy.MANUAL,
        title=title,
        description=handler.__doc__,
    )(consume)
