"""Indexing into Qdrant (local mode) and the database (as the application role)."""

import uuid
from collections.abc import Callable
from uuid import UUID

from qdrant_client import models
from sqlalchemy import select

from common.db import Database
from common.embedding import Embedder
from common.events import (
    DocumentChunksEmbedded,
    DocumentDeleted,
    DocumentDeletedV1,
    DocumentIndexed,
    DocumentPurged,
    decode_event,
)
from query.db import outbox
from query.index import service
from query.index.store import DENSE, VectorStore, collection_name

MakeBatches = Callable[..., list[DocumentChunksEmbedded]]

TEXTS = [
    "Los empleados tienen veintitrés días de vacaciones.",
    "El teletrabajo se permite dos días por semana.",
    "Los gastos de viaje se justifican con factura.",
]


async def indexed_events(database: Database, company_id: UUID) -> list[DocumentIndexed]:
    async with database.transaction(company_id) as session:
        bodies = (await session.scalars(select(outbox.c.body))).all()
    return [e for e in map(decode_event, bodies) if isinstance(e, DocumentIndexed)]


async def point_count(store: VectorStore, company_id: UUID) -> int:
    result = await store.client.count(collection_name(company_id), exact=True)
    return result.count


class TestIndexBatch:
    async def test_all_batches_make_the_document_indexed_once(
        self, query_database: Database, store: VectorStore, make_batches: MakeBatches
    ) -> None:
        company = uuid.uuid4()
        batches = make_batches(company, TEXTS)
        for batch in batches:
            assert await indexed_events(query_database, company) == []
            await service.index_batch(query_database, store, batch)
        events = await indexed_events(query_database, company)
        assert len(events) == 1
        assert events[0].payload.chunk_count == 3
        assert events[0].payload.document_id == batches[0].payload.document_id
        assert await point_count(store, company) == 3

    async def test_redelivery_overwrites_instead_of_duplicating(
        self, query_database: Database, store: VectorStore, make_batches: MakeBatches
    ) -> None:
        company = uuid.uuid4()
        batches = make_batches(company, TEXTS)
        for batch in batches:
            await service.index_batch(query_database, store, batch)
        # The same event again (inbox), and the same chunks under a new event id (point ids).
        await service.index_batch(query_database, store, batches[0])
        again = make_batches(company, TEXTS, document_id=batches[0].payload.document_id)
        await service.index_batch(query_database, store, again[0])
        assert await point_count(store, company) == 3
        assert len(await indexed_events(query_database, company)) == 1

    async def test_each_company_has_its_own_collection(
        self,
        query_database: Database,
        store: VectorStore,
        embedder: Embedder,
        make_batches: MakeBatches,
    ) -> None:
        first, second = uuid.uuid4(), uuid.uuid4()
        for batch in make_batches(first, TEXTS):
            await service.index_batch(query_database, store, batch)
        vector = embedder.embed(["¿Cuántos días de vacaciones?"])[0].tolist()
        assert await store.search(first, vector, limit=5, min_score=0.0)
        assert await store.search(second, vector, limit=5, min_score=0.0) == []
        assert await indexed_events(query_database, second) == []

    async def test_a_hit_whose_payload_names_another_company_is_dropped(
        self, store: VectorStore, make_batches: MakeBatches
    ) -> None:
        company, intruder = uuid.uuid4(), uuid.uuid4()
        [batch] = make_batches(intruder, TEXTS[:1], per_batch=5)
        # Written into `company`'s collection but labelled as another company's.
        await store.ensure_collection(company)
        await store.upsert_chunks(intruder, batch.payload)
        await store.client.upsert(
            collection_name(company),
            points=[
                models.PointStruct(
                    id=str(uuid.uuid4()),
                    vector={DENSE: batch.payload.chunks[0].vector},
                    payload={"company_id": str(intruder), "document_id": str(uuid.uuid4())},
                )
            ],
        )
        vector = batch.payload.chunks[0].vector
        assert await store.search(company, vector, limit=5, min_score=0.0) == []


def deletion(batch: DocumentChunksEmbedded) -> DocumentDeleted:
    return DocumentDeleted.new(
        batch.company_id,
        DocumentDeletedV1(document_id=batch.payload.document_id, blob_prefix="unused"),
    )


async def purged_events(database: Database, company_id: UUID) -> list[DocumentPurged]:
    async with database.transaction(company_id) as session:
        bodies = (await session.scalars(select(outbox.c.body))).all()
    return [e for e in map(decode_event, bodies) if isinstance(e, DocumentPurged)]


class TestPurgeDocument:
    async def test_a_deleted_document_leaves_no_points_and_is_announced_once(
        self, query_database: Database, store: VectorStore, make_batches: MakeBatches
    ) -> None:
        company = uuid.uuid4()
        kept = make_batches(company, TEXTS[:1])
        removed = make_batches(company, TEXTS)
        for batch in [*kept, *removed]:
            await service.index_batch(query_database, store, batch)
        assert await point_count(store, company) == 4

        deleted = deletion(removed[0])
        await service.purge_document(query_database, store, deleted)
        await service.purge_document(query_database, store, deleted)

        assert await point_count(store, company) == 1
        [purged] = await purged_events(query_database, company)
        assert purged.payload.document_id == removed[0].payload.document_id

    async def test_chunks_arriving_after_the_deletion_stay_out(
        self, query_database: Database, store: VectorStore, make_batches: MakeBatches
    ) -> None:
        company = uuid.uuid4()
        first, second = make_batches(company, TEXTS)
        await service.index_batch(query_database, store, first)
        await service.purge_document(query_database, store, deletion(first))
        await service.index_batch(query_database, store, second)
        assert await point_count(store, company) == 0
        assert await indexed_events(query_database, company) == []
