"""Indexing embedded chunks into the company's collection, and keeping what their points say
of their document (title, tags, category) up to date."""

from collections.abc import Collection
from dataclasses import replace
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
    DocumentMetadataChanged,
    DocumentPurged,
    DocumentPurgedV1,
)
from query.db import inbox, outbox
from query.index.models import ActiveDocument, DeletedDocument, DocumentMetadata, IndexedBatch
from query.index.store import Metadata, RetrievedChunk, VectorStore

CHUNKS_CONSUMER = "query.documents-chunks"
DELETIONS_CONSUMER = "query.documents-deleted"
COMPANIES_CONSUMER = "query.companies-created"
METADATA_CONSUMER = "query.documents-metadata"
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

    The points take the document's latest recorded metadata rather than the batch's, which
    may be older; a change recorded while they were written is written into them again.
    """
    batch = event.payload
    async with database.transaction(event.company_id) as session:
        if await already_processed(session, inbox, CHUNKS_CONSUMER, event.id):
            return
        metadata = await _metadata(session, event.company_id, batch.document_id)
    await store.upsert_chunks(event.company_id, batch, metadata)
    async with database.transaction(event.company_id) as session:
        if not await record_processed(session, inbox, CHUNKS_CONSUMER, event):
            return
        await _lock_document(session, batch.document_id)
        if await session.get(DeletedDocument, batch.document_id) is not None:
            # Deleted while this batch was on its way: take back what was just written.
            await store.delete_document(event.company_id, batch.document_id)
            return
        latest = await _metadata(session, event.company_id, batch.document_id)
        if latest is not None and latest != metadata:
            await store.set_metadata(event.company_id, batch.document_id, latest)
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


async def change_metadata(
    database: Database, store: VectorStore, event: DocumentMetadataChanged
) -> None:
    """Records the document's new title, tags and category unless a later change is recorded
    already, then writes the latest into every point of the document.

    The points are written after the commit, and a batch being indexed reads the record after
    writing its points (under the document's lock): whichever comes second brings them up to
    date. The inbox is written last, so a failed write to the index is retried.
    """
    document_id = event.payload.document_id
    async with database.transaction(event.company_id) as session:
        if await already_processed(session, inbox, METADATA_CONSUMER, event.id):
            return
        latest = await _record_metadata(session, event)
    if latest is not None:
        await store.set_metadata(event.company_id, document_id, latest)
    async with database.transaction(event.company_id) as session:
        await record_processed(session, inbox, METADATA_CONSUMER, event)


async def _record_metadata(
    session: AsyncSession, event: DocumentMetadataChanged
) -> Metadata | None:
    """The document's metadata once this change is recorded: the change's own, or a later one
    recorded before it. None for a deleted document: nothing of it is kept."""
    change = event.payload
    await _lock_document(session, change.document_id)
    if await session.get(DeletedDocument, change.document_id) is not None:
        return None
    statement = insert(DocumentMetadata).values(
        document_id=change.document_id,
        company_id=event.company_id,
        title=change.title,
        tags=change.tags,
        category=change.category,
        changed_at=event.occurred_at,
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[DocumentMetadata.document_id],
            set_={
                "title": statement.excluded.title,
                "tags": statement.excluded.tags,
                "category": statement.excluded.category,
                "changed_at": statement.excluded.changed_at,
                "recorded_at": func.now(),
            },
            where=DocumentMetadata.changed_at < statement.excluded.changed_at,
        )
    )
    return await _metadata(session, event.company_id, change.document_id)


async def _metadata(session: AsyncSession, company_id: UUID, document_id: UUID) -> Metadata | None:
    """The document's latest recorded metadata; None while it was never changed."""
    row = await session.scalar(
        select(DocumentMetadata).where(
            DocumentMetadata.company_id == company_id,
            DocumentMetadata.document_id == document_id,
        )
    )
    return None if row is None else Metadata(row.title, tuple(row.tags), row.category)


async def search_active(
    database: Database,
    store: VectorStore,
    company_id: UUID,
    vector: list[float],
    *,
    limit: int,
    min_score: float,
) -> list[RetrievedChunk]:
    """The best chunks by the dense vector alone, of the documents' active versions only
    (query.retrieval searches by text too)."""
    hits = await store.search(
        company_id, vector, limit=limit * SEARCH_OVERFETCH, min_score=min_score
    )
    return await keep_active(database, company_id, hits, limit=limit)


async def keep_active(
    database: Database,
    company_id: UUID,
    hits: list[RetrievedChunk],
    *,
    limit: int,
    tags: Collection[str] | None = None,
) -> list[RetrievedChunk]:
    """The first `limit` hits that belong to their document's active version.

    The index is searched before the active versions are read: a version's points are
    deleted only after another version is active, so whichever side of a switch the read
    falls on, the hits hold that side's version. Hits of other versions are dropped, so
    callers fetch a few more than they want (SEARCH_OVERFETCH).

    Each hit is titled with its document's latest recorded title, which its point's payload
    may not carry yet (a rename whose write into the index failed and is being retried); for
    the same reason a hit found by `tags` is kept only if its document's recorded tags (when
    any change was recorded) still include one of them.
    """
    if not hits:
        return []
    async with database.transaction(company_id) as session:
        rows = await session.execute(
            select(
                ActiveDocument.document_id,
                ActiveDocument.version,
                DocumentMetadata.title,
                DocumentMetadata.tags,
            )
            .outerjoin(DocumentMetadata, DocumentMetadata.document_id == ActiveDocument.document_id)
            .where(
                ActiveDocument.company_id == company_id,
                ActiveDocument.document_id.in_({hit.document_id for hit in hits}),
            )
        )
        active: dict[UUID, int] = {}
        titles: dict[UUID, str] = {}
        recorded_tags: dict[UUID, set[str]] = {}
        for document_id, version, title, document_tags in rows:
            active[document_id] = version
            if title is not None:
                titles[document_id] = title
                recorded_tags[document_id] = set(document_tags or ())
    wanted = None if tags is None else set(tags)
    return [
        replace(hit, title=titles.get(hit.document_id, hit.title))
        for hit in hits
        if active.get(hit.document_id) == hit.version
        and (
            wanted is None
            or hit.document_id not in recorded_tags
            or bool(recorded_tags[hit.document_id] & wanted)
        )
    ][:limit]


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
        for kept in (IndexedBatch, DocumentMetadata):
            await session.execute(
                delete(kept).where(
                    kept.company_id == event.company_id, kept.document_id == document_id
                )
            )
        await add_to_outbox(
            session,
            outbox,
            DocumentPurged.new(
                event.company_id, DocumentPurgedV1(document_id=document_id), cause=event
            ),
        )
