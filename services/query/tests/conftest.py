import functools
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from uuid import UUID

import pytest

from common.db import Database
from common.embedding import Embedder
from common.events import DocumentChunksEmbedded, DocumentChunksEmbeddedV1, EmbeddedChunk
from query.index.store import VectorStore
from query.settings import QuerySettings


@pytest.fixture(scope="session")
async def query_database(migrated_database: dict[str, dict[str, str]]) -> AsyncIterator[Database]:
    database = Database(migrated_database["query"]["DATABASE_URL"])
    yield database
    await database.dispose()


@pytest.fixture
async def store(tmp_path: Path, embedder: Embedder) -> AsyncIterator[VectorStore]:
    """Qdrant's local mode on a fresh path: the same client API as the server."""
    settings = QuerySettings(qdrant_path=tmp_path / "qdrant")
    vector_store = VectorStore.from_settings(settings, embedder.dimension)
    yield vector_store
    await vector_store.close()


def chunk_batches(
    embedder: Embedder,
    company_id: UUID,
    texts: list[str],
    *,
    per_batch: int = 2,
    document_id: UUID | None = None,
    title: str = "Manual",
    version: int = 1,
) -> list[DocumentChunksEmbedded]:
    """A document's chunks, embedded with the real model and batched as ingest batches them."""
    document_id = document_id or uuid.uuid4()
    vectors = embedder.embed(texts)
    chunks = [
        EmbeddedChunk(index=i, text=t, char_start=0, char_end=len(t), vector=vectors[i].tolist())
        for i, t in enumerate(texts)
    ]
    groups = [chunks[i : i + per_batch] for i in range(0, len(chunks), per_batch)]
    return [
        DocumentChunksEmbedded.new(
            company_id,
            DocumentChunksEmbeddedV1(
                document_id=document_id,
                title=title,
                embedding_model=embedder.model_name,
                batch_index=n,
                batch_count=len(groups),
                chunk_count=len(chunks),
                document_version=version,
                chunks=group,
            ),
        )
        for n, group in enumerate(groups)
    ]


MakeBatches = Callable[..., list[DocumentChunksEmbedded]]


@pytest.fixture
def make_batches(embedder: Embedder) -> MakeBatches:
    """Builds chunk batches with the session's real model."""
    return functools.partial(chunk_batches, embedder)
