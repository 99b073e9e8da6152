from faststream.kafka import KafkaBroker

from common.bus import subscribe
from common.db import Database
from common.events import (
    CompanyCreated,
    DocumentChunksEmbedded,
    DocumentDeleted,
    DocumentMetadataChanged,
)
from query.index import service
from query.index.store import VectorStore


def register(broker: KafkaBroker, database: Database, store: VectorStore) -> None:
    async def on_company_created(event: CompanyCreated) -> None:
        """Creates the new company's vector collection."""
        await service.prepare_company(store, event)

    async def on_chunks(event: DocumentChunksEmbedded) -> None:
        """Indexes a batch of a document's embedded chunks into its company's collection."""
        await service.index_batch(database, store, event)

    async def on_metadata_changed(event: DocumentMetadataChanged) -> None:
        """Gives every point of a document its new title, tags and category."""
        await service.change_metadata(database, store, event)

    async def on_deleted(event: DocumentDeleted) -> None:
        """Removes a deleted document's chunks from its company's collection."""
        await service.purge_document(database, store, event)

    subscribe(
        broker,
        group_id=service.DELETIONS_CONSUMER,
        event_type=DocumentDeleted,
        handler=on_deleted,
    )
    subscribe(
        broker,
        group_id=service.COMPANIES_CONSUMER,
        event_type=CompanyCreated,
        handler=on_company_created,
    )
    subscribe(
        broker,
        group_id=service.CHUNKS_CONSUMER,
        event_type=DocumentChunksEmbedded,
        handler=on_chunks,
    )
    subscribe(
        broker,
        group_id=service.METADATA_CONSUMER,
        event_type=DocumentMetadataChanged,
        handler=on_metadata_changed,
    )
