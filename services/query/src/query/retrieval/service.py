"""Finding a company's chunks for a question: by meaning (the dense embedding), by words (the
sparse BM25 terms), or both fused with reciprocal rank fusion (hybrid, the default)."""

from collections.abc import Collection
from typing import Literal
from uuid import UUID

from common.db import Database
from common.embedding import Embedder
from query.index.service import SEARCH_OVERFETCH, keep_active
from query.index.store import RetrievedChunk, VectorStore

RetrievalMode = Literal["hybrid", "dense", "sparse"]


async def search(
    database: Database,
    store: VectorStore,
    embedder: Embedder,
    company_id: UUID,
    question: str,
    *,
    mode: RetrievalMode = "hybrid",
    limit: int,
    document_ids: Collection[UUID] | None = None,
    tags: Collection[str] | None = None,
    min_score: float = 0.0,
    question_vector: list[float] | None = None,
) -> list[RetrievedChunk]:
    """The company's best chunks for the question, of the documents' active versions only.

    `company_id` must be the verified one: it alone picks the collection. `document_ids` and
    `tags` narrow the search to a scope (an assistant's documents, say): None means no limit,
    and an empty set finds nothing. `min_score` is a cosine similarity that bounds the dense
    ranking; a hybrid hit may come from the terms alone (a product code the embedding misses).
    `question_vector` spares embedding a question the caller has embedded already.
    """
    vector = None
    if mode != "sparse":
        vector = question_vector or (await embedder.embed_async([question]))[0].tolist()
    hits = await store.search(
        company_id,
        vector,
        text=question if mode != "dense" else None,
        limit=limit * SEARCH_OVERFETCH,
        min_score=min_score,
        document_ids=document_ids,
        tags=tags,
    )
    return await keep_active(database, company_id, hits, limit=limit, tags=tags)
