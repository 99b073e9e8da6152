"""The vector index: one Qdrant collection per company. Only query reads or writes it.

Each point holds two named vectors: `dense`, the chunk's embedding, and `terms`, its sparse
BM25 term weights (query.index.sparse), whose IDF Qdrant computes over the collection.
"""

import asyncio
import logging
import math
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from qdrant_client import AsyncQdrantClient, models

from common.events import DocumentChunksEmbeddedV1
from query.index.sparse import SparseEncoder
from query.settings import QuerySettings

logger = logging.getLogger(__name__)

DENSE = "dense"
TERMS = "terms"
MIGRATION_PAGE = 256

# Point ids derive from (document, version, chunk index): a re-delivered batch overwrites
# itself, and a new version's points sit beside the old ones until answers switch to it.
POINT_NAMESPACE = uuid.UUID("6f1d4a52-9b7e-4c1e-8a43-2f0c3b5d7e91")


def collection_name(company_id: UUID) -> str:
    """The company's collection, with the dense and the sparse vector."""
    return f"company_{company_id.hex}_hybrid"


def legacy_collection_name(company_id: UUID) -> str:
    """Where the company's points were before sparse vectors: one unnamed dense vector."""
    return f"company_{company_id.hex}"


def point_id(document_id: UUID, chunk_index: int, version: int = 1) -> str:
    # Version 1 keeps the id it had before documents had versions.
    name = (
        f"{document_id}:{chunk_index}" if version == 1 else f"{document_id}:{version}:{chunk_index}"
    )
    return str(uuid.uuid5(POINT_NAMESPACE, name))


def _document(document_id: UUID) -> models.FieldCondition:
    return models.FieldCondition(key="document_id", match=models.MatchValue(value=str(document_id)))


@dataclass(frozen=True)
class Metadata:
    """What people call a document and how they file it: every point of the document carries
    them, for citations and filters."""

    title: str
    tags: tuple[str, ...] = ()
    category: str | None = None

    def payload(self) -> dict[str, Any]:
        return {"title": self.title, "tags": list(self.tags), "category": self.category}


@dataclass(frozen=True)
class RetrievedChunk:
    document_id: UUID
    title: str
    chunk_index: int
    text: str
    score: float
    version: int = 1
    page: int | None = None
    section: str | None = None
    tags: tuple[str, ...] = ()


class VectorStore:
    def __init__(
        self,
        client: AsyncQdrantClient,
        dimension: int,
        *,
        server: bool,
        sparse: SparseEncoder | None = None,
    ) -> None:
        self.client = client
        self.dimension = dimension
        self.server = server
        self.sparse = sparse or SparseEncoder()
        # Collections seen to exist. None is ever dropped, so this spares a round trip to
        # Qdrant on every batch and every question.
        self._collections: set[str] = set()
        # One company's collection is made or migrated by one caller at a time.
        self._preparing = asyncio.Lock()

    @classmethod
    def from_settings(cls, settings: QuerySettings, dimension: int) -> "VectorStore":
        if settings.qdrant_url:
            client = AsyncQdrantClient(
                url=settings.qdrant_url, api_key=settings.qdrant_api_key or None
            )
            return cls(client, dimension, server=True)
        settings.qdrant_path.mkdir(parents=True, exist_ok=True)
        return cls(AsyncQdrantClient(path=str(settings.qdrant_path)), dimension, server=False)

    async def ensure_collection(self, company_id: UUID) -> str:
        name = await self._existing_collection(company_id)
        if name is None:
            async with self._preparing:
                name = collection_name(company_id)
                if not await self.client.collection_exists(name):
                    await self._create(name)
                self._collections.add(name)
        return name

    async def _create(self, name: str) -> None:
        await self.client.create_collection(
            name,
            vectors_config={
                DENSE: models.VectorParams(size=self.dimension, distance=models.Distance.COSINE)
            },
            sparse_vectors_config={TERMS: models.SparseVectorParams(modifier=models.Modifier.IDF)},
        )
        if self.server:  # local mode has no payload indexes
            for field, schema in (
                ("document_id", models.PayloadSchemaType.KEYWORD),
                ("version", models.PayloadSchemaType.INTEGER),
                ("tags", models.PayloadSchemaType.KEYWORD),
            ):
                await self.client.create_payload_index(name, field, field_schema=schema)

    def _point(
        self, point_id: str, dense: list[float], text: str, payload: dict[str, Any]
    ) -> models.PointStruct:
        return models.PointStruct(
            id=point_id,
            vector={DENSE: dense, TERMS: self.sparse.document(text)},
            payload=payload,
        )

    async def upsert_chunks(
        self, company_id: UUID, batch: DocumentChunksEmbeddedV1, metadata: Metadata | None = None
    ) -> None:
        """`metadata`, when given, is a later change than the one the batch was embedded with."""
        name = await self.ensure_collection(company_id)
        labels = (metadata or Metadata(batch.title, tuple(batch.tags), batch.category)).payload()
        await self.client.upsert(
            name,
            points=[
                self._point(
                    point_id(batch.document_id, chunk.index, batch.document_version),
                    chunk.dense(),
                    chunk.text,
                    {
                        "company_id": str(company_id),
                        "document_id": str(batch.document_id),
                        "version": batch.document_version,
                        "chunk_index": chunk.index,
                        "text": chunk.text,
                        "char_start": chunk.char_start,
                        "char_end": chunk.char_end,
                        "page": chunk.page,
                        "section": chunk.section,
                        **labels,
                    },
                )
                for chunk in batch.chunks
            ],
            wait=True,
        )

    async def delete_document(self, company_id: UUID, document_id: UUID) -> None:
        """Every point of the document, whatever its version."""
        await self._delete(company_id, models.Filter(must=[_document(document_id)]))

    async def delete_versions_before(
        self, company_id: UUID, document_id: UUID, version: int
    ) -> None:
        """The points of the document's earlier versions (those from before versions existed
        have no version: they go too)."""
        newer = models.FieldCondition(key="version", range=models.Range(gte=version))
        await self._delete(
            company_id, models.Filter(must=[_document(document_id)], must_not=[newer])
        )

    async def set_metadata(self, company_id: UUID, document_id: UUID, metadata: Metadata) -> None:
        """Every point of the document, whatever its version, takes the metadata."""
        name = await self._existing_collection(company_id)
        if name is None:
            return
        await self.client.set_payload(
            name,
            payload=metadata.payload(),
            points=models.Filter(must=[_document(document_id)]),
            wait=True,
        )

    async def _existing_collection(self, company_id: UUID) -> str | None:
        """The company's collection, if it has one; a collection left from before sparse
        vectors is migrated into it first, so no caller ever sees the old schema."""
        name = collection_name(company_id)
        if name in self._collections:
            return name
        async with self._preparing:
            if name not in self._collections:
                legacy = legacy_collection_name(company_id)
                if await self.client.collection_exists(legacy):
                    await self._migrate(legacy, name)
                if not await self.client.collection_exists(name):
                    return None
                self._collections.add(name)
        return name

    async def _migrate(self, legacy: str, name: str) -> None:
        """Copies every point of a dense-only collection into the new schema, giving each the
        sparse vector of its own text, then drops the old collection. Nothing is lost if this
        stops half-way: the old collection stays until the copy is complete, and copying again
        overwrites the same point ids."""
        if not await self.client.collection_exists(name):
            await self._create(name)
        copied = 0
        offset: models.ExtendedPointId | None = None
        while True:
            points, offset = await self.client.scroll(
                legacy, limit=MIGRATION_PAGE, offset=offset, with_payload=True, with_vectors=True
            )
            batch = []
            for point in points:
                dense = _plain_vector(point.vector)
                if dense is None:
                    continue
                payload = point.payload or {}
                batch.append(
                    self._point(str(point.id), dense, str(payload.get("text", "")), payload)
                )
            if batch:
                await self.client.upsert(name, points=batch, wait=True)
                copied += len(batch)
            if offset is None:
                break
        await self.client.delete_collection(legacy)
        logger.warning("migrated %d points from %s into %s (dense + sparse)", copied, legacy, name)

    async def _delete(self, company_id: UUID, selection: models.Filter) -> None:
        name = await self._existing_collection(company_id)
        if name is None:
            return
        await self.client.delete(
            name, points_selector=models.FilterSelector(filter=selection), wait=True
        )

    async def search(
        self,
        company_id: UUID,
        vector: list[float] | None = None,
        *,
        text: str | None = None,
        limit: int,
        min_score: float = 0.0,
        document_ids: Collection[UUID] | None = None,
        tags: Collection[str] | None = None,
    ) -> list[RetrievedChunk]:
        """The company's best chunks: by the dense `vector`, by the terms of `text`, or by
        both fused with reciprocal rank fusion (each ranked list fetches `limit` candidates).
        `min_score` is a cosine similarity, so it bounds the dense ranking only.

        A hit's score is its cosine similarity to `vector` whenever there is one, hybrid hits
        included (ranked by the fusion, but scored on the scale thresholds are set in); by
        terms alone it is the BM25 score.

        `document_ids` keeps the given documents only, `tags` the documents with any of the
        given tags; both given, a chunk must pass both.

        The collection comes from the verified company id only, and every hit's payload is
        checked again before it is used: a hit that names another company is dropped and
        logged, never filtered away unseen, since it can only be a bug."""
        if vector is None and not text:
            raise ValueError("a search needs a vector, a text, or both")
        name = await self._existing_collection(company_id)
        if name is None or (document_ids is not None and not document_ids):
            return []
        if tags is not None and not tags:
            return []
        scope = _scope(document_ids, tags)
        dense = (
            models.Prefetch(
                query=vector, using=DENSE, filter=scope, limit=limit, score_threshold=min_score
            )
            if vector is not None
            else None
        )
        question_terms = self.sparse.query(text) if text else None
        sparse = (
            models.Prefetch(query=question_terms, using=TERMS, filter=scope, limit=limit)
            if question_terms is not None and question_terms.indices
            else None
        )
        if dense is None and sparse is None:
            return []  # a question of stop words only, searched by its terms alone
        if dense is not None and sparse is not None:
            result = await self.client.query_points(
                name,
                prefetch=[dense, sparse],
                query=models.FusionQuery(fusion=models.Fusion.RRF),
                limit=limit,
                with_payload=True,
                with_vectors=[DENSE],
            )
        else:
            single = dense or sparse
            assert single is not None
            result = await self.client.query_points(
                name,
                query=single.query,
                using=single.using,
                query_filter=scope,
                limit=limit,
                score_threshold=single.score_threshold,
                with_payload=True,
            )
        chunks = []
        for point in result.points:
            payload: dict[str, Any] = point.payload or {}
            if payload.get("company_id") != str(company_id):
                logger.error(
                    "dropped point %s of collection %s: its payload names company %r",
                    point.id,
                    name,
                    payload.get("company_id"),
                )
                continue
            chunks.append(
                RetrievedChunk(
                    document_id=UUID(payload["document_id"]),
                    title=str(payload.get("title", "")),
                    chunk_index=int(payload.get("chunk_index", 0)),
                    text=str(payload.get("text", "")),
                    score=_cosine(vector, point.vector) if dense and sparse else float(point.score),
                    version=int(payload.get("version", 1)),
                    page=payload.get("page"),
                    section=payload.get("section"),
                    tags=tuple(payload.get("tags") or ()),
                )
            )
        return chunks

    async def close(self) -> None:
        await self.client.close()


def _scope(
    document_ids: Collection[UUID] | None, tags: Collection[str] | None
) -> models.Filter | None:
    conditions: list[models.Condition] = []
    if document_ids is not None:
        conditions.append(
            models.FieldCondition(
                key="document_id",
                match=models.MatchAny(any=[str(document_id) for document_id in document_ids]),
            )
        )
    if tags is not None:
        conditions.append(models.FieldCondition(key="tags", match=models.MatchAny(any=list(tags))))
    return models.Filter(must=conditions) if conditions else None


def _cosine(vector: list[float] | None, stored: Any) -> float:
    """Cosine similarity of the question's vector and a hit's dense vector."""
    dense = stored.get(DENSE) if isinstance(stored, dict) else None
    if vector is None or not isinstance(dense, list) or not dense:
        return 0.0
    dot = sum(a * float(b) for a, b in zip(vector, dense, strict=False))
    norms = math.sqrt(sum(a * a for a in vector)) * math.sqrt(sum(float(b) ** 2 for b in dense))
    return dot / norms if norms else 0.0


def _plain_vector(stored: Any) -> list[float] | None:
    """A legacy point's one unnamed dense vector."""
    if isinstance(stored, list) and stored and all(isinstance(x, (int, float)) for x in stored):
        return [float(x) for x in stored]
    return None
