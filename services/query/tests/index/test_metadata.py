"""A document's title, tags and category change after upload: its citations and its points
follow the latest change, whenever its chunks are indexed and in whatever order the changes
arrive. Real Qdrant client (local mode), real model, the database as the app role."""

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import func, select

from common.db import Database
from common.embedding import Embedder
from common.events import (
    DocumentChunksEmbedded,
    DocumentDeleted,
    DocumentDeletedV1,
    DocumentMetadataChanged,
    DocumentMetadataChangedV1,
)
from query.db import inbox
from query.index import service
from query.index.models import DocumentMetadata
from query.index.store import VectorStore, collection_name

MakeBatches = Callable[..., list[DocumentChunksEmbedded]]
IndexBatches = Callable[[list[DocumentChunksEmbedded]], Awaitable[UUID]]
IndexDocument = Callable[..., Awaitable[UUID]]

TEXTS = [
    "Los empleados tienen veintitrés días de vacaciones.",
    "Las vacaciones se piden con dos semanas de antelación.",
    "El teletrabajo se permite dos días por semana.",
]
QUESTION = "¿Cuántos días de vacaciones tienen los empleados?"


def changed(
    company_id: UUID,
    document_id: UUID,
    title: str,
    *,
    tags: list[str] | None = None,
    category: str | None = None,
    at: datetime | None = None,
) -> DocumentMetadataChanged:
    event = DocumentMetadataChanged.new(
        company_id,
        DocumentMetadataChangedV1(
            document_id=document_id, title=title, tags=tags or [], category=category
        ),
    )
    return event.model_copy(update={"occurred_at": at}) if at else event


async def cited_titles(
    database: Database, store: VectorStore, embedder: Embedder, company_id: UUID
) -> set[str]:
    vector = embedder.embed([QUESTION])[0].tolist()
    hits = await service.search_active(database, store, company_id, vector, limit=5, min_score=0.0)
    return {hit.title for hit in hits}


async def payloads(store: VectorStore, company_id: UUID) -> list[dict[str, Any]]:
    points, _ = await store.client.scroll(collection_name(company_id), limit=100)
    return [point.payload or {} for point in points]


async def labels(store: VectorStore, company_id: UUID) -> set[tuple[str, tuple[str, ...], Any]]:
    """The distinct (title, tags, category) the company's points carry (Qdrant drops a key
    set to null, so no category may be no key)."""
    return {
        (p["title"], tuple(p["tags"]), p.get("category")) for p in await payloads(store, company_id)
    }


class TestChangeMetadata:
    async def test_a_renamed_document_is_cited_and_filed_under_its_new_metadata(
        self,
        query_database: Database,
        store: VectorStore,
        embedder: Embedder,
        index_document: IndexDocument,
    ) -> None:
        company, document = uuid.uuid4(), uuid.uuid4()
        await index_document(company, TEXTS, document_id=document)
        assert await cited_titles(query_database, store, embedder, company) == {"Manual"}

        rename = changed(company, document, "Normas 2026", tags=["rrhh"], category="Políticas")
        await service.change_metadata(query_database, store, rename)

        assert await cited_titles(query_database, store, embedder, company) == {"Normas 2026"}
        assert await labels(store, company) == {("Normas 2026", ("rrhh",), "Políticas")}
        assert len(await payloads(store, company)) == len(TEXTS)

    async def test_an_older_change_arriving_late_changes_nothing(
        self,
        query_database: Database,
        store: VectorStore,
        embedder: Embedder,
        index_document: IndexDocument,
    ) -> None:
        company, document = uuid.uuid4(), uuid.uuid4()
        await index_document(company, TEXTS, document_id=document)
        now = datetime.now(UTC)
        newer = changed(company, document, "Nuevo", tags=["b"], at=now)
        older = changed(company, document, "Viejo", tags=["a"], category="x", at=now - timedelta(1))

        await service.change_metadata(query_database, store, newer)
        await service.change_metadata(query_database, store, older)

        assert await cited_titles(query_database, store, embedder, company) == {"Nuevo"}
        assert await labels(store, company) == {("Nuevo", ("b",), None)}

    async def test_a_redelivered_change_is_applied_once(
        self,
        query_database: Database,
        store: VectorStore,
        embedder: Embedder,
        index_document: IndexDocument,
    ) -> None:
        company, document = uuid.uuid4(), uuid.uuid4()
        await index_document(company, TEXTS, document_id=document)
        rename = changed(company, document, "Normas 2026", tags=["rrhh"])

        await service.change_metadata(query_database, store, rename)
        await service.change_metadata(query_database, store, rename)

        assert await cited_titles(query_database, store, embedder, company) == {"Normas 2026"}
        assert await labels(store, company) == {("Normas 2026", ("rrhh",), None)}
        async with query_database.transaction(company) as session:
            processed = await session.scalar(
                select(func.count()).select_from(inbox).where(inbox.c.event_id == rename.id)
            )
            recorded = await session.scalar(select(func.count()).select_from(DocumentMetadata))
        assert (processed, recorded) == (1, 1)

    async def test_chunks_indexed_after_a_rename_carry_the_new_metadata(
        self,
        query_database: Database,
        store: VectorStore,
        embedder: Embedder,
        make_batches: MakeBatches,
    ) -> None:
        """Embedded before the rename, indexed after it: one batch either side of it."""
        company, document = uuid.uuid4(), uuid.uuid4()
        first, second = make_batches(company, TEXTS, document_id=document)
        await service.index_batch(query_database, store, first)

        rename = changed(company, document, "Normas 2026", tags=["rrhh"], category="Políticas")
        await service.change_metadata(query_database, store, rename)
        await service.index_batch(query_database, store, second)

        assert await cited_titles(query_database, store, embedder, company) == {"Normas 2026"}
        assert await labels(store, company) == {("Normas 2026", ("rrhh",), "Políticas")}

    async def test_a_rename_while_a_batch_is_written_still_reaches_its_points(
        self,
        query_database: Database,
        store: VectorStore,
        make_batches: MakeBatches,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        company, document = uuid.uuid4(), uuid.uuid4()
        first, second = make_batches(company, TEXTS, document_id=document)
        await service.index_batch(query_database, store, first)
        rename = changed(company, document, "Normas 2026", tags=["rrhh"])
        upsert = store.upsert_chunks

        async def renamed_meanwhile(company_id: UUID, *args: Any) -> None:
            # The rename is recorded and written after the batch read the metadata, and
            # before it writes its points with what it read.
            await service.change_metadata(query_database, store, rename)
            await upsert(company_id, *args)

        monkeypatch.setattr(store, "upsert_chunks", renamed_meanwhile)
        await service.index_batch(query_database, store, second)

        assert await labels(store, company) == {("Normas 2026", ("rrhh",), None)}

    async def test_a_new_version_keeps_the_latest_metadata(
        self,
        query_database: Database,
        store: VectorStore,
        embedder: Embedder,
        index_document: IndexDocument,
    ) -> None:
        company, document = uuid.uuid4(), uuid.uuid4()
        await index_document(company, TEXTS, document_id=document)
        await service.change_metadata(query_database, store, changed(company, document, "Normas"))
        # Embedded under the old title while the rename travelled.
        await index_document(company, TEXTS, document_id=document, version=2)

        assert await cited_titles(query_database, store, embedder, company) == {"Normas"}
        assert {p["version"] for p in await payloads(store, company)} == {2}
        assert await labels(store, company) == {("Normas", (), None)}

    async def test_citations_take_the_new_title_even_where_a_point_missed_it(
        self,
        query_database: Database,
        store: VectorStore,
        embedder: Embedder,
        make_batches: MakeBatches,
        index_batches: IndexBatches,
    ) -> None:
        company, document = uuid.uuid4(), uuid.uuid4()
        batches = make_batches(company, TEXTS, document_id=document)
        await index_batches(batches)
        await service.change_metadata(query_database, store, changed(company, document, "Normas"))
        # The old payload written back behind the index's back, as a failed update leaves it.
        for batch in batches:
            await store.upsert_chunks(company, batch.payload)

        assert await cited_titles(query_database, store, embedder, company) == {"Normas"}

    async def test_a_deleted_document_keeps_no_metadata(
        self,
        query_database: Database,
        store: VectorStore,
        index_document: IndexDocument,
    ) -> None:
        company, document = uuid.uuid4(), uuid.uuid4()
        await index_document(company, TEXTS, document_id=document)
        await service.change_metadata(query_database, store, changed(company, document, "Uno"))
        deleted = DocumentDeleted.new(
            company, DocumentDeletedV1(document_id=document, blob_prefix=f"x/{document}")
        )
        await service.purge_document(query_database, store, deleted)
        await service.change_metadata(query_database, store, changed(company, document, "Dos"))

        async with query_database.transaction(company) as session:
            assert await session.get(DocumentMetadata, document) is None
        assert await payloads(store, company) == []
