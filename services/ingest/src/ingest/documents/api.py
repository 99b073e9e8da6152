"""Internal routes for the gateway. The caller's token is verified here too."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Query

from common.auth import Permission, require
from common.contracts.company import DocumentUsage
from common.contracts.documents import DocumentOut, DocumentPage, DocumentUpdate
from common.problems import Problem
from common.service_app import CurrentIdentity, CurrentRuntime
from ingest.documents import characters, service

router = APIRouter(prefix="/internal/documents", tags=["documents"])
usage_router = APIRouter(prefix="/internal/usage", tags=["usage"])


def _not_found(document_id: UUID) -> Problem:
    return Problem(404, "document-not-found", f"No document {document_id}.")


@router.get("/{document_id}")
async def read_document(
    document_id: UUID, identity: CurrentIdentity, runtime: CurrentRuntime
) -> DocumentOut:
    require(identity, Permission.DOCUMENTS_READ)
    async with runtime.database.transaction(identity.company_id) as session:
        document = await service.get_document(session, identity.company_id, document_id)
        if document is None:
            raise _not_found(document_id)
        return DocumentOut.model_validate(document)


@router.get("/by-hash/{sha256}")
async def find_by_hash(
    sha256: Annotated[str, Path(pattern=r"^[0-9a-f]{64}$")],
    identity: CurrentIdentity,
    runtime: CurrentRuntime,
) -> DocumentOut:
    """The company's live document with this content, if any (uploads are deduplicated).
    Asked only while an upload is received, so it takes the uploader's permission."""
    require(identity, Permission.DOCUMENTS_WRITE)
    async with runtime.database.transaction(identity.company_id) as session:
        document = await service.find_by_hash(session, identity.company_id, sha256)
        if document is None:
            raise Problem(404, "document-not-found", "No document with that content.")
        return DocumentOut.model_validate(document)


@router.get("")
async def list_documents(
    identity: CurrentIdentity,
    runtime: CurrentRuntime,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> DocumentPage:
    require(identity, Permission.DOCUMENTS_READ)
    async with runtime.database.transaction(identity.company_id) as session:
        documents, total = await service.list_documents(
            session, identity.company_id, limit=limit, offset=offset
        )
        return DocumentPage(
            items=[DocumentOut.model_validate(d) for d in documents],
            limit=limit,
            offset=offset,
            total=total,
        )


@router.patch("/{document_id}")
async def update_document(
    document_id: UUID, body: DocumentUpdate, identity: CurrentIdentity, runtime: CurrentRuntime
) -> DocumentOut:
    require(identity, Permission.DOCUMENTS_WRITE)
    async with runtime.database.transaction(identity.company_id) as session:
        document = await service.update_metadata(
            session, identity.company_id, document_id, changes=body.model_dump(exclude_unset=True)
        )
        if document is None:
            raise _not_found(document_id)
        return DocumentOut.model_validate(document)


@router.delete("/{document_id}", status_code=202)
async def delete_document(
    document_id: UUID, identity: CurrentIdentity, runtime: CurrentRuntime
) -> DocumentOut:
    """Starts the deletion: the document answers `deleting` until its vectors are purged."""
    require(identity, Permission.DOCUMENTS_WRITE)
    async with runtime.database.transaction(identity.company_id) as session:
        document = await service.request_deletion(session, identity.company_id, document_id)
        if document is None:
            raise _not_found(document_id)
        return DocumentOut.model_validate(document)


@usage_router.get("")
async def read_usage(identity: CurrentIdentity, runtime: CurrentRuntime) -> DocumentUsage:
    """What the company's documents hold against its plan, for the company's usage."""
    require(identity, Permission.COMPANY_READ)
    async with runtime.database.transaction(identity.company_id) as session:
        used = await characters.characters_used(session, identity.company_id)
    return DocumentUsage(document_characters_used=used)
