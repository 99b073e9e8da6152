"""A chunk's vector on the bus: packed float32 from ingest, or a JSON list from producers
that predate it; consumers read either with `dense()`."""

import base64
import json
from typing import Any
from uuid import UUID

import numpy as np
import pytest
from pydantic import ValidationError

from common.events import (
    DocumentChunksEmbedded,
    DocumentChunksEmbeddedV1,
    EmbeddedChunk,
    UndecodableEvent,
    decode_event,
    encode_event,
)

COMPANY = UUID("00000000-0000-4000-8000-00000000000a")
DOCUMENT = UUID("00000000-0000-4000-8000-0000000000d1")
VECTOR = np.array([0.25, -1.0, 1e-7, 0.1, -0.333], dtype=np.float32)


def chunk(**vector: Any) -> EmbeddedChunk:
    return EmbeddedChunk(index=0, text="hola", char_start=0, char_end=4, **vector)


def batch(*chunks: EmbeddedChunk) -> DocumentChunksEmbedded:
    return DocumentChunksEmbedded.new(
        COMPANY,
        DocumentChunksEmbeddedV1(
            document_id=DOCUMENT,
            title="Normas",
            embedding_model="all-MiniLM-L6-v2",
            batch_index=0,
            batch_count=1,
            chunk_count=len(chunks),
            chunks=list(chunks),
        ),
    )


def test_a_packed_vector_travels_exactly() -> None:
    sent = batch(chunk(packed_vector=EmbeddedChunk.pack(VECTOR)))
    received = decode_event(encode_event(sent))
    assert isinstance(received, DocumentChunksEmbedded)
    assert received.payload.chunks[0].dense() == VECTOR.tolist()


def test_a_packed_vector_is_a_quarter_of_the_list() -> None:
    vector = np.random.default_rng(1).standard_normal(384).astype(np.float32)
    packed = len(encode_event(batch(chunk(packed_vector=EmbeddedChunk.pack(vector)))))
    listed = len(encode_event(batch(chunk(vector=vector.tolist()))))
    assert packed < listed / 3


def test_a_vector_as_a_list_is_still_read() -> None:
    body = encode_event(batch(chunk(vector=[0.5, -0.25])))
    received = decode_event(body)
    assert isinstance(received, DocumentChunksEmbedded)
    assert received.payload.chunks[0].dense() == [0.5, -0.25]
    assert json.loads(body)["payload"]["chunks"][0]["packed_vector"] is None


@pytest.mark.parametrize(
    "vector",
    [
        {},
        {"vector": [0.5], "packed_vector": EmbeddedChunk.pack(VECTOR)},
        {"packed_vector": ""},
        {"packed_vector": "not base64!"},
        {"packed_vector": base64.b64encode(b"\x00\x00\x80").decode()},  # 3 bytes
        {"packed_vector": EmbeddedChunk.pack(np.array([0.5, np.nan], dtype=np.float32))},
        {"packed_vector": EmbeddedChunk.pack(np.array([np.inf], dtype=np.float32))},
    ],
    ids=["none", "both", "empty", "not-base64", "partial-float", "nan", "infinite"],
)
def test_a_chunk_needs_exactly_one_well_formed_vector(vector: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        chunk(**vector)


def test_a_malformed_packed_vector_on_the_bus_is_undecodable() -> None:
    body = json.loads(encode_event(batch(chunk(packed_vector=EmbeddedChunk.pack(VECTOR)))))
    body["payload"]["chunks"][0]["packed_vector"] = "@@@@"
    with pytest.raises(UndecodableEvent):
        decode_event(json.dumps(body).encode())
