"""The FastStream Kafka broker every service uses, and the topics it needs."""

import logging
from collections.abc import Iterable

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from faststream.kafka import KafkaBroker

from common.events import Event, encode_event
from common.settings import ServiceSettings

logger = logging.getLogger(__name__)

TOPIC_ALREADY_EXISTS = 36


def create_broker(settings: ServiceSettings) -> KafkaBroker:
    return KafkaBroker(
        settings.kafka_bootstrap_servers,
        client_id=settings.service_name,
        acks="all",
        enable_idempotence=settings.kafka_enable_idempotence,
        # Topics are created on purpose (ensure_topics), never by a typo.
        allow_auto_create_topics=False,
        logger=logging.getLogger(f"{settings.service_name}.bus"),
        log_level=logging.DEBUG,
    )


async def ensure_topics(settings: ServiceSettings, topics: Iterable[str]) -> None:
    """Creates the topics (and their dead-letter topics) that do not exist yet."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = sorted(set(topics) - existing)
        if not wanted:
            return
        response = await admin.create_topics(
            [
                NewTopic(name, settings.kafka_topic_partitions, settings.kafka_replication_factor)
                for name in wanted
            ]
        )
        for name, code, message in response.topic_errors:
            if code not in (0, TOPIC_ALREADY_EXISTS):
                raise RuntimeError(f"could not create topic {name}: {code} {message}")
        logger.info("topics created", extra={"topics": wanted})
    finally:
        await admin.close()


async def publish_event(broker: KafkaBroker, event: Event) -> None:
    """Publishes straight to Kafka and waits for the broker's acknowledgement.

    For a service that also changes its database, use the outbox instead.
    """
    await broker.publish(
        encode_event(event),
        topic=event.topic,
        key=event.key().encode(),
        headers={"event-type": event.type, "event-version": str(event.version)},
        correlation_id=str(event.correlation_id),
    )
