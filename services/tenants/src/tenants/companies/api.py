"""Internal routes for the gateway: the caller's company, and taking (and giving back) its
messages and storage against the plan's limits."""

import math
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Response, status

from common.auth import Identity, Permission
from common.contracts.company import (
    CompanyOut,
    CompanyUpdate,
    MessageRelease,
    MessageReservation,
    StorageRequest,
    StorageUsage,
)
from common.problems import Problem
from tenants.callers import CurrentOrigin, permitted
from tenants.companies import service
from tenants.companies.service import BYTES_PER_MB, QuotaExceeded
from tenants.state import DatabaseDep

router = APIRouter(prefix="/internal", tags=["company"])

Reader = Annotated[Identity, permitted(Permission.COMPANY_READ)]
Manager = Annotated[Identity, permitted(Permission.COMPANY_MANAGE)]
Asker = Annotated[Identity, permitted(Permission.QUESTIONS_ASK)]
Uploader = Annotated[Identity, permitted(Permission.DOCUMENTS_WRITE)]


def quota_problem(exceeded: QuotaExceeded, detail: str, **extensions: Any) -> Problem:
    """429 naming the limit; with Retry-After where the limit resets on its own."""
    headers: dict[str, str] = {}
    if exceeded.resets_at is not None:
        wait = (exceeded.resets_at - datetime.now(UTC)).total_seconds()
        headers["Retry-After"] = str(max(1, math.ceil(wait)))
        extensions["resets_at"] = exceeded.resets_at.isoformat()
    return Problem(
        status.HTTP_429_TOO_MANY_REQUESTS,
        "quota-exceeded",
        detail,
        headers=headers,
        limit=exceeded.limit,
        used=exceeded.used,
        allowed=exceeded.allowed,
        **extensions,
    )


@router.get("/company")
async def read_company(identity: Reader, database: DatabaseDep) -> CompanyOut:
    """The caller's company, with its usage against its plan's limits."""
    async with database.transaction(identity.company_id) as session:
        return await service.describe(session, identity.company_id)


@router.patch("/company")
async def update_company(
    body: CompanyUpdate, identity: Manager, origin: CurrentOrigin, database: DatabaseDep
) -> CompanyOut:
    """Renames the company; its slug stays."""
    async with database.transaction(identity.company_id) as session:
        await service.rename(session, identity.company_id, body.name, actor=identity, origin=origin)
        return await service.describe(session, identity.company_id)


@router.post("/usage/messages")
async def take_message(identity: Asker, database: DatabaseDep) -> MessageReservation:
    """Counts one question against this month's messages; 429 once they are all used."""
    try:
        async with database.transaction(identity.company_id) as session:
            return await service.take_message(session, identity.company_id)
    except QuotaExceeded as exceeded:
        raise quota_problem(
            exceeded,
            f"Your plan allows {exceeded.allowed} messages a month and all are used; "
            "the count starts again on the first day of next month (UTC).",
        ) from exceeded


@router.post("/usage/messages/release", status_code=status.HTTP_204_NO_CONTENT)
async def release_message(body: MessageRelease, identity: Asker, database: DatabaseDep) -> Response:
    """Gives back a message taken for a question that could not be sent."""
    async with database.transaction(identity.company_id) as session:
        await service.release_message(session, identity.company_id, body.period_start)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/usage/storage")
async def reserve_storage(
    body: StorageRequest, identity: Uploader, database: DatabaseDep
) -> StorageUsage:
    """Counts a file's bytes against the plan's storage; 429 when they do not fit."""
    try:
        async with database.transaction(identity.company_id) as session:
            return await service.reserve_storage(session, identity.company_id, body.bytes)
    except QuotaExceeded as exceeded:
        raise quota_problem(
            exceeded,
            f"Your plan allows {exceeded.allowed // BYTES_PER_MB} MB of storage; "
            f"{exceeded.used} bytes are used and this file needs {body.bytes} more.",
            requested=body.bytes,
        ) from exceeded


@router.post("/usage/storage/release")
async def release_storage(
    body: StorageRequest, identity: Uploader, database: DatabaseDep
) -> StorageUsage:
    """Gives back the bytes of a file that was reserved for and then not kept."""
    async with database.transaction(identity.company_id) as session:
        return await service.release_storage(session, identity.company_id, body.bytes)
