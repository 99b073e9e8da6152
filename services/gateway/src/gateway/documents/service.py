"""Uploads: the bytes go to the blob store, the event carries the reference, size and hash."""

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import anyio
from fastapi import UploadFile
from pydantic import TypeAdapter, ValidationError

from common.auth import Identity
from common.blobs import BlobTooLarge, LocalBlobStore, StoredBlob, document_prefix
from common.bus import publish_event
from common.contracts.documents import MAX_TAGS, Category, DocumentAccepted, Tag, Title
from common.events import DocumentUploaded, DocumentUploadedV1
from common.formats import UNSUPPORTED_FORMAT, DocumentFormat, detect_stream_format
from common.problems import Problem
from gateway.dependencies import Gateway

logger = logging.getLogger(__name__)

READ_SIZE = 1024 * 1024
HEARTBEAT_SECONDS = 15.0
FINAL_STATUSES = frozenset({"ready", "failed", "deleted"})
VERSION_REFUSED = {
    "pending": "The document is still being received; try its new version again shortly.",
    "deleting": "The document is being deleted; it cannot take a new version.",
}
_UNSAFE_FILENAME = re.compile(r"[^\w.\- ]+")
_TAGS = TypeAdapter(list[Tag])
_TITLE = TypeAdapter(Title)
_CATEGORY = TypeAdapter(Category)


def _manifest_key(company_id: UUID, document_id: UUID) -> str:
    return f"{document_prefix(company_id, document_id)}/upload.json"


def clean_filename(name: str | None) -> str:
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    return _UNSAFE_FILENAME.sub("_", base).strip()[:200] or "upload"


def parse_metadata(
    title: str | None, tags: list[str], category: str | None, filename: str
) -> tuple[str, list[str], str | None]:
    """Upload form fields, held to the same rules as a later PATCH. Tags may come as repeated
    fields or comma-separated."""
    split = [tag for value in tags for tag in value.split(",") if tag.strip()]
    try:
        unique_tags = list(dict.fromkeys(_TAGS.validate_python(split)))
        parsed = (
            _TITLE.validate_python((title or "").strip() or filename),
            unique_tags,
            _CATEGORY.validate_python(category) if category and category.strip() else None,
        )
    except ValidationError as exc:
        detail = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'value'}: {e['msg']}" for e in exc.errors()
        )
        raise Problem(422, "validation-error", detail) from exc
    if len(unique_tags) > MAX_TAGS:
        raise Problem(422, "too-many-tags", f"A document has at most {MAX_TAGS} tags.")
    return parsed


async def _read(file: UploadFile) -> AsyncIterator[bytes]:
    while data := await file.read(READ_SIZE):
        yield data


def _stored_format(blobs: LocalBlobStore, key: str) -> DocumentFormat | None:
    """Blocking: reads the file's head and, for a zip, its central directory, never all of it."""
    with blobs.open_read(key) as stream:
        return detect_stream_format(stream)


async def _store(gateway: Gateway, prefix: str, file: UploadFile) -> StoredBlob:
    limit = gateway.settings.max_upload_bytes
    try:
        stored = await gateway.blobs.put_stream(f"{prefix}/original", _read(file), max_bytes=limit)
    except BlobTooLarge as exc:
        raise Problem(413, "file-too-large", f"The file is larger than {limit} bytes.") from exc
    if stored.size_bytes == 0:
        await gateway.blobs.delete_prefix(prefix)
        raise Problem(422, "empty-file", "The uploaded file is empty.")
    if await anyio.to_thread.run_sync(_stored_format, gateway.blobs, stored.key) is None:
        await gateway.blobs.delete_prefix(prefix)
        raise Problem(415, "unsupported-format", UNSUPPORTED_FORMAT)
    return stored


async def _refuse_duplicate(
    gateway: Gateway, identity: Identity, stored: StoredBlob, prefix: str, document_id: UUID
) -> None:
    """409 when a live document of the company already has this content (ingest also catches
    a copy that races this check, and records it as failed, a duplicate)."""
    try:
        existing = await gateway.ingest.call(
            "GET", f"/internal/documents/by-hash/{stored.sha256}", token=identity.token
        )
    except Problem as problem:
        if problem.status == 404:
            return
        await gateway.blobs.delete_prefix(prefix)
        raise
    await gateway.blobs.delete_prefix(prefix)
    if existing["id"] == str(document_id):
        raise Problem(
            409,
            "same-content",
            "This file has the same content as the document's current version.",
            document_id=existing["id"],
        )
    raise Problem(
        409,
        "duplicate-document",
        f"This file has the same content as «{existing['title']}», already in your library.",
        document_id=existing["id"],
    )


async def _reserve_storage(
    gateway: Gateway, identity: Identity, stored: StoredBlob, prefix: str
) -> None:
    """Counts the file against the plan's storage; one that does not fit (tenants' 429,
    passed on) is not kept. Taken after every other refusal, so only a failed publish gives
    it back."""
    try:
        await gateway.tenants.call(
            "POST",
            "/internal/usage/storage",
            token=identity.token,
            json={"bytes": stored.size_bytes},
        )
    except Problem:
        await gateway.blobs.delete_prefix(prefix)
        raise


async def _release_storage(gateway: Gateway, identity: Identity, size_bytes: int) -> None:
    """Best effort: the caller is already being told the upload failed."""
    try:
        await gateway.tenants.call(
            "POST",
            "/internal/usage/storage/release",
            token=identity.token,
            json={"bytes": size_bytes},
        )
    except Problem as problem:
        logger.warning("could not give back reserved storage", extra={"code": problem.code})


async def _publish(
    gateway: Gateway, identity: Identity, payload: DocumentUploadedV1, prefix: str
) -> None:
    try:
        await publish_event(gateway.broker, DocumentUploaded.new(identity.company_id, payload))
    except Exception as exc:
        logger.exception("could not publish document.uploaded")
        await gateway.blobs.delete_prefix(prefix)
        await _release_storage(gateway, identity, payload.size_bytes)
        raise Problem(
            503, "bus-unavailable", "The upload could not be queued; try again shortly."
        ) from exc


async def _receive(
    gateway: Gateway,
    identity: Identity,
    file: UploadFile,
    prefix: str,
    document_id: UUID,
    *,
    filename: str,
    title: str,
    tags: list[str],
    category: str | None,
    version: int = 1,
) -> DocumentUploadedV1:
    """Stores the file under `prefix`, refuses what the platform or the plan cannot take, and
    describes the upload for ingest."""
    stored = await _store(gateway, prefix, file)
    await _refuse_duplicate(gateway, identity, stored, prefix, document_id)
    await _reserve_storage(gateway, identity, stored, prefix)
    return DocumentUploadedV1(
        document_id=document_id,
        title=title,
        filename=filename,
        content_type=file.content_type or "application/octet-stream",
        size_bytes=stored.size_bytes,
        sha256=stored.sha256,
        blob_key=stored.key,
        uploaded_by=identity.user_id,
        tags=tags,
        category=category,
        document_version=version,
    )


async def upload(
    gateway: Gateway,
    identity: Identity,
    file: UploadFile,
    *,
    title: str | None,
    tags: list[str],
    category: str | None,
) -> DocumentAccepted:
    filename = clean_filename(file.filename)
    title, tags, category = parse_metadata(title, tags, category, filename)

    document_id = uuid4()
    prefix = document_prefix(identity.company_id, document_id)
    payload = await _receive(
        gateway,
        identity,
        file,
        prefix,
        document_id,
        filename=filename,
        title=title,
        tags=tags,
        category=category,
    )
    # Lets GET answer 'pending' before ingest has recorded the document.
    await gateway.blobs.put_json(
        _manifest_key(identity.company_id, document_id),
        {**payload.model_dump(mode="json"), "created_at": datetime.now(UTC).isoformat()},
    )
    await _publish(gateway, identity, payload, prefix)
    return DocumentAccepted(id=document_id, status="pending")


async def upload_version(
    gateway: Gateway,
    identity: Identity,
    document_id: UUID,
    file: UploadFile,
    *,
    title: str | None,
) -> DocumentAccepted:
    """A new version of the document's content, under the same id. Answers keep using the
    current version until the new one is fully indexed, then switch in one step."""
    current = await read(gateway, identity, document_id)
    busy = VERSION_REFUSED.get(current["status"])
    if busy is not None:
        raise Problem(409, f"document-{current['status']}", busy)
    filename = clean_filename(file.filename)
    title, tags, category = parse_metadata(
        title or current["title"], current["tags"], current["category"], filename
    )
    # Each version's file under its own key: the current one stays readable meanwhile.
    prefix = f"{document_prefix(identity.company_id, document_id)}/versions/{uuid4()}"
    payload = await _receive(
        gateway,
        identity,
        file,
        prefix,
        document_id,
        filename=filename,
        title=title,
        tags=tags,
        category=category,
        version=int(current.get("version", 1)) + 1,
    )
    await _publish(gateway, identity, payload, prefix)
    return DocumentAccepted(id=document_id, status="pending", version=payload.document_version)


async def read(gateway: Gateway, identity: Identity, document_id: UUID) -> Any:
    try:
        return await gateway.ingest.call(
            "GET", f"/internal/documents/{document_id}", token=identity.token
        )
    except Problem as problem:
        if problem.status != 404:
            raise
        manifest = await gateway.blobs.get_json(_manifest_key(identity.company_id, document_id))
        if manifest is None:
            raise
        return {
            "id": document_id,
            "title": manifest["title"],
            "status": "pending",
            "progress": 0,
            "filename": manifest["filename"],
            "content_type": manifest["content_type"],
            "size_bytes": manifest["size_bytes"],
            "sha256": manifest["sha256"],
            "tags": manifest.get("tags", []),
            "category": manifest.get("category"),
            "created_at": manifest["created_at"],
        }


def _sse(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data, default=str)}\n\n"


async def status_stream(
    gateway: Gateway, identity: Identity, document_id: UUID
) -> AsyncIterator[str]:
    """The document's current state, then each change, until it is ready, failed or deleted.

    It follows before it reads, so no change between the read and the first event is lost.
    """
    with gateway.statuses.follow(identity.company_id, document_id) as changes:
        current = await read(gateway, identity, document_id)
        last = (current["status"], current.get("progress", 0))
        yield _sse("status", current)
        if current["status"] in FINAL_STATUSES:
            return
        while True:
            try:
                change = await asyncio.wait_for(changes.get(), HEARTBEAT_SECONDS)
            except TimeoutError:
                yield ": keep-alive\n\n"
                continue
            if (change.status, change.progress) == last:
                continue
            last = (change.status, change.progress)
            yield _sse("status", change.model_dump(mode="json"))
            if change.status in FINAL_STATUSES:
                return
