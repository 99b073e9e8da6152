"""The caller's company: its details with its usage against the plan's limits, and renaming
it. Checked here by the token's role, then again by the tenants service, which owns both.

Usage is part of the company's one read rather than a route of its own: it is small, it is
what a settings page shows next to the name, and one call keeps the two consistent.
"""

from typing import Any

from fastapi import APIRouter

from common.auth import Permission, require
from common.contracts.company import CompanyOut, CompanyUpdate
from gateway.dependencies import CurrentGateway, CurrentIdentity, CurrentOrigin

router = APIRouter(prefix="/v1/company", tags=["company"])


@router.get("", response_model=CompanyOut)
async def read_company(identity: CurrentIdentity, gateway: CurrentGateway) -> Any:
    """The company, and its messages this month, active users, storage and document
    characters against its plan's limits (`allowed: null` is unlimited)."""
    require(identity, Permission.COMPANY_READ)
    return await gateway.tenants.call("GET", "/internal/company", token=identity.token)


@router.patch("", response_model=CompanyOut)
async def update_company(
    body: CompanyUpdate, identity: CurrentIdentity, gateway: CurrentGateway, origin: CurrentOrigin
) -> Any:
    """Renames the company (owners and administradores); its slug stays."""
    require(identity, Permission.COMPANY_MANAGE)
    return await gateway.tenants.call(
        "PATCH",
        "/internal/company",
        token=identity.token,
        json=body.model_dump(),
        origin=origin,
    )
