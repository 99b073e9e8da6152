"""A document's life in ingest: recorded on upload; extracted, chunked and embedded, each
stage with its progress and time; indexing once its chunks are queued for query; ready when
query reports them indexed; or failed with a reason a person can act on (a document past the
plan's characters among them, see `characters`). Deleting it asks query to purge its vectors;
the file goes with it, and once purged its storage is given back (`document.storage_released`,
as for an upload ended as a duplicate).

Every status change is committed with a `document.status_changed` event in the outbox, so
whoever follows the document live sees exactly what the database holds. Likewise a change of
its title, tags or category, with a `document.metadata_changed` event, for query's citations.
"""

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from uuid import UUID

import anyio
import numpy as np
from numpy.typing import NDArray
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from common.blobs import LocalBlobStore, document_prefix
from common.bus import add_to_outbox, already_processed, record_processed
from common.db import Database
from common.embedding import Embedder
from common.events import (
    DocumentChunksEmbedded,
    DocumentChunksEmbeddedV1,
    DocumentDeleted,
    DocumentDeletedV1,
    DocumentIndexed,
    DocumentMetadataChanged,
    DocumentMetadataChangedV1,
    DocumentPurged,
    DocumentStatusChanged,
    DocumentStatusChangedV1,
    DocumentStorageReleased,
    DocumentStorageReleasedV1,
    DocumentUploaded,
    EmbeddedChunk,
    Event,
)
from common.suspensions import Suspensions
from ingest.chunking import Chunk, HuggingFaceTokenizer, chunk_document
from ingest.db import inbox, outbox
from ingest.documents import characters
from ingest.documents.models import GONE_STATUSES, LIVE_STATUSES, Document, DocumentStatus
from ingest.extraction import ExtractionError, extract_document
from ingest.extraction.isolated import ExtractionCrashed, run_isolated
from ingest.extraction.language import detect_language
from ingest.extraction.model import ExtractedDocument
from ingest.settings import IngestSettings

logger = logging.getLogger(__name__)

UPLOADS_CONSUMER = "ingest.documents-uploaded"
INDEXED_CONSUMER = "ingest.documents-indexed"
DELETED_CONSUMER = "ingest.documents-deleted"
PURGED_CONSUMER = "ingest.documents-purged"

# Progress at the start of each stage; embedding fills the span up to indexing.
PROGRESS = {
    DocumentStatus.PENDING: 0,
    DocumentStatus.EXTRACTING: 5,
    DocumentStatus.CHUNKING: 25,
    DocumentStatus.EMBEDDING: 30,
    DocumentStatus.INDEXING: 90,
    DocumentStatus.READY: 100,
}
PROCESSING_STATUSES = (DocumentStatus.EXTRACTING, DocumentStatus.CHUNKING, DocumentStatus.EMBEDDING)
GONE_OR_GOING = (DocumentStatus.DELETING, DocumentStatus.DELETED)
UNREADABLE = (
    "The file could not be read: it may be damaged, or use a variant of its format that is "
    "not supported. Try saving it again (or exporting it to PDF) and upload that copy."
)


@dataclass
class Pipeline:
    database: Database
    blobs: LocalBlobStore
    embedder: Embedder
    settings: IngestSettings
    suspensions: Suspensions = field(default_factory=Suspensions)
    chunking: threading.Lock = field(default_factory=threading.Lock)
    """Held while a document is chunked: documents are processed concurrently, and the
    embedder's tokenizer, which chunking uses, is not thread-safe."""


class DuplicateContent(Exception):
    """Carries plain values: the row it was read with is expired once its transaction rolls back."""

    def __init__(self, existing: Document) -> None:
        super().__init__(str(existing.id))
        self.existing_id: UUID = existing.id
        self.existing_title: str = existing.title


def status_event(document: Document, cause: Event | None = None) -> DocumentStatusChanged:
    return DocumentStatusChanged.new(
        document.company_id,
        DocumentStatusChangedV1(
            document_id=document.id,
            status=document.status,
            progress=document.progress,
            failure_reason=document.failure_reason,
        ),
        cause=cause,
    )


def _metadata(document: Document) -> DocumentMetadataChangedV1:
    return DocumentMetadataChangedV1(
        document_id=document.id,
        title=document.title,
        tags=list(document.tags),
        category=document.category,
    )


async def _announce_metadata(
    session: AsyncSession,
    document: Document,
    before: DocumentMetadataChangedV1,
    cause: Event | None,
) -> None:
    """Query keeps its own copy of the title, tags and category for citations and filters:
    every change of them is announced in the transaction that makes it, however it is made."""
    after = _metadata(document)
    if after != before:
        await add_to_outbox(
            session, outbox, DocumentMetadataChanged.new(document.company_id, after, cause=cause)
        )


async def _set_status(
    session: AsyncSession,
    document: Document,
    status: DocumentStatus,
    cause: Event | None,
    *,
    progress: int | None = None,
    timings: dict[str, Any] | None = None,
    **fields: Any,
) -> None:
    document.status = status
    document.progress = PROGRESS.get(status, document.progress) if progress is None else progress
    if timings:
        document.stage_timings = {**document.stage_timings, **timings}
    for name, value in fields.items():
        setattr(document, name, value)
    await session.flush()
    await add_to_outbox(session, outbox, status_event(document, cause))


def storage_released(
    document: Document, size: int, reason: Literal["deleted", "duplicate"], cause: Event
) -> DocumentStorageReleased:
    return DocumentStorageReleased.new(
        document.company_id,
        DocumentStorageReleasedV1(document_id=document.id, bytes=size, reason=reason),
        cause=cause,
    )


async def _live_duplicate(session: AsyncSession, event: DocumentUploaded) -> Document | None:
    return await session.scalar(
        select(Document).where(
            Document.company_id == event.company_id,
            Document.sha256 == event.payload.sha256,
            Document.id != event.payload.document_id,
            Document.status.in_(LIVE_STATUSES),
        )
    )


def _new_document(event: DocumentUploaded, status: DocumentStatus) -> Document:
    document = Document(id=event.payload.document_id, company_id=event.company_id)
    _start_version(document, event, status, version=event.payload.document_version)
    return document


def _start_version(
    document: Document, event: DocumentUploaded, status: DocumentStatus, *, version: int
) -> None:
    """Points the row at the uploaded content: everything learned about an earlier version's
    file goes; `active_version` stays, as answers keep using it until this one is indexed."""
    p = event.payload
    document.version = version
    document.title = p.title
    document.filename = p.filename
    document.content_type = p.content_type
    document.size_bytes = p.size_bytes
    document.sha256 = p.sha256
    document.blob_key = p.blob_key
    document.uploaded_by = p.uploaded_by
    document.tags = list(p.tags)
    document.category = p.category
    document.status = status
    document.progress = PROGRESS.get(status, 0)
    document.stage_timings = {}
    for learned in (
        "failure_reason",
        "duplicate_of",
        "detected_format",
        "language",
        "page_count",
        "ocr_pages",
        "char_count",
        "chunk_count",
        "ready_at",
    ):
        setattr(document, learned, None)


async def _record_upload(session: AsyncSession, event: DocumentUploaded) -> Document:
    """The document's row at the upload's first stage: a new row, or, for a new version, the
    existing row moved on to it. A live copy of the same content elsewhere is refused (the
    unique index settles a race between two uploads of it)."""
    document = await session.get(Document, event.payload.document_id)
    if document is not None and document.blob_key == event.payload.blob_key:
        return document  # this very upload, seen before
    if document is not None and document.status in GONE_OR_GOING:
        await _version_of_a_gone_document(session, document, event)
        return document
    existing = await _live_duplicate(session, event)
    if existing is not None:
        raise DuplicateContent(existing)
    if document is None:
        document = _new_document(event, DocumentStatus.EXTRACTING)
        document.stored_bytes = event.payload.size_bytes
        session.add(document)
    else:
        before = _metadata(document)
        # Versions are numbered here, in the order ingest sees them: two new versions
        # uploaded at once both get a number, the later one wins.
        version = max(event.payload.document_version, document.version + 1)
        _start_version(document, event, DocumentStatus.EXTRACTING, version=version)
        document.stored_bytes += event.payload.size_bytes
        await _announce_metadata(session, document, before, event)
    await session.flush()
    await add_to_outbox(session, outbox, status_event(document, event))
    return document


async def _version_of_a_gone_document(
    session: AsyncSession, document: Document, event: DocumentUploaded
) -> None:
    """A version that raced the document's deletion is not processed; its bytes go with the
    document's (or at once, when they are already gone)."""
    if not await record_processed(session, inbox, UPLOADS_CONSUMER, event):
        return
    if document.status == DocumentStatus.DELETING:
        document.stored_bytes += event.payload.size_bytes
    else:
        await add_to_outbox(
            session,
            outbox,
            storage_released(document, event.payload.size_bytes, "deleted", event),
        )


async def process_upload(pipeline: Pipeline, event: DocumentUploaded) -> None:
    """The slow stages run outside any transaction; each stage boundary commits the status,
    and each batch of embedded chunks is queued as soon as it is ready. The inbox entry is
    committed with the last step (the last batch queued, or failure), so a crash part-way
    re-runs the document from the start, which rewrites the same rows and ids.

    Several uploads are processed at once (`concurrent_uploads`), as several replicas would:
    one's extraction and chunking overlap another's embedding, and the embedder's replicas
    share out the slices of all of them."""
    database = pipeline.database
    try:
        async with database.transaction(event.company_id) as session:
            if await already_processed(session, inbox, UPLOADS_CONSUMER, event.id):
                return
            document = await _record_upload(session, event)
    except DuplicateContent as duplicate:
        await _record_duplicate(pipeline, event, duplicate)
        return
    # (An IntegrityError above means another upload of the same content won a race: the
    # consumer's retry then finds it and records this one as its duplicate.)
    if document.status not in PROCESSING_STATUSES:
        return
    if pipeline.suspensions.is_suspended(event.company_id):
        await _fail(pipeline, event, "The company is suspended; its documents are not processed.")
        return
    try:
        await _run_stages(pipeline, event, document.version)
    except ExtractionError as exc:
        await _fail(pipeline, event, str(exc))
    except FileNotFoundError:
        await _fail(pipeline, event, "The uploaded file is missing from storage; upload it again.")


async def _run_stages(pipeline: Pipeline, event: DocumentUploaded, version: int) -> None:
    settings = pipeline.settings
    document_id = event.payload.document_id
    started = time.perf_counter()
    raw = await pipeline.blobs.read_bytes(event.payload.blob_key)
    try:
        extracted = await run_isolated(
            extract_document,
            raw,
            settings.extraction_limits(),
            memory_bytes=settings.extraction_memory_mib * 1024 * 1024,
            timeout_seconds=settings.extraction_timeout_seconds,
        )
    except ExtractionCrashed as exc:
        # A format library choking on a hostile or broken file is the file's failure, not ours.
        logger.warning(
            "extraction crashed", extra={"document_id": str(document_id), "error": str(exc)}
        )
        raise ExtractionError(UNREADABLE) from exc
    language = await anyio.to_thread.run_sync(detect_language, extracted.text)
    admitted = await _admit(
        pipeline,
        event,
        timings={"extracting_ms": _ms_since(started)},
        detected_format=str(extracted.format),
        language=language,
        page_count=extracted.page_count,
        ocr_pages=extracted.ocr_pages,
        char_count=len(extracted.text),
    )
    if not admitted:
        return

    started = time.perf_counter()
    chunks = await anyio.to_thread.run_sync(_chunk, pipeline, extracted)
    if not chunks:
        raise ExtractionError("The file contains no text.")
    await _advance(
        pipeline, event, DocumentStatus.EMBEDDING, timings={"chunking_ms": _ms_since(started)}
    )
    await _embed_and_queue(pipeline, event, chunks, version)


@dataclass(frozen=True)
class _Batch:
    """One slice of a document's chunks, embedded, on its way to query."""

    number: int
    count: int
    chunks: Sequence[Chunk]
    vectors: NDArray[np.float32]
    chunk_count: int
    """Of the whole document."""

    @property
    def is_last(self) -> bool:
        return self.number == self.count - 1


async def _embed_and_queue(
    pipeline: Pipeline, event: DocumentUploaded, chunks: list[Chunk], version: int
) -> None:
    """Embeds the chunks in slices of `chunks_per_event` and queues each slice's batch for
    query as soon as it is embedded: query indexes a document while the rest of it is being
    embedded, and the model never waits on a transaction, as the next slice is embedded while
    this one's commits. The last batch goes in the transaction that records the upload as
    processed and moves the document on to indexing, so query cannot finish a document before
    ingest has.

    A crash part-way re-runs the document, which queues its first batches again under new
    event ids: query knows a batch it has indexed by document, version and position, and
    writes the same point ids."""
    started = time.perf_counter()
    per_event = pipeline.settings.chunks_per_event
    slices = [chunks[first : first + per_event] for first in range(0, len(chunks), per_event)]
    embedding = asyncio.create_task(_embed(pipeline, slices[0]))
    try:
        for number, chunk_slice in enumerate(slices):
            batch = _Batch(number, len(slices), chunk_slice, await embedding, len(chunks))
            if batch.is_last:
                await _queue_last_batch(
                    pipeline, event, batch, version, embedding_ms=_ms_since(started)
                )
                return
            embedding = asyncio.create_task(_embed(pipeline, slices[number + 1]))
            if not await _queue_batch(pipeline, event, batch, version):
                return
    finally:
        await _discard(embedding)


async def _embed(pipeline: Pipeline, chunk_slice: Sequence[Chunk]) -> NDArray[np.float32]:
    return await pipeline.embedder.embed_async([chunk.text for chunk in chunk_slice])


async def _discard(embedding: "asyncio.Task[NDArray[np.float32]]") -> None:
    """A slice embedded ahead that is not wanted (the run failed or stopped part-way): its
    outcome, even a failure, is dropped, so nothing is left running or unretrieved."""
    if not embedding.done():
        embedding.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await embedding


async def _queue_batch(
    pipeline: Pipeline, event: DocumentUploaded, batch: _Batch, version: int
) -> bool:
    """Queues a batch before the last, moving progress on where it crosses a tenth. False
    when the document is no longer this run's to embed (another delivery of the upload has
    finished it), so the run stops."""
    async with pipeline.database.transaction(event.company_id) as session:
        document = await session.get_one(Document, event.payload.document_id)
        if document.status in GONE_OR_GOING:
            raise ExtractionError("The document was deleted while it was being processed.")
        if document.status != DocumentStatus.EMBEDDING or document.version != version:
            return False
        await add_to_outbox(
            session,
            outbox,
            _batch_event(event, document, batch, model=pipeline.embedder.model_name),
        )
        before = batch.number * pipeline.settings.chunks_per_event
        done = before + len(batch.chunks)
        if _crosses_tenth(before, done, batch.chunk_count):
            span = PROGRESS[DocumentStatus.INDEXING] - PROGRESS[DocumentStatus.EMBEDDING]
            progress = PROGRESS[DocumentStatus.EMBEDDING] + span * done // batch.chunk_count
            await _set_status(session, document, DocumentStatus.EMBEDDING, event, progress=progress)
    return True


async def _queue_last_batch(
    pipeline: Pipeline, event: DocumentUploaded, batch: _Batch, version: int, *, embedding_ms: int
) -> None:
    async with pipeline.database.transaction(event.company_id) as session:
        if not await record_processed(session, inbox, UPLOADS_CONSUMER, event):
            return
        document = await session.get_one(Document, event.payload.document_id)
        if document.status != DocumentStatus.EMBEDDING or document.version != version:
            return  # deleted meanwhile, or no longer this version
        await _set_status(
            session,
            document,
            DocumentStatus.INDEXING,
            event,
            timings={
                "embedding_ms": embedding_ms,
                "indexing_started_at": datetime.now(UTC).isoformat(),
            },
            chunk_count=batch.chunk_count,
        )
        await add_to_outbox(
            session,
            outbox,
            _batch_event(event, document, batch, model=pipeline.embedder.model_name),
        )


def _chunk(pipeline: Pipeline, extracted: ExtractedDocument) -> list[Chunk]:
    """In a worker thread; one document at a time, as the tokenizer is not thread-safe."""
    settings = pipeline.settings
    with pipeline.chunking:
        return chunk_document(
            extracted,
            HuggingFaceTokenizer(pipeline.embedder.tokenizer),
            max_tokens=settings.chunk_max_tokens,
            overlap_tokens=settings.chunk_overlap_tokens,
        )


def _crosses_tenth(before: int, after: int, total: int) -> bool:
    """Progress is published about every tenth of the way, not for every batch."""
    return (before * 10) // total != (after * 10) // total


def _ms_since(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)


async def _admit(
    pipeline: Pipeline,
    event: DocumentUploaded,
    *,
    timings: dict[str, Any],
    char_count: int,
    **fields: Any,
) -> bool:
    """Past extraction: the document moves on to chunking if its characters fit the plan, or
    fails with the reason; one transaction decides, under the company's lock."""
    async with pipeline.database.transaction(event.company_id) as session:
        document = await session.get_one(Document, event.payload.document_id)
        if document.status in GONE_OR_GOING:
            raise ExtractionError("The document was deleted while it was being processed.")
        reason = await characters.refusal(session, document, char_count)
        if reason is None:
            await _set_status(
                session,
                document,
                DocumentStatus.CHUNKING,
                event,
                timings=timings,
                char_count=char_count,
                **fields,
            )
            return True
        if await record_processed(session, inbox, UPLOADS_CONSUMER, event):
            await _set_status(
                session,
                document,
                DocumentStatus.FAILED,
                event,
                timings=timings,
                char_count=char_count,
                failure_reason=reason,
                **fields,
            )
        return False


async def _advance(
    pipeline: Pipeline,
    event: DocumentUploaded,
    status: DocumentStatus,
    *,
    progress: int | None = None,
    timings: dict[str, Any] | None = None,
    **fields: Any,
) -> None:
    async with pipeline.database.transaction(event.company_id) as session:
        document = await session.get_one(Document, event.payload.document_id)
        if document.status in GONE_OR_GOING:
            raise ExtractionError("The document was deleted while it was being processed.")
        await _set_status(
            session, document, status, event, progress=progress, timings=timings, **fields
        )


def _batch_event(
    event: DocumentUploaded, document: Document, batch: _Batch, *, model: str
) -> DocumentChunksEmbedded:
    """The batch as query reads it, labelled with the document's title, tags and category as
    they are now; its vectors packed (float32, base64), a quarter of a JSON list's size."""
    return DocumentChunksEmbedded.new(
        event.company_id,
        DocumentChunksEmbeddedV1(
            document_id=document.id,
            title=document.title,
            embedding_model=model,
            batch_index=batch.number,
            batch_count=batch.count,
            chunk_count=batch.chunk_count,
            tags=list(document.tags),
            category=document.category,
            document_version=document.version,
            chunks=[
                EmbeddedChunk(
                    index=chunk.index,
                    text=chunk.text,
                    char_start=chunk.char_start,
                    char_end=chunk.char_end,
                    page=chunk.page,
                    section=chunk.section,
                    packed_vector=EmbeddedChunk.pack(vector),
                )
                for chunk, vector in zip(batch.chunks, batch.vectors, strict=True)
            ],
        ),
        cause=event,
    )


async def _fail(pipeline: Pipeline, event: DocumentUploaded, reason: str) -> None:
    async with pipeline.database.transaction(event.company_id) as session:
        if not await record_processed(session, inbox, UPLOADS_CONSUMER, event):
            return
        document = await session.get_one(Document, event.payload.document_id)
        if document.status in GONE_OR_GOING:
            return
        await _set_status(session, document, DocumentStatus.FAILED, event, failure_reason=reason)


async def _record_duplicate(
    pipeline: Pipeline, event: DocumentUploaded, duplicate: DuplicateContent
) -> None:
    """The upload is not kept: it fails naming the document that has its content, its file
    goes and its bytes are given back."""
    async with pipeline.database.transaction(event.company_id) as session:
        if not await record_processed(session, inbox, UPLOADS_CONSUMER, event):
            return
        document = await session.get(Document, event.payload.document_id)
        if document is None:
            document = _new_document(event, DocumentStatus.FAILED)
            session.add(document)
        else:  # a new version whose content another document already has
            before = _metadata(document)
            _start_version(document, event, DocumentStatus.FAILED, version=document.version + 1)
            await _announce_metadata(session, document, before, event)
        document.duplicate_of = duplicate.existing_id
        document.failure_reason = (
            f"This file has the same content as «{duplicate.existing_title}» "
            f"({duplicate.existing_id}), which is already in your library."
        )
        await session.flush()
        await add_to_outbox(
            session,
            outbox,
            status_event(document, event),
            storage_released(document, event.payload.size_bytes, "duplicate", event),
        )
    # The upload's own folder: `<document>/versions/<id>` for a version, else the document's.
    await pipeline.blobs.delete_prefix(event.payload.blob_key.rsplit("/", 1)[0])


async def mark_indexed(database: Database, event: DocumentIndexed) -> None:
    """Query has indexed a version and switched answers to it: that is the active version,
    and if it is the latest, the document is ready."""
    indexed_version = event.payload.document_version
    async with database.transaction(event.company_id) as session:
        if not await record_processed(session, inbox, INDEXED_CONSUMER, event):
            return
        document = await session.get(Document, event.payload.document_id)
        if document is None or document.status in GONE_OR_GOING:
            return
        if indexed_version > (document.active_version or 0):
            document.active_version = indexed_version
            if indexed_version == document.version:
                document.active_char_count = document.char_count
        if document.status != DocumentStatus.INDEXING or document.version != indexed_version:
            return
        timings = dict(document.stage_timings)
        started = timings.pop("indexing_started_at", None)
        now = datetime.now(UTC)
        if started:
            timings["indexing_ms"] = int(
                (now - datetime.fromisoformat(started)).total_seconds() * 1000
            )
        document.stage_timings = timings
        await _set_status(session, document, DocumentStatus.READY, event, ready_at=now)


async def request_deletion(
    session: AsyncSession, company_id: UUID, document_id: UUID
) -> Document | None:
    """Marks the document deleting and asks for its vectors and file to be removed."""
    document = await get_document(session, company_id, document_id)
    if document is None:
        return None
    if document.status == DocumentStatus.DELETING:
        return document
    await _set_status(
        session, document, DocumentStatus.DELETING, None, deleted_at=datetime.now(UTC)
    )
    await add_to_outbox(
        session,
        outbox,
        DocumentDeleted.new(
            company_id,
            DocumentDeletedV1(
                document_id=document.id, blob_prefix=document_prefix(company_id, document.id)
            ),
        ),
    )
    return document


async def remove_file(pipeline: Pipeline, event: DocumentDeleted) -> None:
    """Deletes the stored file; idempotent, so it needs no inbox."""
    await pipeline.blobs.delete_prefix(event.payload.blob_prefix)


async def mark_purged(database: Database, event: DocumentPurged) -> None:
    async with database.transaction(event.company_id) as session:
        if not await record_processed(session, inbox, PURGED_CONSUMER, event):
            return
        document = await session.get(Document, event.payload.document_id)
        if document is None or document.status != DocumentStatus.DELETING:
            return
        released, document.stored_bytes = document.stored_bytes, 0
        await _set_status(session, document, DocumentStatus.DELETED, event)
        if released:
            await add_to_outbox(
                session, outbox, storage_released(document, released, "deleted", event)
            )


# Reads filter by company explicitly as well: RLS is the second line, not the only one.
async def get_document(
    session: AsyncSession, company_id: UUID, document_id: UUID
) -> Document | None:
    return await session.scalar(
        select(Document).where(
            Document.company_id == company_id,
            Document.id == document_id,
            Document.status.not_in(GONE_STATUSES),
        )
    )


async def find_by_hash(session: AsyncSession, company_id: UUID, sha256: str) -> Document | None:
    return await session.scalar(
        select(Document).where(
            Document.company_id == company_id,
            Document.sha256 == sha256,
            Document.status.in_(LIVE_STATUSES),
        )
    )


async def list_documents(
    session: AsyncSession, company_id: UUID, *, limit: int, offset: int
) -> tuple[list[Document], int]:
    visible = (Document.company_id == company_id) & Document.status.not_in(GONE_STATUSES)
    rows = await session.scalars(
        select(Document)
        .where(visible)
        .order_by(Document.created_at.desc(), Document.id)
        .limit(limit)
        .offset(offset)
    )
    total = await session.scalar(select(func.count()).select_from(Document).where(visible))
    return list(rows), int(total or 0)


async def update_metadata(
    session: AsyncSession,
    company_id: UUID,
    document_id: UUID,
    *,
    changes: dict[str, Any],
) -> Document | None:
    document = await get_document(session, company_id, document_id)
    if document is None or document.status == DocumentStatus.DELETING:
        return None
    before = _metadata(document)
    for name, value in changes.items():
        setattr(document, name, value)
    await session.flush()
    await _announce_metadata(session, document, before, None)
    return document
