from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, File, Form, Query, Response, UploadFile
from fastapi.responses import StreamingResponse

from common.auth import Permission, require
from common.contracts.documents import DocumentAccepted, DocumentOut, DocumentPage, DocumentUpdate
from gateway.dependencies import CurrentGateway, CurrentIdentity
from gateway.documents import service

router = APIRouter(prefix="/v1/documents", tags=["documents"])


@router.post("", status_code=202, responses={409: {}, 413: {}, 415: {}})
async def upload_document(
    identity: CurrentIdentity,
    gateway: CurrentGateway,
    response: Response,
    file: Annotated[UploadFile, File(description="The document")],
    title: Annotated[str | None, Form()] = None,
    tags: Annotated[list[str], Form(description="Repeat the field, or separate by commas")] = [],  # noqa: B006
    category: Annotated[str | None, Form()] = None,
) -> DocumentAccepted:
    """Accepts a document for processing; follow it at `GET /v1/documents/{id}` or, live, at
    `GET /v1/documents/{id}/events`. The same content uploaded twice answers 409."""
    require(identity, Permission.DOCUMENTS_WRITE)
    accepted = await service.upload(
        gateway, identity, file, title=title, tags=tags, category=category
    )
    response.headers["Location"] = f"/v1/documents/{accepted.id}"
    return accepted


@router.post("/{document_id}/versions", status_code=202, responses={409: {}, 413: {}, 415: {}})
async def upload_version(
    document_id: UUID,
    identity: CurrentIdentity,
    gateway: CurrentGateway,
    response: Response,
    file: Annotated[UploadFile, File(description="The document's new content")],
    title: Annotated[str | None, Form(description="Defaults to the current title")] = None,
) -> DocumentAccepted:
    """Replaces the document's content. Answers use the current version until the new one is
    fully indexed, then only the new one: never both, never neither. Tags and category stay."""
    require(identity, Permission.DOCUMENTS_WRITE)
    accepted = await service.upload_version(gateway, identity, document_id, file, title=title)
    response.headers["Location"] = f"/v1/documents/{document_id}"
    return accepted


@router.get("/{document_id}", response_model=DocumentOut)
async def read_document(
    document_id: UUID, identity: CurrentIdentity, gateway: CurrentGateway
) -> Any:
    require(identity, Permission.DOCUMENTS_READ)
    return await service.read(gateway, identity, document_id)


@router.get(
    "/{document_id}/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def follow_document(
    document_id: UUID, identity: CurrentIdentity, gateway: CurrentGateway
) -> StreamingResponse:
    """Server-sent events: `status` with the document's state now, then on every change,
    until it is ready, failed or deleted."""
    require(identity, Permission.DOCUMENTS_READ)
    stream = service.status_stream(gateway, identity, document_id)
    first = await anext(stream)  # a 404 is answered as problem+json, not as a broken stream

    async def events() -> Any:
        yield first
        async for event in stream:
            yield event

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.patch("/{document_id}", response_model=DocumentOut)
async def update_document(
    document_id: UUID, body: DocumentUpdate, identity: CurrentIdentity, gateway: CurrentGateway
) -> Any:
    """Changes the title, tags or category."""
    require(identity, Permission.DOCUMENTS_WRITE)
    return await gateway.ingest.call(
        "PATCH",
        f"/internal/documents/{document_id}",
        token=identity.token,
        json=body.model_dump(exclude_unset=True),
    )


@router.delete("/{document_id}", status_code=202, response_model=DocumentOut)
async def delete_document(
    document_id: UUID, identity: CurrentIdentity, gateway: CurrentGateway
) -> Any:
    """Deletes the document: it answers `deleting` until its chunks and vectors are gone,
    then 404; from then on no answer cites it."""
    require(identity, Permission.DOCUMENTS_WRITE)
    return await gateway.ingest.call(
        "DELETE", f"/internal/documents/{document_id}", token=identity.token
    )


@router.get("", response_model=DocumentPage)
async def list_documents(
    identity: CurrentIdentity,
    gateway: CurrentGateway,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Any:
    """The caller's company's documents, newest first."""
    require(identity, Permission.DOCUMENTS_READ)
    return await gateway.ingest.call(
        "GET",
        "/internal/documents",
        token=identity.token,
        params={"limit": limit, "offset": offset},
    )
