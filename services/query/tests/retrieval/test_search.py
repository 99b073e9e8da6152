"""Retrieval for a question: dense, sparse and hybrid, scoped by documents and tags, from the
company's own collection only, active versions only. Real Qdrant client (local mode), real
model, the database as the application role."""

import uuid
from collections.abc import Awaitable, Callable
from uuid import UUID

import pytest
from qdrant_client import models

from common.db import Database
from common.embedding import Embedder
from common.events import DocumentChunksEmbedded, DocumentMetadataChanged, DocumentMetadataChangedV1
from query.index import service
from query.index.store import (
    DENSE,
    TERMS,
    Metadata,
    VectorStore,
    collection_name,
    legacy_collection_name,
)
from query.retrieval.service import RetrievalMode, search

MakeBatches = Callable[..., list[DocumentChunksEmbedded]]
IndexDocument = Callable[..., Awaitable[UUID]]
MODES: list[RetrievalMode] = ["hybrid", "dense", "sparse"]

CATALOGUE = [
    "Ficha técnica ZQ-4471: carcasa de aluminio, batería de 5000 mAh, peso 180 gramos.",
    "La garantía de los equipos cubre dos años de reparaciones en el servicio técnico.",
    "Para reclamar la garantía de un equipo, presente la factura de compra.",
    "La garantía no cubre los daños causados por golpes o líquidos.",
    "Ficha técnica ZQ-4417: carcasa de plástico, batería de 3000 mAh, peso 150 gramos.",
]
# The embedding ranks a warranty chunk first for it: the code is what tells the chunks apart.
CODE_QUESTION = "¿Cuánto pesa el ZQ-4471?"

HOLIDAYS = ["Los empleados tienen veintitrés días de vacaciones al año."]
TRAVEL = ["Los gastos de viaje se justifican con factura en cinco días."]


async def tag(
    database: Database, store: VectorStore, company: UUID, document: UUID, tags: list[str]
) -> None:
    """Through the metadata-change path: the document_metadata record and every point."""
    await service.change_metadata(
        database,
        store,
        DocumentMetadataChanged.new(
            company, DocumentMetadataChangedV1(document_id=document, title="Manual", tags=tags)
        ),
    )


def rank(texts: list[str], wanted: str) -> int:
    return texts.index(wanted) if wanted in texts else len(CATALOGUE)


class TestModes:
    async def test_hybrid_finds_the_chunk_whose_exact_code_the_embedding_misses(
        self,
        query_database: Database,
        store: VectorStore,
        embedder: Embedder,
        index_document: IndexDocument,
    ) -> None:
        company = uuid.uuid4()
        await index_document(company, CATALOGUE, per_batch=5)
        ranked = {
            mode: [
                hit.text
                for hit in await search(
                    query_database, store, embedder, company, CODE_QUESTION, mode=mode, limit=5
                )
            ]
            for mode in MODES
        }
        assert rank(ranked["dense"], CATALOGUE[0]) > 0  # the case is a real one
        assert rank(ranked["sparse"], CATALOGUE[0]) == 0
        assert rank(ranked["hybrid"], CATALOGUE[0]) == 0
        assert set(ranked["hybrid"]) == set(CATALOGUE)

    async def test_hybrid_hits_are_scored_by_cosine_similarity(
        self,
        query_database: Database,
        store: VectorStore,
        embedder: Embedder,
        index_document: IndexDocument,
    ) -> None:
        """So a relevance threshold means the same in every mode that has a vector."""
        company = uuid.uuid4()
        await index_document(company, CATALOGUE, per_batch=5)
        dense = await search(
            query_database, store, embedder, company, CODE_QUESTION, mode="dense", limit=5
        )
        hybrid = await search(
            query_database, store, embedder, company, CODE_QUESTION, mode="hybrid", limit=5
        )
        by_text = {hit.text: hit.score for hit in dense}
        for hit in hybrid:
            assert hit.score == pytest.approx(by_text[hit.text], abs=1e-4)

    async def test_a_question_sharing_no_term_finds_nothing_by_terms(
        self,
        query_database: Database,
        store: VectorStore,
        embedder: Embedder,
        index_document: IndexDocument,
    ) -> None:
        company = uuid.uuid4()
        await index_document(company, CATALOGUE)
        hits = await search(
            query_database,
            store,
            embedder,
            company,
            "helicóptero submarino",
            mode="sparse",
            limit=5,
        )
        assert hits == []


class TestScope:
    async def test_document_and_tag_filters(
        self,
        query_database: Database,
        store: VectorStore,
        embedder: Embedder,
        index_document: IndexDocument,
    ) -> None:
        company = uuid.uuid4()
        holidays = await index_document(company, HOLIDAYS)
        travel = await index_document(company, TRAVEL)
        await tag(query_database, store, company, holidays, ["rrhh", "vacaciones"])
        await tag(query_database, store, company, travel, ["finanzas"])
        question = "¿Qué hay que presentar para los días de vacaciones y los viajes?"

        async def found(
            document_ids: list[UUID] | None = None, tags: list[str] | None = None
        ) -> set[UUID]:
            results = set()
            for mode in MODES:
                hits = await search(
                    query_database,
                    store,
                    embedder,
                    company,
                    question,
                    mode=mode,
                    limit=5,
                    document_ids=document_ids,
                    tags=tags,
                )
                results.add(frozenset(hit.document_id for hit in hits))
            assert len(results) == 1, "every mode keeps to the same scope"
            return set(results.pop())

        assert await found() == {holidays, travel}
        assert await found(document_ids=[travel]) == {travel}
        assert await found(tags=["rrhh"]) == {holidays}
        assert await found(tags=["finanzas", "vacaciones"]) == {holidays, travel}
        assert await found(tags=["legal"]) == set()
        assert await found(document_ids=[holidays], tags=["finanzas"]) == set()
        assert await found(document_ids=[]) == set()

    async def test_a_tag_taken_off_in_the_record_counts_before_the_points_catch_up(
        self,
        query_database: Database,
        store: VectorStore,
        embedder: Embedder,
        index_document: IndexDocument,
    ) -> None:
        """The points' tags may lag behind a change whose write into the index is retried."""
        company = uuid.uuid4()
        holidays = await index_document(company, HOLIDAYS)
        await tag(query_database, store, company, holidays, ["rrhh"])
        # The change is recorded, its write into the points has not happened yet.
        await service.change_metadata(
            query_database,
            VectorStore(store.client, store.dimension, server=False),
            DocumentMetadataChanged.new(
                company,
                DocumentMetadataChangedV1(document_id=holidays, title="Manual", tags=["archivo"]),
            ),
        )
        await store.set_metadata(company, holidays, Metadata("Manual", ("rrhh",)))
        hits = await search(
            query_database, store, embedder, company, HOLIDAYS[0], limit=5, tags=["rrhh"]
        )
        assert hits == []


class TestIsolation:
    async def test_a_company_without_a_collection_finds_nothing(
        self,
        query_database: Database,
        store: VectorStore,
        embedder: Embedder,
        index_document: IndexDocument,
    ) -> None:
        owner, other = uuid.uuid4(), uuid.uuid4()
        await index_document(owner, HOLIDAYS)
        for mode in MODES:
            assert (
                await search(
                    query_database, store, embedder, other, HOLIDAYS[0], mode=mode, limit=5
                )
                == []
            )
        assert not await store.client.collection_exists(collection_name(other))

    async def test_a_point_naming_another_company_is_dropped(
        self,
        query_database: Database,
        store: VectorStore,
        embedder: Embedder,
        make_batches: MakeBatches,
        index_document: IndexDocument,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        company, intruder = uuid.uuid4(), uuid.uuid4()
        [batch] = make_batches(intruder, HOLIDAYS)
        document = batch.payload.document_id
        await index_document(company, TRAVEL)
        # The intruder's chunk, active in the intruder's records, planted in the company's
        # collection: written through the store, so it has both vectors.
        await store.upsert_chunks(intruder, batch.payload)
        await store.client.upsert(
            collection_name(company),
            points=[
                models.PointStruct(
                    id=str(uuid.uuid4()),
                    vector={
                        DENSE: batch.payload.chunks[0].vector,
                        TERMS: store.sparse.document(HOLIDAYS[0]),
                    },
                    payload={
                        "company_id": str(intruder),
                        "document_id": str(document),
                        "version": 1,
                        "text": HOLIDAYS[0],
                    },
                )
            ],
        )
        for mode in MODES:
            hits = await store.search(
                company,
                None if mode == "sparse" else batch.payload.chunks[0].vector,
                text=None if mode == "dense" else HOLIDAYS[0],
                limit=5,
            )
            assert hits
            assert all(hit.document_id != document for hit in hits)
        assert "names company" in caplog.text


class TestActiveVersions:
    async def test_a_half_indexed_version_stays_invisible_in_every_mode(
        self,
        query_database: Database,
        store: VectorStore,
        embedder: Embedder,
        make_batches: MakeBatches,
        index_document: IndexDocument,
    ) -> None:
        company, document = uuid.uuid4(), uuid.uuid4()
        old = ["La sede está en Sevilla.", "La oficina abre de lunes a viernes."]
        new = ["La sede está en Bilbao.", "La oficina abre de lunes a sábado."]
        await index_document(company, old, document_id=document)
        first, _ = make_batches(company, new, document_id=document, version=2, per_batch=1)
        await service.index_batch(query_database, store, first)
        for mode in MODES:
            hits = await search(
                query_database, store, embedder, company, "¿Dónde está la sede?", mode=mode, limit=5
            )
            assert hits
            assert {hit.text for hit in hits} <= set(old)


class TestLegacyCollections:
    async def test_a_dense_only_collection_is_migrated_on_first_use(
        self,
        query_database: Database,
        store: VectorStore,
        embedder: Embedder,
        make_batches: MakeBatches,
    ) -> None:
        company = uuid.uuid4()
        [batch] = make_batches(company, HOLIDAYS)
        document = batch.payload.document_id
        await service.index_batch(query_database, store, batch)
        # The same point as a collection from before sparse vectors held it.
        [point] = (await store.client.scroll(collection_name(company), with_vectors=True))[0]
        assert isinstance(point.vector, dict)
        legacy = legacy_collection_name(company)
        await store.client.create_collection(
            legacy,
            vectors_config=models.VectorParams(
                size=embedder.dimension, distance=models.Distance.COSINE
            ),
        )
        await store.client.upsert(
            legacy,
            points=[
                models.PointStruct(id=point.id, vector=point.vector[DENSE], payload=point.payload)
            ],
        )
        await store.client.delete_collection(collection_name(company))

        restarted = VectorStore(store.client, store.dimension, server=False)
        hits = await search(
            query_database, restarted, embedder, company, "vacaciones", mode="sparse", limit=5
        )
        assert [hit.document_id for hit in hits] == [document]
        assert not await store.client.collection_exists(legacy)
        assert (await store.client.count(collection_name(company))).count == 1


async def test_a_question_of_stop_words_only_is_searched_by_meaning_alone(
    query_database: Database,
    store: VectorStore,
    embedder: Embedder,
    index_document: IndexDocument,
) -> None:
    company = uuid.uuid4()
    await index_document(company, HOLIDAYS)
    question = "¿Y qué hay de lo de los que no?"
    assert (
        await search(query_database, store, embedder, company, question, mode="sparse", limit=5)
        == []
    )
    assert await search(query_database, store, embedder, company, question, mode="hybrid", limit=5)
