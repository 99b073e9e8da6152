"""The ingest pipeline against the real database (as the application role), the real model
and a real blob directory."""

import hashlib
import io
import uuid
from uuid import UUID

import numpy as np
from PIL import Image
from sqlalchemy import select

from common.blobs import document_prefix
from common.contracts.documents import DocumentOut
from common.db import Database
from common.events import (
    DocumentChunksEmbedded,
    DocumentDeleted,
    DocumentIndexed,
    DocumentIndexedV1,
    DocumentMetadataChanged,
    DocumentPurged,
    DocumentPurgedV1,
    DocumentStatusChanged,
    DocumentUploaded,
    DocumentUploadedV1,
    Event,
    decode_event,
)
from ingest.db import outbox
from ingest.documents import service
from ingest.documents.models import Document, DocumentStatus
from ingest.documents.service import Pipeline

TEXT = (
    "# Normas\n\n"
    + "Las vacaciones se piden con dos semanas de antelación a tu responsable. " * 12
    + "\n\n## Teletrabajo\n\n"
    + "Se puede teletrabajar dos días por semana, acordándolo con el equipo. " * 12
).encode()


def unique_text() -> bytes:
    """The same document with a distinct last line: uploads of equal content are refused."""
    return TEXT + f"\n\nReferencia {uuid.uuid4()}.".encode()


async def uploaded(
    pipeline: Pipeline,
    raw: bytes,
    *,
    company_id: UUID | None = None,
    tags: list[str] | None = None,
    document_id: UUID | None = None,
    version: int = 1,
) -> DocumentUploaded:
    company_id = company_id or uuid.uuid4()
    document_id = document_id or uuid.uuid4()
    prefix = document_prefix(company_id, document_id)
    key = f"{prefix}/original" if version == 1 else f"{prefix}/versions/{uuid.uuid4()}/original"
    path = pipeline.blobs.root / key
    path.parent.mkdir(parents=True)
    path.write_bytes(raw)
    return DocumentUploaded.new(
        company_id,
        DocumentUploadedV1(
            document_id=document_id,
            title="Normas",
            filename="normas.md",
            content_type="text/markdown",
            size_bytes=max(len(raw), 1),
            sha256=hashlib.sha256(raw).hexdigest(),
            blob_key=key,
            uploaded_by=uuid.uuid4(),
            tags=tags or [],
            category="rrhh",
            document_version=version,
        ),
    )


async def outbox_events(database: Database, company_id: UUID) -> list[Event]:
    async with database.transaction(company_id) as session:
        bodies = (await session.scalars(select(outbox.c.body).order_by(outbox.c.sequence))).all()
    return [decode_event(body) for body in bodies]


async def chunk_batches(database: Database, company_id: UUID) -> list[DocumentChunksEmbedded]:
    events = await outbox_events(database, company_id)
    return [e for e in events if isinstance(e, DocumentChunksEmbedded)]


async def statuses(database: Database, company_id: UUID, document_id: UUID) -> list[str]:
    events = await outbox_events(database, company_id)
    return [
        e.payload.status
        for e in events
        if isinstance(e, DocumentStatusChanged) and e.payload.document_id == document_id
    ]


async def document(database: Database, company_id: UUID, document_id: UUID) -> Document | None:
    async with database.transaction(company_id) as session:
        return await service.get_document(session, company_id, document_id)


async def stored(database: Database, company_id: UUID, document_id: UUID) -> Document:
    found = await document(database, company_id, document_id)
    assert found is not None
    return found


def indexed(upload: DocumentUploaded) -> DocumentIndexed:
    return DocumentIndexed.new(
        upload.company_id,
        DocumentIndexedV1(
            document_id=upload.payload.document_id,
            chunk_count=3,
            document_version=upload.payload.document_version,
        ),
        cause=upload,
    )


class TestProcessUpload:
    async def test_chunks_are_embedded_and_queued_in_batches(self, pipeline: Pipeline) -> None:
        event = await uploaded(pipeline, unique_text(), tags=["políticas"])
        await service.process_upload(pipeline, event)

        batches = await chunk_batches(pipeline.database, event.company_id)
        assert len(batches) >= 2
        assert {b.payload.batch_count for b in batches} == {len(batches)}
        assert all(b.key() == str(event.payload.document_id) for b in batches)
        assert all(b.correlation_id == event.correlation_id for b in batches)
        assert all(b.payload.tags == ["políticas"] for b in batches)
        assert all(b.payload.category == "rrhh" for b in batches)
        chunks = [c for b in batches for c in b.payload.chunks]
        assert [c.index for c in chunks] == list(range(len(chunks)))
        expected = pipeline.embedder.embed([c.text for c in chunks])
        assert np.allclose([c.dense() for c in chunks], expected, atol=1e-5)
        assert {c.section for c in chunks} == {"Normas", "Teletrabajo"}

        found = await stored(pipeline.database, event.company_id, event.payload.document_id)
        assert found.status == DocumentStatus.INDEXING
        assert found.progress == service.PROGRESS[DocumentStatus.INDEXING]
        assert found.chunk_count == len(chunks)
        assert found.detected_format == "markdown"
        assert found.language == "es"
        assert {"extracting_ms", "chunking_ms", "embedding_ms"} <= set(found.stage_timings)

    async def test_batches_are_queued_as_they_are_embedded(self, pipeline: Pipeline) -> None:
        # Query indexes the first batches while the rest are embedded, and progress moves
        # between them; the last batch goes with the move to indexing, so query cannot finish
        # the document before ingest has.
        event = await uploaded(pipeline, unique_text())
        await service.process_upload(pipeline, event)
        order = [
            f"batch {e.payload.batch_index}"
            if isinstance(e, DocumentChunksEmbedded)
            else f"{e.payload.status} {e.payload.progress}"
            for e in await outbox_events(pipeline.database, event.company_id)
            if isinstance(e, (DocumentChunksEmbedded, DocumentStatusChanged))
        ]
        batches = [entry for entry in order if entry.startswith("batch")]
        assert len(batches) >= 3
        indexing = order.index("indexing 90")
        assert order[indexing + 1 :] == [batches[-1]]
        between = order[order.index("batch 0") : indexing]
        assert any(entry.startswith("embedding") for entry in between)

    async def test_every_stage_is_announced_in_order(self, pipeline: Pipeline) -> None:
        event = await uploaded(pipeline, unique_text())
        await service.process_upload(pipeline, event)
        seen = await statuses(pipeline.database, event.company_id, event.payload.document_id)
        deduplicated = [s for i, s in enumerate(seen) if i == 0 or seen[i - 1] != s]
        assert deduplicated == ["extracting", "chunking", "embedding", "indexing"]

    async def test_a_redelivered_upload_changes_nothing(self, pipeline: Pipeline) -> None:
        event = await uploaded(pipeline, unique_text())
        await service.process_upload(pipeline, event)
        first = await outbox_events(pipeline.database, event.company_id)
        await service.process_upload(pipeline, event)
        again = await outbox_events(pipeline.database, event.company_id)
        assert [e.id for e in again] == [e.id for e in first]

    async def test_an_unsupported_file_fails_with_a_reason(self, pipeline: Pipeline) -> None:
        event = await uploaded(pipeline, b"\x00\x01\x02binary")
        await service.process_upload(pipeline, event)
        found = await stored(pipeline.database, event.company_id, event.payload.document_id)
        assert found.status == DocumentStatus.FAILED
        assert "not supported" in (found.failure_reason or "")
        assert await chunk_batches(pipeline.database, event.company_id) == []
        seen = await statuses(pipeline.database, event.company_id, event.payload.document_id)
        assert seen[-1] == "failed"

    async def test_a_suspended_companys_upload_fails_and_others_go_on(
        self, pipeline: Pipeline
    ) -> None:
        suspended = await uploaded(pipeline, unique_text())
        pipeline.suspensions.suspend(suspended.company_id)
        other = await uploaded(pipeline, unique_text())

        await service.process_upload(pipeline, suspended)
        await service.process_upload(pipeline, other)

        found = await stored(pipeline.database, suspended.company_id, suspended.payload.document_id)
        assert found.status == DocumentStatus.FAILED
        assert "suspended" in (found.failure_reason or "")
        assert await chunk_batches(pipeline.database, suspended.company_id) == []
        assert await chunk_batches(pipeline.database, other.company_id) != []

    async def test_a_file_too_big_to_read_fails_and_the_next_one_is_read(
        self, pipeline: Pipeline
    ) -> None:
        # A blank 49-megapixel scan: small on disk, hundreds of MB once decoded for OCR.
        image = Image.new("RGB", (7000, 7000), "white")
        buffer = io.BytesIO()
        image.save(buffer, "PNG")
        pipeline.settings = pipeline.settings.model_copy(update={"extraction_memory_mib": 400})
        bomb = await uploaded(pipeline, buffer.getvalue())
        await service.process_upload(pipeline, bomb)
        found = await stored(pipeline.database, bomb.company_id, bomb.payload.document_id)
        assert found.status == DocumentStatus.FAILED
        assert "more memory" in (found.failure_reason or "")

        following = await uploaded(pipeline, unique_text(), company_id=bomb.company_id)
        await service.process_upload(pipeline, following)
        found = await stored(pipeline.database, bomb.company_id, following.payload.document_id)
        assert found.status == DocumentStatus.INDEXING

    async def test_a_missing_blob_fails_with_a_reason(self, pipeline: Pipeline) -> None:
        event = await uploaded(pipeline, unique_text())
        (pipeline.blobs.root / event.payload.blob_key).unlink()
        await service.process_upload(pipeline, event)
        found = await stored(pipeline.database, event.company_id, event.payload.document_id)
        assert found.status == DocumentStatus.FAILED
        assert "missing" in (found.failure_reason or "")

    async def test_the_same_content_again_is_a_duplicate(self, pipeline: Pipeline) -> None:
        raw = unique_text()
        first = await uploaded(pipeline, raw)
        await service.process_upload(pipeline, first)
        second = await uploaded(pipeline, raw, company_id=first.company_id)
        await service.process_upload(pipeline, second)

        found = await stored(pipeline.database, first.company_id, second.payload.document_id)
        assert found.status == DocumentStatus.FAILED
        assert found.duplicate_of == first.payload.document_id
        assert str(first.payload.document_id) in (found.failure_reason or "")
        batches = await chunk_batches(pipeline.database, first.company_id)
        assert {b.payload.document_id for b in batches} == {first.payload.document_id}

    async def test_another_company_may_upload_the_same_content(self, pipeline: Pipeline) -> None:
        raw = unique_text()
        await service.process_upload(pipeline, await uploaded(pipeline, raw))
        other = await uploaded(pipeline, raw)
        await service.process_upload(pipeline, other)
        found = await stored(pipeline.database, other.company_id, other.payload.document_id)
        assert found.status == DocumentStatus.INDEXING

    async def test_another_company_cannot_see_the_document(self, pipeline: Pipeline) -> None:
        event = await uploaded(pipeline, unique_text())
        await service.process_upload(pipeline, event)
        stranger = uuid.uuid4()
        assert await document(pipeline.database, stranger, event.payload.document_id) is None
        async with pipeline.database.transaction(stranger) as session:
            # Even without the explicit company filter, RLS hides the row.
            assert await session.get(Document, event.payload.document_id) is None
            documents, total = await service.list_documents(session, stranger, limit=10, offset=0)
            by_hash = await service.find_by_hash(session, stranger, event.payload.sha256)
        assert (documents, total, by_hash) == ([], 0, None)


class TestMarkIndexed:
    async def test_the_document_becomes_ready_once(self, pipeline: Pipeline) -> None:
        upload = await uploaded(pipeline, unique_text())
        await service.process_upload(pipeline, upload)
        await service.mark_indexed(pipeline.database, indexed(upload))
        await service.mark_indexed(pipeline.database, indexed(upload))
        found = await stored(pipeline.database, upload.company_id, upload.payload.document_id)
        assert found.status == DocumentStatus.READY
        assert found.progress == 100
        assert found.ready_at is not None
        assert "indexing_ms" in found.stage_timings
        assert "indexing_started_at" not in found.stage_timings
        seen = await statuses(pipeline.database, upload.company_id, upload.payload.document_id)
        assert seen.count("ready") == 1


class TestDeletion:
    async def test_deleting_purges_and_frees_the_content(self, pipeline: Pipeline) -> None:
        raw = unique_text()
        upload = await uploaded(pipeline, raw)
        await service.process_upload(pipeline, upload)
        await service.mark_indexed(pipeline.database, indexed(upload))
        company_id, document_id = upload.company_id, upload.payload.document_id

        async with pipeline.database.transaction(company_id) as session:
            deleting = await service.request_deletion(session, company_id, document_id)
            assert deleting is not None
            assert DocumentOut.model_validate(deleting).status == "deleting"
        assert deleting.status == DocumentStatus.DELETING
        deleted = [
            e
            for e in await outbox_events(pipeline.database, company_id)
            if isinstance(e, DocumentDeleted)
        ]
        assert [e.payload.document_id for e in deleted] == [document_id]

        await service.remove_file(pipeline, deleted[0])
        assert not (pipeline.blobs.root / upload.payload.blob_key).exists()

        purged = DocumentPurged.new(company_id, DocumentPurgedV1(document_id=document_id))
        await service.mark_purged(pipeline.database, purged)
        assert await document(pipeline.database, company_id, document_id) is None

        # Its content may come back as a new document.
        again = await uploaded(pipeline, raw, company_id=company_id)
        await service.process_upload(pipeline, again)
        found = await stored(pipeline.database, company_id, again.payload.document_id)
        assert found.status == DocumentStatus.INDEXING

    async def test_an_upload_being_deleted_is_not_processed(self, pipeline: Pipeline) -> None:
        upload = await uploaded(pipeline, unique_text())
        company_id = upload.company_id
        async with pipeline.database.transaction(company_id) as session:
            session.add(service._new_document(upload, DocumentStatus.DELETING))
        await service.process_upload(pipeline, upload)
        assert await chunk_batches(pipeline.database, company_id) == []

    async def test_an_unknown_document_cannot_be_deleted(self, pipeline: Pipeline) -> None:
        company_id = uuid.uuid4()
        async with pipeline.database.transaction(company_id) as session:
            assert await service.request_deletion(session, company_id, uuid.uuid4()) is None


async def metadata_changes(database: Database, company_id: UUID) -> list[DocumentMetadataChanged]:
    events = await outbox_events(database, company_id)
    return [e for e in events if isinstance(e, DocumentMetadataChanged)]


class TestUpdateMetadata:
    async def test_title_tags_and_category_change(self, pipeline: Pipeline) -> None:
        upload = await uploaded(pipeline, unique_text())
        await service.process_upload(pipeline, upload)
        company_id, document_id = upload.company_id, upload.payload.document_id
        async with pipeline.database.transaction(company_id) as session:
            changed = await service.update_metadata(
                session,
                company_id,
                document_id,
                changes={"title": "Normas 2026", "tags": ["a", "b"], "category": None},
            )
            # What the API answers with, read from the row right after the change.
            assert DocumentOut.model_validate(changed).title == "Normas 2026"
        found = await stored(pipeline.database, company_id, document_id)
        assert (found.title, found.tags, found.category) == ("Normas 2026", ["a", "b"], None)

    async def test_a_change_is_announced_with_the_whole_metadata(self, pipeline: Pipeline) -> None:
        upload = await uploaded(pipeline, unique_text(), tags=["a"])
        await service.process_upload(pipeline, upload)
        company_id, document_id = upload.company_id, upload.payload.document_id
        async with pipeline.database.transaction(company_id) as session:
            await service.update_metadata(
                session, company_id, document_id, changes={"title": "Normas 2026"}
            )
            # Changing nothing announces nothing.
            await service.update_metadata(
                session, company_id, document_id, changes={"title": "Normas 2026", "tags": ["a"]}
            )

        [announced] = await metadata_changes(pipeline.database, company_id)
        assert announced.key() == str(document_id)
        assert announced.payload.model_dump() == {
            "document_id": document_id,
            "title": "Normas 2026",
            "tags": ["a"],
            "category": "rrhh",
        }


class TestVersions:
    async def ready_document(self, pipeline: Pipeline) -> DocumentUploaded:
        first = await uploaded(pipeline, unique_text())
        await service.process_upload(pipeline, first)
        await service.mark_indexed(pipeline.database, indexed(first))
        return first

    async def new_version(
        self, pipeline: Pipeline, first: DocumentUploaded, raw: bytes
    ) -> DocumentUploaded:
        return await uploaded(
            pipeline,
            raw,
            company_id=first.company_id,
            document_id=first.payload.document_id,
            version=2,
        )

    async def test_a_new_version_is_processed_while_the_old_stays_active(
        self, pipeline: Pipeline
    ) -> None:
        first = await self.ready_document(pipeline)
        company_id, document_id = first.company_id, first.payload.document_id
        second = await self.new_version(pipeline, first, unique_text())
        await service.process_upload(pipeline, second)

        found = await stored(pipeline.database, company_id, document_id)
        assert (found.version, found.active_version) == (2, 1)
        assert found.status == DocumentStatus.INDEXING
        assert found.sha256 == second.payload.sha256
        versions = {
            b.payload.document_version for b in await chunk_batches(pipeline.database, company_id)
        }
        assert versions == {1, 2}

        await service.mark_indexed(pipeline.database, indexed(second))
        found = await stored(pipeline.database, company_id, document_id)
        assert (found.version, found.active_version, found.status) == (2, 2, "ready")
        assert await metadata_changes(pipeline.database, company_id) == []

    async def test_a_new_version_under_a_new_title_announces_it(self, pipeline: Pipeline) -> None:
        first = await self.ready_document(pipeline)
        second = await self.new_version(pipeline, first, unique_text())
        retitled = second.payload.model_copy(update={"title": "Normas 2026"})
        await service.process_upload(pipeline, second.model_copy(update={"payload": retitled}))

        [announced] = await metadata_changes(pipeline.database, first.company_id)
        assert (announced.payload.document_id, announced.payload.title) == (
            first.payload.document_id,
            "Normas 2026",
        )

    async def test_a_failed_new_version_keeps_the_old_one_active(self, pipeline: Pipeline) -> None:
        first = await self.ready_document(pipeline)
        second = await self.new_version(pipeline, first, b"\x00\x01 not a document")
        await service.process_upload(pipeline, second)
        found = await stored(pipeline.database, first.company_id, first.payload.document_id)
        assert (found.version, found.active_version, found.status) == (2, 1, "failed")
        assert "not supported" in (found.failure_reason or "")

    async def test_a_redelivered_new_version_is_not_numbered_again(
        self, pipeline: Pipeline
    ) -> None:
        first = await self.ready_document(pipeline)
        second = await self.new_version(pipeline, first, unique_text())
        await service.process_upload(pipeline, second)
        before = await outbox_events(pipeline.database, first.company_id)
        await service.process_upload(pipeline, second)
        found = await stored(pipeline.database, first.company_id, first.payload.document_id)
        assert found.version == 2
        after = await outbox_events(pipeline.database, first.company_id)
        assert [e.id for e in after] == [e.id for e in before]

    async def test_two_new_versions_at_once_get_distinct_numbers(self, pipeline: Pipeline) -> None:
        first = await self.ready_document(pipeline)
        second = await self.new_version(pipeline, first, unique_text())
        rival = await self.new_version(pipeline, first, unique_text())  # also says version 2
        await service.process_upload(pipeline, second)
        await service.mark_indexed(pipeline.database, indexed(second))
        await service.process_upload(pipeline, rival)
        found = await stored(pipeline.database, first.company_id, first.payload.document_id)
        assert (found.version, found.active_version) == (3, 2)
        assert found.sha256 == rival.payload.sha256
