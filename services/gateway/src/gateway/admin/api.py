"""The platform operators' console: companies seen from outside any of them. Operators are
created with `python -m tenants operators create` and sign in here with their own token
audience; tenant tokens are refused on these routes and operator tokens everywhere else."""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query

from common.contracts.admin import (
    CompanyChange,
    CompanyCreate,
    CompanyCreated,
    CompanyList,
    CompanySummary,
    OperatorLogin,
    OperatorToken,
    PlanName,
)
from gateway.dependencies import CurrentGateway, CurrentOperator, CurrentOrigin

router = APIRouter(prefix="/v1/admin", tags=["platform operators"])


@router.post("/auth/login", response_model=OperatorToken)
async def login(body: OperatorLogin, gateway: CurrentGateway) -> Any:
    return await gateway.tenants.call("POST", "/internal/admin/login", json=body.model_dump())


@router.get("/companies", response_model=CompanyList)
async def list_companies(
    operator: CurrentOperator,
    gateway: CurrentGateway,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
    status: Annotated[str | None, Query(pattern="^(active|suspended)$")] = None,
    plan: PlanName | None = None,
    q: Annotated[str | None, Query(max_length=100, description="In the name or slug")] = None,
) -> Any:
    params: dict[str, Any] = {"limit": limit, "offset": offset}
    for name, value in (("status", status), ("plan", plan), ("q", q)):
        if value:
            params[name] = value
    return await gateway.tenants.call(
        "GET", "/internal/admin/companies", token=operator.token, params=params
    )


@router.post("/companies", status_code=201, response_model=CompanyCreated)
async def create_company(
    body: CompanyCreate, operator: CurrentOperator, gateway: CurrentGateway, origin: CurrentOrigin
) -> Any:
    """Creates a company on a plan, with an invitation for its owner: the answer's
    `owner_invitation_token` is shown only this once."""
    return await gateway.tenants.call(
        "POST",
        "/internal/admin/companies",
        token=operator.token,
        json=body.model_dump(),
        origin=origin,
    )


@router.get("/companies/{company_id}", response_model=CompanySummary)
async def read_company(company_id: UUID, operator: CurrentOperator, gateway: CurrentGateway) -> Any:
    return await gateway.tenants.call(
        "GET", f"/internal/admin/companies/{company_id}", token=operator.token
    )


@router.patch("/companies/{company_id}", response_model=CompanySummary)
async def change_company(
    company_id: UUID,
    body: CompanyChange,
    operator: CurrentOperator,
    gateway: CurrentGateway,
    origin: CurrentOrigin,
) -> Any:
    """Changes the plan (and its limits), tailors this company's `limits` (null: unlimited),
    or suspends (`status: suspended`, with a `reason`) or reactivates the company. A suspended
    company's tokens and API keys stop at once."""
    changed = await gateway.tenants.call(
        "PATCH",
        f"/internal/admin/companies/{company_id}",
        token=operator.token,
        json=body.model_dump(exclude_unset=True),
        origin=origin,
    )
    # This replica applies it now; the others (and ingest, query) follow the event.
    if body.status == "suspended":
        gateway.suspensions.suspend(company_id)
    elif body.status == "active":
        gateway.suspensions.reactivate(company_id)
    return changed
