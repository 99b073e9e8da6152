"""Batches whose vectors come packed (as ingest sends them) index exactly as those with JSON
lists (as older producers sent them), side by side in one collection."""

import uuid
from uuid import UUID

import numpy as np

from common.db import Database
from common.embedding import Embedder
from common.events import (
    DocumentChunksEmbedded,
    DocumentChunksEmbeddedV1,
    EmbeddedChunk,
    decode_event,
    encode_event,
)
from query.index import service
from query.index.store import DENSE, VectorStore, collection_name, point_id

TEXTS = [
    "Los empleados tienen veintitrés días de vacaciones.",
    "El teletrabajo se permite dos días por semana.",
]


def batch(
    company_id: UUID, document_id: UUID, texts: list[str], vectors: np.ndarray, *, packed: bool
) -> DocumentChunksEmbedded:
    chunks = [
        EmbeddedChunk(
            index=i,
            text=text,
            char_start=0,
            char_end=len(text),
            **(
                {"packed_vector": EmbeddedChunk.pack(vectors[i])}
                if packed
                else {"vector": vectors[i].tolist()}
            ),
        )
        for i, text in enumerate(texts)
    ]
    event = DocumentChunksEmbedded.new(
        company_id,
        DocumentChunksEmbeddedV1(
            document_id=document_id,
            title="Normas",
            embedding_model="all-MiniLM-L6-v2",
            batch_index=0,
            batch_count=1,
            chunk_count=len(chunks),
            chunks=chunks,
        ),
    )
    # Through the bus's encoding, as the consumer gets it.
    decoded = decode_event(encode_event(event))
    assert isinstance(decoded, DocumentChunksEmbedded)
    return decoded


async def stored_vector(store: VectorStore, company_id: UUID, document_id: UUID) -> list[float]:
    [point] = await store.client.retrieve(
        collection_name(company_id), [point_id(document_id, 0)], with_vectors=True
    )
    assert isinstance(point.vector, dict)
    vector = point.vector[DENSE]
    assert isinstance(vector, list)
    return [float(x) for x in vector]


async def test_packed_and_listed_vectors_index_alike(
    query_database: Database, store: VectorStore, embedder: Embedder
) -> None:
    company = uuid.uuid4()
    packed_document, listed_document = uuid.uuid4(), uuid.uuid4()
    vectors = embedder.embed(TEXTS)
    await service.index_batch(
        query_database, store, batch(company, packed_document, TEXTS, vectors, packed=True)
    )
    await service.index_batch(
        query_database, store, batch(company, listed_document, TEXTS, vectors, packed=False)
    )

    packed = await stored_vector(store, company, packed_document)
    listed = await stored_vector(store, company, listed_document)
    assert np.allclose(packed, vectors[0], atol=1e-6)
    assert np.allclose(packed, listed, atol=1e-6)

    question = embedder.embed(["¿Cuántos días de vacaciones hay?"])[0].tolist()
    hits = await service.search_active(
        query_database, store, company, question, limit=4, min_score=0.0
    )
    assert {(hit.document_id, hit.chunk_index) for hit in hits[:2]} == {
        (packed_document, 0),
        (listed_document, 0),
    }
    assert abs(hits[0].score - hits[1].score) < 1e-5
