"""The caller's company: its details with its usage against the plan's limits, and renaming
it. Checked here by the token's role, then again by the tenants service, which owns both.

Usage is part of the company's one read rather than a route of its own: it is small, it is
what a settings page shows next to the name, and one call keeps the two consistent. The
document characters used are counted by ingest, which owns the documents: the gateway asks
it alongside and puts its count into what tenants answers.
"""

import asyncio
from typing import Any

from fastapi import APIRouter

from common.auth import Identity, Permission, require
from common.contracts.company import CompanyOut, CompanyUpdate, DocumentUsage
from gateway.dependencies import CurrentGateway, CurrentIdentity, CurrentOrigin, Gateway

router = APIRouter(prefix="/v1/company", tags=["company"])


async def _document_usage(gateway: Gateway, identity: Identity) -> DocumentUsage:
    return DocumentUsage.model_validate(
        await gateway.ingest.call("GET", "/internal/usage", token=identity.token)
    )


def _with_document_usage(company: Any, usage: DocumentUsage) -> Any:
    company["usage"]["document_characters"]["used"] = usage.document_characters_used
    return company


@router.get("", response_model=CompanyOut)
async def read_company(identity: CurrentIdentity, gateway: CurrentGateway) -> Any:
    """The company, and its messages this month, active users, storage and document
    characters against its plan's limits (`allowed: null` is unlimited)."""
    require(identity, Permission.COMPANY_READ)
    company, usage = await asyncio.gather(
        gateway.tenants.call("GET", "/internal/company", token=identity.token),
        _document_usage(gateway, identity),
    )
    return _with_document_usage(company, usage)


@router.patch("", response_model=CompanyOut)
async def update_company(
    body: CompanyUpdate, identity: CurrentIdentity, gateway: CurrentGateway, origin: CurrentOrigin
) -> Any:
    """Renames the company (owners and administradores); its slug stays."""
    require(identity, Permission.COMPANY_MANAGE)
    company = await gateway.tenants.call(
        "PATCH",
        "/internal/company",
        token=identity.token,
        json=body.model_dump(),
        origin=origin,
    )
    return _with_document_usage(company, await _document_usage(gateway, identity))
