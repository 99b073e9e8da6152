"""Indexing embedded chunks into the company's collection."""

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert

from common.bus import add_to_outbox, already_processed, record_processed
from common.db import Database
from common.events import (
    CompanyCreated,
    DocumentChunksEmbedded,
    DocumentDeleted,
    DocumentIndexed,
    DocumentIndexedV1,
    DocumentPurged,
    DocumentPurgedV1,
)
from query.db import inbox, outbox
from query.index.models import DeletedDocument, IndexedBatch
from query.index.store import VectorStore

CHUNKS_CONSUMER = "query.documents-chunks"
DELETIONS_CONSUMER = "query.documents-deleted"
COMPANIES_CONSUMER = "query.companies-created"


async def prepare_company(store: VectorStore, event: CompanyCreated) -> None:
    """Creates the company's collection up front (idempotent, so no inbox needed)."""
    await store.ensure_collection(event.payload.company_id)


async def index_batch(
    database: Database, store: VectorStore, event: DocumentChunksEmbedded
) -> None:
    """Upserts the batch, records it, and announces the document once all its batches are in.

    The upsert happens before the transaction: if the commit fails, re-delivery upserts the
    same deterministic point ids again. A document's batches share a key, so they arrive in
    order on one partition and the 'all batches in' check cannot race.
    """
    batch = event.payload
    async with database.transaction(event.company_id) as session:
        if await already_processed(session, inbox, CHUNKS_CONSUMER, event.id):
            return
    await store.upsert_chunks(event.company_id, batch)
    async with database.transaction(event.company_id) as session:
        if not await record_processed(session, inbox, CHUNKS_CONSUMER, event):
            return
        if await session.get(DeletedDocument, batch.document_id) is not None:
            # Deleted while this batch was on its way: take back what was just written.
            await store.delete_document(event.company_id, batch.document_id)
            return
        inserted = await session.scalar(
            insert(IndexedBatch)
            .values(
                document_id=batch.document_id,
                batch_index=batch.batch_index,
                company_id=event.company_id,
                batch_count=batch.batch_count,
                chunk_count=batch.chunk_count,
            )
            .on_conflict_do_nothing()
            .returning(IndexedBatch.batch_index)
        )
        if inserted is None:  # this batch was indexed before, under another event id
            return
        indexed = await session.scalar(
            select(func.count())
            .select_from(IndexedBatch)
            .where(
                IndexedBatch.company_id == event.company_id,
                IndexedBatch.document_id == batch.document_id,
            )
        )
        if indexed == batch.batch_count:
            await add_to_outbox(
                session,
                outbox,
                DocumentIndexed.new(
                    event.company_id,
                    DocumentIndexedV1(document_id=batch.document_id, chunk_count=batch.chunk_count),
                    cause=event,
                ),
            )


async def purge_document(database: Database, store: VectorStore, event: DocumentDeleted) -> None:
    """Tombstones the document first, then removes its points: a batch indexed concurrently
    either lands before the purge or sees the tombstone and removes itself."""
    document_id = event.payload.document_id
    async with database.transaction(event.company_id) as session:
        if await already_processed(session, inbox, DELETIONS_CONSUMER, event.id):
            return
        await session.execute(
            insert(DeletedDocument)
            .values(document_id=document_id, company_id=event.company_id)
            .on_conflict_do_nothing()
        )
    await store.delete_document(event.company_id, document_id)
    async with database.transaction(event.company_id) as session:
        if not await record_processed(session, inbox, DELETIONS_CONSUMER, event):
            return
        await session.execute(
            delete(IndexedBatch).where(
                IndexedBatch.company_id == event.company_id,
                IndexedBatch.document_id == document_id,
            )
        )
        await add_to_outbox(
            session,
            outbox,
            DocumentPurged.new(
                event.company_id, DocumentPurgedV1(document_id=document_id), cause=event
            ),
        )
