"""Kafka handlers: decode (done by common.bus.subscribe), call the service, done."""

from faststream.kafka import KafkaBroker

from common.bus import subscribe
from common.events import DocumentDeleted, DocumentIndexed, DocumentPurged, DocumentUploaded
from ingest.documents import service


def register(broker: KafkaBroker, pipeline: service.Pipeline) -> None:
    async def on_uploaded(event: DocumentUploaded) -> None:
        """Extracts, chunks and embeds an uploaded document; publishes its embedded chunks."""
        await service.process_upload(pipeline, event)

    async def on_indexed(event: DocumentIndexed) -> None:
        """Marks a document ready once query has indexed all of its chunks."""
        await service.mark_indexed(pipeline.database, event)

    async def on_deleted(event: DocumentDeleted) -> None:
        """Removes a deleted document's stored file."""
        await service.remove_file(pipeline, event)

    async def on_purged(event: DocumentPurged) -> None:
        """Marks a deleting document deleted once query holds nothing of it."""
        await service.mark_purged(pipeline.database, event)

    # Consumers of one group share the topic's partitions, each taking its uploads one at a
    # time: as many documents in flight as consumers, as with as many replicas.
    for _ in range(pipeline.settings.concurrent_uploads):
        subscribe(
            broker,
            group_id=service.UPLOADS_CONSUMER,
            event_type=DocumentUploaded,
            handler=on_uploaded,
        )
    subscribe(
        broker,
        group_id=service.INDEXED_CONSUMER,
        event_type=DocumentIndexed,
        handler=on_indexed,
    )
    subscribe(
        broker,
        group_id=service.DELETED_CONSUMER,
        event_type=DocumentDeleted,
        handler=on_deleted,
    )
    subscribe(
        broker,
        group_id=service.PURGED_CONSUMER,
        event_type=DocumentPurged,
        handler=on_purged,
    )
