"""The plan's limits in ingest, against the real database (as the application role), the real
model and a real blob directory: the document characters a company's documents may hold, the
limits it learns from tenants' announcements, and the storage it gives back."""

import asyncio
import hashlib
import uuid
from uuid import UUID

import httpx
import pytest
from sqlalchemy import select

from common.blobs import document_prefix
from common.db import Database
from common.events import (
    CompanyCreated,
    CompanyCreatedV1,
    CompanyPlanChanged,
    CompanyPlanChangedV1,
    DocumentChunksEmbedded,
    DocumentIndexed,
    DocumentIndexedV1,
    DocumentPurged,
    DocumentPurgedV1,
    DocumentStorageReleased,
    DocumentUploaded,
    DocumentUploadedV1,
    PlanLimitsV1,
    decode_event,
)
from common.plan_limits import apply_announcement
from devstack.signer import TEST_SIGNER
from ingest.db import company_limits, inbox, outbox
from ingest.documents import characters, service
from ingest.documents.models import Document, DocumentStatus
from ingest.documents.service import Pipeline
from ingest.settings import IngestSettings

LINE = "Las vacaciones se piden con dos semanas de antelación a tu responsable.\n"


def text(lines: int = 12) -> bytes:
    """`lines` lines and a distinct reference of fixed length: equal sizes, never equal content."""
    return (LINE * lines + f"Referencia {uuid.uuid4()}.\n").encode()


def limits(document_characters: int | None) -> PlanLimitsV1:
    return PlanLimitsV1(
        monthly_message_limit=3_000,
        user_limit=3,
        assistant_limit=2,
        document_character_limit=document_characters,
        storage_mb_limit=5,
    )


async def announce(database: Database, company_id: UUID, document_characters: int | None) -> None:
    """The company's limits, as ingest's consumer of `company.created` keeps them."""
    event = CompanyCreated.new(
        company_id,
        CompanyCreatedV1(
            company_id=company_id,
            name="Acme",
            slug=f"acme-{company_id.hex[:8]}",
            plan="starter",
            limits=limits(document_characters),
        ),
    )
    await apply_announcement(
        database, table=company_limits, inbox=inbox, consumer="ingest.test", event=event
    )


async def uploaded(
    pipeline: Pipeline,
    raw: bytes,
    company_id: UUID,
    *,
    document_id: UUID | None = None,
    version: int = 1,
) -> DocumentUploaded:
    document_id = document_id or uuid.uuid4()
    key = f"{document_prefix(company_id, document_id)}/versions/{uuid.uuid4()}/original"
    path = pipeline.blobs.root / key
    path.parent.mkdir(parents=True)
    path.write_bytes(raw)
    return DocumentUploaded.new(
        company_id,
        DocumentUploadedV1(
            document_id=document_id,
            title="Normas",
            filename="normas.txt",
            content_type="text/plain",
            size_bytes=len(raw),
            sha256=hashlib.sha256(raw).hexdigest(),
            blob_key=key,
            uploaded_by=uuid.uuid4(),
            document_version=version,
        ),
    )


async def ready(pipeline: Pipeline, upload: DocumentUploaded) -> Document:
    """Processes the upload and marks it indexed, as query would."""
    await service.process_upload(pipeline, upload)
    await service.mark_indexed(
        pipeline.database,
        DocumentIndexed.new(
            upload.company_id,
            DocumentIndexedV1(
                document_id=upload.payload.document_id,
                chunk_count=1,
                document_version=upload.payload.document_version,
            ),
        ),
    )
    return await stored(pipeline.database, upload)


async def stored(database: Database, upload: DocumentUploaded) -> Document:
    async with database.transaction(upload.company_id) as session:
        return await session.get_one(Document, upload.payload.document_id)


async def used(database: Database, company_id: UUID) -> int:
    async with database.transaction(company_id) as session:
        return await characters.characters_used(session, company_id)


async def outbox_events(database: Database, company_id: UUID) -> list[object]:
    async with database.transaction(company_id) as session:
        bodies = (await session.scalars(select(outbox.c.body).order_by(outbox.c.sequence))).all()
    return [decode_event(body) for body in bodies]


async def chunked_documents(database: Database, company_id: UUID) -> set[UUID]:
    return {
        e.payload.document_id
        for e in await outbox_events(database, company_id)
        if isinstance(e, DocumentChunksEmbedded)
    }


async def releases(database: Database, company_id: UUID) -> list[DocumentStorageReleased]:
    return [
        e
        for e in await outbox_events(database, company_id)
        if isinstance(e, DocumentStorageReleased)
    ]


@pytest.fixture
async def size(pipeline: Pipeline) -> int:
    """The characters ingest extracts from `text()`, measured once in a company of its own."""
    upload = await uploaded(pipeline, text(), uuid.uuid4())
    await service.process_upload(pipeline, upload)
    count = (await stored(pipeline.database, upload)).char_count
    assert count is not None
    assert count > 100
    return count


class TestDocumentCharacters:
    async def test_a_document_that_fits_goes_on(self, pipeline: Pipeline, size: int) -> None:
        company_id = uuid.uuid4()
        await announce(pipeline.database, company_id, size)
        upload = await uploaded(pipeline, text(), company_id)

        await service.process_upload(pipeline, upload)

        assert (await stored(pipeline.database, upload)).status == DocumentStatus.INDEXING
        assert await used(pipeline.database, company_id) == size

    async def test_one_past_what_is_left_fails_with_the_reason_and_the_next_goes_on(
        self, pipeline: Pipeline, size: int
    ) -> None:
        company_id = uuid.uuid4()
        allowed = size + size // 2
        await announce(pipeline.database, company_id, allowed)
        first, refused, small = (
            await uploaded(pipeline, text(), company_id),
            await uploaded(pipeline, text(), company_id),
            await uploaded(pipeline, text(lines=1), company_id),
        )

        for upload in (first, refused, small):
            await service.process_upload(pipeline, upload)

        document = await stored(pipeline.database, refused)
        assert document.status == DocumentStatus.FAILED
        assert document.char_count == size
        assert document.failure_reason is not None
        assert document.failure_reason.startswith(
            f"This document has {size:,} characters; your plan allows {allowed:,} in all"
            f" and {allowed - size:,} are left."
        )
        assert (await stored(pipeline.database, small)).status == DocumentStatus.INDEXING
        assert await chunked_documents(pipeline.database, company_id) == {
            first.payload.document_id,
            small.payload.document_id,
        }
        small_size = (await stored(pipeline.database, small)).char_count or 0
        assert await used(pipeline.database, company_id) == size + small_size

    async def test_documents_extracted_at_once_pass_only_as_far_as_the_limit(
        self, pipeline: Pipeline, size: int
    ) -> None:
        company_id = uuid.uuid4()
        await announce(pipeline.database, company_id, 2 * size + size // 2)
        uploads = [await uploaded(pipeline, text(), company_id) for _ in range(5)]

        await asyncio.gather(*(service.process_upload(pipeline, u) for u in uploads))

        outcomes = [(await stored(pipeline.database, u)).status for u in uploads]
        assert sorted(outcomes) == ["failed"] * 3 + ["indexing"] * 2
        assert len(await chunked_documents(pipeline.database, company_id)) == 2
        assert await used(pipeline.database, company_id) == 2 * size

    async def test_admissions_at_the_same_instant_are_counted_one_after_another(
        self, pipeline: Pipeline
    ) -> None:
        # The admission step alone, all at once: nothing slower in between to space them out.
        company_id = uuid.uuid4()
        await announce(pipeline.database, company_id, 2_500)
        uploads = [await uploaded(pipeline, text(), company_id) for _ in range(8)]
        for upload in uploads:
            async with pipeline.database.transaction(company_id) as session:
                await service._record_upload(session, upload)

        admitted = await asyncio.gather(
            *(service._admit(pipeline, upload, timings={}, char_count=1_000) for upload in uploads)
        )

        assert sorted(admitted) == [False] * 6 + [True] * 2
        assert await used(pipeline.database, company_id) == 2_000

    async def test_a_new_version_replaces_the_old_versions_characters(
        self, pipeline: Pipeline, size: int
    ) -> None:
        company_id = uuid.uuid4()
        await announce(pipeline.database, company_id, size + size // 2)
        first = await uploaded(pipeline, text(), company_id)
        assert (await ready(pipeline, first)).status == DocumentStatus.READY
        document_id = first.payload.document_id

        second = await uploaded(pipeline, text(), company_id, document_id=document_id, version=2)
        assert (await ready(pipeline, second)).status == DocumentStatus.READY
        assert await used(pipeline.database, company_id) == size

        # A failed version leaves the active one's characters counted; another document of
        # the same size does not fit beside them.
        broken = await uploaded(
            pipeline, b"\x00\x01 not a document", company_id, document_id=document_id, version=3
        )
        await service.process_upload(pipeline, broken)
        assert (await stored(pipeline.database, broken)).status == DocumentStatus.FAILED
        assert await used(pipeline.database, company_id) == size
        other = await uploaded(pipeline, text(), company_id)
        await service.process_upload(pipeline, other)
        assert (await stored(pipeline.database, other)).status == DocumentStatus.FAILED

    async def test_a_version_past_the_limit_fails_and_the_old_one_stays(
        self, pipeline: Pipeline, size: int
    ) -> None:
        company_id = uuid.uuid4()
        await announce(pipeline.database, company_id, size + size // 2)
        first = await uploaded(pipeline, text(), company_id)
        await ready(pipeline, first)

        bigger = await uploaded(
            pipeline, text(lines=30), company_id, document_id=first.payload.document_id, version=2
        )
        await service.process_upload(pipeline, bigger)

        document = await stored(pipeline.database, bigger)
        assert (document.status, document.version, document.active_version) == ("failed", 2, 1)
        assert (document.failure_reason or "").startswith("This version has")
        assert await used(pipeline.database, company_id) == size

    async def test_deleting_a_document_frees_its_characters(
        self, pipeline: Pipeline, size: int
    ) -> None:
        company_id = uuid.uuid4()
        await announce(pipeline.database, company_id, size + size // 2)
        first = await uploaded(pipeline, text(), company_id)
        await ready(pipeline, first)
        async with pipeline.database.transaction(company_id) as session:
            await service.request_deletion(session, company_id, first.payload.document_id)
        assert await used(pipeline.database, company_id) == 0

        again = await uploaded(pipeline, text(), company_id)
        await service.process_upload(pipeline, again)
        assert (await stored(pipeline.database, again)).status == DocumentStatus.INDEXING

    async def test_an_unlimited_or_unannounced_company_is_not_limited(
        self, pipeline: Pipeline
    ) -> None:
        enterprise, unannounced = uuid.uuid4(), uuid.uuid4()
        await announce(pipeline.database, enterprise, None)
        uploads = [
            await uploaded(pipeline, text(lines=40), company_id)
            for company_id in (enterprise, unannounced)
        ]
        for upload in uploads:
            await service.process_upload(pipeline, upload)
        assert [(await stored(pipeline.database, u)).status for u in uploads] == [
            "indexing",
            "indexing",
        ]

    async def test_a_change_of_plan_counts_from_the_next_document(
        self, pipeline: Pipeline, size: int
    ) -> None:
        company_id = uuid.uuid4()
        await announce(pipeline.database, company_id, size // 2)
        refused = await uploaded(pipeline, text(), company_id)
        await service.process_upload(pipeline, refused)
        assert (await stored(pipeline.database, refused)).status == DocumentStatus.FAILED

        upgrade = CompanyPlanChanged.new(
            company_id,
            CompanyPlanChangedV1(
                company_id=company_id,
                old_plan="starter",
                new_plan="professional",
                limits=limits(10 * size),
            ),
        )
        await apply_announcement(
            pipeline.database, table=company_limits, inbox=inbox, consumer="t", event=upgrade
        )
        again = await uploaded(pipeline, text(), company_id)
        await service.process_upload(pipeline, again)
        assert (await stored(pipeline.database, again)).status == DocumentStatus.INDEXING


class TestStorageGivenBack:
    async def test_a_purged_document_gives_back_every_versions_bytes_once(
        self, pipeline: Pipeline
    ) -> None:
        company_id = uuid.uuid4()
        first = await uploaded(pipeline, text(), company_id)
        await ready(pipeline, first)
        document_id = first.payload.document_id
        second = await uploaded(
            pipeline, text(lines=3), company_id, document_id=document_id, version=2
        )
        await ready(pipeline, second)
        async with pipeline.database.transaction(company_id) as session:
            await service.request_deletion(session, company_id, document_id)
        assert await releases(pipeline.database, company_id) == []

        purged = DocumentPurged.new(company_id, DocumentPurgedV1(document_id=document_id))
        await service.mark_purged(pipeline.database, purged)
        await service.mark_purged(pipeline.database, purged)
        await service.mark_purged(
            pipeline.database,
            DocumentPurged.new(company_id, DocumentPurgedV1(document_id=document_id)),
        )

        [released] = await releases(pipeline.database, company_id)
        assert released.key() == str(document_id)
        assert (released.payload.bytes, released.payload.reason) == (
            first.payload.size_bytes + second.payload.size_bytes,
            "deleted",
        )

    async def test_a_duplicate_gives_back_its_bytes_and_its_file(self, pipeline: Pipeline) -> None:
        company_id = uuid.uuid4()
        raw = text()
        first = await uploaded(pipeline, raw, company_id)
        await service.process_upload(pipeline, first)
        copy = await uploaded(pipeline, raw, company_id)
        await service.process_upload(pipeline, copy)
        await service.process_upload(pipeline, copy)

        assert (await stored(pipeline.database, copy)).duplicate_of == first.payload.document_id
        [released] = await releases(pipeline.database, company_id)
        assert (released.payload.document_id, released.payload.bytes) == (
            copy.payload.document_id,
            len(raw),
        )
        assert released.payload.reason == "duplicate"
        assert not (pipeline.blobs.root / copy.payload.blob_key).exists()
        assert (pipeline.blobs.root / first.payload.blob_key).exists()

        # Deleting the failed copy later gives back nothing more.
        async with pipeline.database.transaction(company_id) as session:
            await service.request_deletion(session, company_id, copy.payload.document_id)
        purged = DocumentPurged.new(
            company_id, DocumentPurgedV1(document_id=copy.payload.document_id)
        )
        await service.mark_purged(pipeline.database, purged)
        assert len(await releases(pipeline.database, company_id)) == 1


async def test_the_usage_route_answers_the_callers_company(
    pipeline: Pipeline, size: int, client: httpx.AsyncClient
) -> None:
    company_id = uuid.uuid4()
    await service.process_upload(pipeline, await uploaded(pipeline, text(), company_id))
    settings = IngestSettings()

    mine = await client.get(
        "/internal/usage", headers=TEST_SIGNER.headers(settings, company_id=company_id)
    )
    other = await client.get("/internal/usage", headers=TEST_SIGNER.headers(settings))
    key = await client.get(
        "/internal/usage",
        headers=TEST_SIGNER.headers(settings, company_id=company_id, scopes=["documents:read"]),
    )

    assert (mine.status_code, mine.json()) == (200, {"document_characters_used": size})
    assert other.json() == {"document_characters_used": 0}
    assert key.status_code == 403
