"""Several uploads in flight at once, on an embedder with replicas side by side: each
document still gets all of its batches, whole and in order, with its own chunks' vectors."""

import asyncio
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from sqlalchemy.exc import IntegrityError

from common.blobs import LocalBlobStore
from common.bus import create_broker
from common.db import Database
from common.embedding import Embedder
from common.events import DocumentUploaded
from ingest.documents import consumers, service
from ingest.documents.models import DocumentStatus
from ingest.documents.service import Pipeline
from ingest.settings import IngestSettings

from .test_service import chunk_batches, stored, unique_text, uploaded


@pytest.fixture(scope="module")
def pooled_embedder() -> Iterator[Embedder]:
    """Replicas set torch's threads for the whole process: given back afterwards."""
    threads = torch.get_num_threads()
    try:
        yield Embedder(workers=2)
    finally:
        torch.set_num_threads(threads)


@pytest.fixture
def concurrent_pipeline(
    ingest_database: Database, pooled_embedder: Embedder, tmp_path: Path
) -> Pipeline:
    settings = IngestSettings(
        blob_root=tmp_path, chunk_max_tokens=40, chunk_overlap_tokens=8, chunks_per_event=3
    )
    return Pipeline(
        database=ingest_database,
        blobs=LocalBlobStore(tmp_path),
        embedder=pooled_embedder,
        settings=settings,
    )


async def test_documents_processed_at_once_each_get_all_their_batches(
    concurrent_pipeline: Pipeline, embedder: Embedder
) -> None:
    pipeline = concurrent_pipeline
    first = await uploaded(pipeline, unique_text())
    company_id = first.company_id
    others = [await uploaded(pipeline, unique_text(), company_id=company_id) for _ in range(2)]
    events: list[DocumentUploaded] = [first, *others]

    await asyncio.gather(*(service.process_upload(pipeline, event) for event in events))

    batches = await chunk_batches(pipeline.database, company_id)
    for event in events:
        document_id = event.payload.document_id
        found = await stored(pipeline.database, company_id, document_id)
        assert found.status == DocumentStatus.INDEXING
        own = [b for b in batches if b.payload.document_id == document_id]
        assert [b.payload.batch_index for b in own] == list(range(len(own)))
        assert {b.payload.batch_count for b in own} == {len(own)}
        chunks = [c for b in own for c in b.payload.chunks]
        assert [c.index for c in chunks] == list(range(found.chunk_count or 0))
        expected = embedder.embed([c.text for c in chunks])
        assert np.allclose([c.dense() for c in chunks], expected, atol=1e-5)


async def test_the_same_content_twice_at_once_keeps_one(concurrent_pipeline: Pipeline) -> None:
    # Both may pass the duplicate check together: the unique index refuses the second, and
    # the consumer's retry (done here by hand) then records it as the duplicate.
    pipeline = concurrent_pipeline
    raw = unique_text()
    first = await uploaded(pipeline, raw)
    second = await uploaded(pipeline, raw, company_id=first.company_id)
    outcomes = await asyncio.gather(
        *(service.process_upload(pipeline, event) for event in (first, second)),
        return_exceptions=True,
    )
    for event, outcome in zip((first, second), outcomes, strict=True):
        if isinstance(outcome, Exception):
            assert isinstance(outcome, IntegrityError)
            await service.process_upload(pipeline, event)

    found = [
        await stored(pipeline.database, first.company_id, event.payload.document_id)
        for event in (first, second)
    ]
    kept = [d for d in found if d.status == DocumentStatus.INDEXING]
    refused = [d for d in found if d.status == DocumentStatus.FAILED]
    assert len(kept) == len(refused) == 1
    assert refused[0].duplicate_of == kept[0].id


def test_one_uploads_consumer_per_concurrent_upload(
    ingest_database: Database, embedder: Embedder, tmp_path: Path
) -> None:
    settings = IngestSettings(concurrent_uploads=3)
    broker = create_broker(settings)
    pipeline = Pipeline(
        database=ingest_database,
        blobs=LocalBlobStore(tmp_path),
        embedder=embedder,
        settings=settings,
    )
    consumers.register(broker, pipeline)
    groups = [
        subscriber.group_id
        for subscriber in broker.subscribers
        if [topic.name for topic in subscriber.topics] == [DocumentUploaded.topic]
    ]
    assert groups == [service.UPLOADS_CONSUMER] * 3
