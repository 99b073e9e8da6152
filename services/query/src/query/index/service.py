"""Indexing embedded chunks into the company's collection."""

from uuid import UUID

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

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
from query.index.models import ActiveDocument, DeletedDocument, IndexedBatch
from query.index.store import RetrievedChunk, VectorStore

CHUNKS_CONSUMER = "query.documents-chunks"
DELETIONS_CONSUMER = "query.documents-deleted"
COMPANIES_CONSUMER = "query.companies-created"
SEARCH_OVERFETCH = 3
"""Hits fetched per hit wanted: room for the hits of versions being replaced, which drop."""


async def prepare_company(store: VectorStore, event: CompanyCreated) -> None:
    """Creates the company's collection up front (idempotent, so no inbox needed)."""
    await store.ensure_collection(event.payload.company_id)


async def index_batch(
    database: Database, store: VectorStore, event: DocumentChunksEmbedded
) -> None:
    """Upserts the batch, records it, and once all of its version's batches are in, makes that
    version the one answers use and announces it; then removes the older versions' points.

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
        await _lock_document(session, batch.document_id)
        if await session.get(DeletedDocument, batch.document_id) is not None:
            # Deleted while this batch was on its way: take back what was just written.
            await store.delete_document(event.company_id, batch.document_id)
            return
        if not await _record_batch(session, event) or not await _version_complete(session, event):
            return
        active = await _activate(session, event)
        if active == batch.document_version:
            await add_to_outbox(
                session,
                outbox,
                DocumentIndexed.new(
                    event.company_id,
                    DocumentIndexedV1(
                        document_id=batch.document_id,
                        chunk_count=batch.chunk_count,
                        document_version=batch.document_version,
                    ),
                    cause=event,
                ),
            )
    # After the switch is committed: until then answers still use the older points. If this
    # fails, they stay behind, never cited (searches keep the active version's only).
    await store.delete_versions_before(event.company_id, batch.document_id, active)


async def _lock_document(session: AsyncSession, document_id: UUID) -> None:
    """Serialises indexing and deletion of one document: a deletion cannot slip between a
    batch's tombstone check and its version switch."""
    await session.execute(
        select(func.pg_advisory_xact_lock(func.hashtextextended(str(document_id), 0)))
    )


async def _record_batch(session: AsyncSession, event: DocumentChunksEmbedded) -> bool:
    """False when this batch was indexed before, under another event id."""
    batch = event.payload
    inserted = await session.scalar(
        insert(IndexedBatch)
        .values(
            document_id=batch.document_id,
            document_version=batch.document_version,
            batch_index=batch.batch_index,
            company_id=event.company_id,
            batch_count=batch.batch_count,
            chunk_count=batch.chunk_count,
        )
        .on_conflict_do_nothing()
        .returning(IndexedBatch.batch_index)
    )
    return inserted is not None


async def _version_complete(session: AsyncSession, event: DocumentChunksEmbedded) -> bool:
    batch = event.payload
    indexed = await session.scalar(
        select(func.count())
        .select_from(IndexedBatch)
        .where(
            IndexedBatch.company_id == event.company_id,
            IndexedBatch.document_id == batch.document_id,
            IndexedBatch.document_version == batch.document_version,
        )
    )
    return indexed == batch.batch_count


async def _activate(session: AsyncSession, event: DocumentChunksEmbedded) -> int:
    """Makes the batch's version the active one unless a later one already is; returns the
    active version. One row update: that is the moment answers switch versions."""
    batch = event.payload
    statement = insert(ActiveDocument).values(
        document_id=batch.document_id,
        company_id=event.company_id,
        version=batch.document_version,
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[ActiveDocument.document_id],
            set_={"version": statement.excluded.version, "activated_at": func.now()},
            where=ActiveDocument.version < statement.excluded.version,
        )
    )
    active = await session.scalar(
        select(ActiveDocument.version).where(
            ActiveDocument.company_id == event.company_id,
            ActiveDocument.document_id == batch.document_id,
        )
    )
    return int(active or batch.document_version)


async def search_active(
    database: Database,
    store: VectorStore,
    company_id: UUID,
    vector: list[float],
    *,
    limit: int,
    min_score: float,
) -> list[RetrievedChunk]:
    """The best chunks of the documents' active versions only.

    The index is searched before the active versions are read: a version's points are
    deleted only after another version is active, so whichever side of a switch the read
    falls on, the hits hold that side's version. Hits of other versions are dropped, so a
    few more are fetched than asked for.
    """
    hits = await store.search(
        company_id, vector, limit=limit * SEARCH_OVERFETCH, min_score=min_score
    )
    if not hits:
        return []
    async with database.transaction(company_id) as session:
        rows = await session.execute(
            select(ActiveDocument.document_id, ActiveDocument.version).where(
                ActiveDocument.company_id == company_id,
                ActiveDocument.document_id.in_({hit.document_id for hit in hits}),
            )
        )
        active: dict[UUID, int] = {document_id: version for document_id, version in rows}
    return [hit for hit in hits if active.get(hit.document_id) == hit.version][:limit]


async def purge_document(database: Database, store: VectorStore, event: DocumentDeleted) -> None:
    """Takes the document out of answers and tombstones it in one step, then removes its
    points: a batch indexed concurrently either lands before the purge or sees the tombstone
    and removes itself."""
    document_id = event.payload.document_id
    async with database.transaction(event.company_id) as session:
        if await already_processed(session, inbox, DELETIONS_CONSUMER, event.id):
            return
        await _lock_document(session, document_id)
        await session.execute(
            insert(DeletedDocument)
            .values(document_id=document_id, company_id=event.company_id)
            .on_conflict_do_nothing()
        )
        await session.execute(
            delete(ActiveDocument).where(
                ActiveDocument.company_id == event.company_id,
                ActiveDocument.document_id == document_id,
            )
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
