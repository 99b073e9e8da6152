"""The vector index: one Qdrant collection per company. Only query reads or writes it."""

import uuid
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from qdrant_client import AsyncQdrantClient, models

from common.events import DocumentChunksEmbeddedV1
from query.settings import QuerySettings

# Point ids derive from (document, version, chunk index): a re-delivered batch overwrites
# itself, and a new version's points sit beside the old ones until answers switch to it.
POINT_NAMESPACE = uuid.UUID("6f1d4a52-9b7e-4c1e-8a43-2f0c3b5d7e91")


def collection_name(company_id: UUID) -> str:
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


class VectorStore:
    def __init__(self, client: AsyncQdrantClient, dimension: int, *, server: bool) -> None:
        self.client = client
        self.dimension = dimension
        self.server = server
        # Collections seen to exist. None is ever dropped, so this spares a round trip to
        # Qdrant on every batch and every question.
        self._collections: set[str] = set()

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
            name = collection_name(company_id)
            await self.client.create_collection(
                name,
                vectors_config=models.VectorParams(
                    size=self.dimension, distance=models.Distance.COSINE
                ),
            )
            if self.server:  # local mode has no payload indexes
                await self.client.create_payload_index(
                    name, "document_id", field_schema=models.PayloadSchemaType.KEYWORD
                )
                await self.client.create_payload_index(
                    name, "version", field_schema=models.PayloadSchemaType.INTEGER
                )
            self._collections.add(name)
        return name

    async def upsert_chunks(
        self, company_id: UUID, batch: DocumentChunksEmbeddedV1, metadata: Metadata | None = None
    ) -> None:
        """`metadata`, when given, is a later change than the one the batch was embedded with."""
        name = await self.ensure_collection(company_id)
        labels = (metadata or Metadata(batch.title, tuple(batch.tags), batch.category)).payload()
        await self.client.upsert(
            name,
            points=[
                models.PointStruct(
                    id=point_id(batch.document_id, chunk.index, batch.document_version),
                    vector=chunk.vector,
                    payload={
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
        name = collection_name(company_id)
        if name not in self._collections:
            if not await self.client.collection_exists(name):
                return None
            self._collections.add(name)
        return name

    async def _delete(self, company_id: UUID, selection: models.Filter) -> None:
        name = await self._existing_collection(company_id)
        if name is None:
            return
        await self.client.delete(
            name, points_selector=models.FilterSelector(filter=selection), wait=True
        )

    async def search(
        self, company_id: UUID, vector: list[float], *, limit: int, min_score: float
    ) -> list[RetrievedChunk]:
        """The company's best chunks. The collection comes from the verified company id only,
        and every hit's payload is checked again before it is used."""
        name = await self._existing_collection(company_id)
        if name is None:
            return []
        result = await self.client.query_points(
            name, query=vector, limit=limit, with_payload=True, score_threshold=min_score
        )
        chunks = []
        for point in result.points:
            payload: dict[str, Any] = point.payload or {}
            if payload.get("company_id") != str(company_id):
                continue
            chunks.append(
                RetrievedChunk(
                    document_id=UUID(payload["document_id"]),
                    title=str(payload.get("title", "")),
                    chunk_index=int(payload.get("chunk_index", 0)),
                    text=str(payload.get("text", "")),
                    score=float(point.score),
                    version=int(payload.get("version", 1)),
                    page=payload.get("page"),
                    section=payload.get("section"),
                )
            )
        return chunks

    async def close(self) -> None:
        await self.client.close()
