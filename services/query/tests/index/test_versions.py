"""A new version of a document replaces the old one in answers in one step: while it is being
indexed answers see only the old version, once it is complete only the new one; never both,
never neither. Real Qdrant client (local mode), real model, the database as the app role."""

import uuid
from collections.abc import Callable
from uuid import UUID

from sqlalchemy import select

from common.db import Database
from common.embedding import Embedder
from common.events import (
    DocumentChunksEmbedded,
    DocumentDeleted,
    DocumentDeletedV1,
    DocumentIndexed,
    decode_event,
)
from query.db import outbox
from query.index import service
from query.index.store import VectorStore, collection_name

MakeBatches = Callable[..., list[DocumentChunksEmbedded]]

OLD = [
    "La sede de la empresa está en Sevilla, en la calle Feria.",
    "La oficina abre de lunes a viernes.",
    "El aparcamiento es gratuito para empleados.",
]
NEW = [
    "La sede de la empresa está en Bilbao, en la Gran Vía.",
    "La oficina abre de lunes a sábado.",
    "El aparcamiento cuesta dos euros al día.",
]
QUESTION = "¿Dónde está la sede de la empresa?"


async def cited(
    database: Database, store: VectorStore, embedder: Embedder, company_id: UUID
) -> set[str]:
    """Which versions' texts a search for the question sees."""
    vector = embedder.embed([QUESTION])[0].tolist()
    hits = await service.search_active(database, store, company_id, vector, limit=5, min_score=0.0)
    seen = set()
    for hit in hits:
        if hit.text in OLD:
            seen.add("old")
        if hit.text in NEW:
            seen.add("new")
    return seen


async def indexed_versions(database: Database, company_id: UUID) -> list[int]:
    async with database.transaction(company_id) as session:
        bodies = (await session.scalars(select(outbox.c.body).order_by(outbox.c.sequence))).all()
    events = [decode_event(body) for body in bodies]
    return [e.payload.document_version for e in events if isinstance(e, DocumentIndexed)]


async def point_versions(store: VectorStore, company_id: UUID) -> list[int]:
    points, _ = await store.client.scroll(collection_name(company_id), limit=100)
    return sorted(int((p.payload or {})["version"]) for p in points)


async def test_a_new_version_replaces_the_old_in_one_step(
    query_database: Database, store: VectorStore, embedder: Embedder, make_batches: MakeBatches
) -> None:
    company, document = uuid.uuid4(), uuid.uuid4()
    for batch in make_batches(company, OLD, document_id=document):
        await service.index_batch(query_database, store, batch)
    assert await cited(query_database, store, embedder, company) == {"old"}

    first, second = make_batches(company, NEW, document_id=document, version=2)
    await service.index_batch(query_database, store, first)
    # Half of the new version is in the index, and invisible.
    assert await point_versions(store, company) == [1, 1, 1, 2, 2]
    assert await cited(query_database, store, embedder, company) == {"old"}

    await service.index_batch(query_database, store, second)
    assert await cited(query_database, store, embedder, company) == {"new"}
    assert await point_versions(store, company) == [2, 2, 2]
    assert await indexed_versions(query_database, company) == [1, 2]


async def test_old_points_left_behind_are_never_cited(
    query_database: Database, store: VectorStore, embedder: Embedder, make_batches: MakeBatches
) -> None:
    """If removing the old points fails after the switch, searches still drop them."""
    company, document = uuid.uuid4(), uuid.uuid4()
    for batch in make_batches(company, NEW, document_id=document, version=2):
        await service.index_batch(query_database, store, batch)
    # Old points written back behind the index's back, as a failed clean-up would leave them.
    for batch in make_batches(company, OLD, document_id=document):
        await store.upsert_chunks(company, batch.payload)
    assert await cited(query_database, store, embedder, company) == {"new"}


async def test_a_late_older_version_does_not_take_over(
    query_database: Database, store: VectorStore, embedder: Embedder, make_batches: MakeBatches
) -> None:
    company, document = uuid.uuid4(), uuid.uuid4()
    for batch in make_batches(company, NEW, document_id=document, version=2):
        await service.index_batch(query_database, store, batch)
    for batch in make_batches(company, OLD, document_id=document, version=1):
        await service.index_batch(query_database, store, batch)
    assert await cited(query_database, store, embedder, company) == {"new"}
    assert await point_versions(store, company) == [2, 2, 2]
    assert await indexed_versions(query_database, company) == [2]


async def test_a_document_leaves_answers_as_soon_as_it_is_deleted(
    query_database: Database, store: VectorStore, embedder: Embedder, make_batches: MakeBatches
) -> None:
    company, document = uuid.uuid4(), uuid.uuid4()
    for batch in make_batches(company, OLD, document_id=document):
        await service.index_batch(query_database, store, batch)
    deleted = DocumentDeleted.new(
        company, DocumentDeletedV1(document_id=document, blob_prefix=f"x/{document}")
    )
    await service.purge_document(query_database, store, deleted)
    assert await cited(query_database, store, embedder, company) == set()
    # A batch of a new version still on its way is taken back, not made active.
    for batch in make_batches(company, NEW, document_id=document, version=2):
        await service.index_batch(query_database, store, batch)
    assert await cited(query_database, store, embedder, company) == set()
    assert await point_versions(store, company) == []


async def test_a_document_is_not_cited_before_all_its_chunks_are_in(
    query_database: Database, store: VectorStore, embedder: Embedder, make_batches: MakeBatches
) -> None:
    company = uuid.uuid4()
    first, second = make_batches(company, OLD)
    await service.index_batch(query_database, store, first)
    assert await cited(query_database, store, embedder, company) == set()
    await service.index_batch(query_database, store, second)
    assert await cited(query_database, store, embedder, company) == {"old"}
