"""The Kafka bus: broker factory, consumers that commit after the handler's transaction
with retry then dead-letter, the transactional outbox and its relay, the inbox."""

from common.bus.broker import create_broker, ensure_topics, publish_event
from common.bus.consumer import (
    PermanentFailure,
    RetryPolicy,
    dead_letter_topic,
    subscribe,
    subscribe_fanout,
)
from common.bus.inbox import already_processed, inbox_table, record_processed
from common.bus.lifecycle import running_bus
from common.bus.outbox import OutboxRelay, add_to_outbox, outbox_table

__all__ = [
    "OutboxRelay",
    "PermanentFailure",
    "RetryPolicy",
    "add_to_outbox",
    "already_processed",
    "create_broker",
    "dead_letter_topic",
    "ensure_topics",
    "inbox_table",
    "outbox_table",
    "publish_event",
    "record_processed",
    "running_bus",
    "subscribe",
    "subscribe_fanout",
]
