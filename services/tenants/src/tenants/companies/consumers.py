"""Kafka handlers of the companies domain: decode (done by common.bus.subscribe), call the
service in one transaction, done."""

from faststream.kafka import KafkaBroker

from common.bus import subscribe
from common.db import Database
from common.events import DocumentStorageReleased
from tenants.companies import service


def register(broker: KafkaBroker, database: Database) -> None:
    async def on_storage_released(event: DocumentStorageReleased) -> None:
        """Gives back the storage of a deleted document's files, or of an upload ingest ended
        as a duplicate."""
        async with database.transaction(event.company_id) as session:
            await service.give_back_document_storage(session, event)

    subscribe(
        broker,
        group_id=service.STORAGE_RELEASED_CONSUMER,
        event_type=DocumentStorageReleased,
        handler=on_storage_released,
    )
