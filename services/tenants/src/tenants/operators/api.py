"""Internal routes of the platform operators' console (the gateway's `/v1/admin/...`)."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, status

from common.auth import OperatorIdentity, bearer_token
from common.contracts.admin import (
    CompanyChange,
    CompanyCreate,
    CompanyCreated,
    CompanyList,
    CompanySummary,
    OperatorLogin,
    OperatorToken,
)
from common.problems import Problem
from tenants.accounts.models import CompanyStatus
from tenants.callers import CurrentOrigin
from tenants.operators import service
from tenants.plans import Plan
from tenants.state import DatabaseDep, SettingsDep, TokenIssuerDep, app_state

router = APIRouter(prefix="/internal/admin", tags=["platform operators"])


async def _operator(
    request: Request, token: Annotated[str, Depends(bearer_token)]
) -> OperatorIdentity:
    """A verified operator token whose operator is still active (checked on every call, so a
    deactivated operator stops at once)."""
    state = app_state(request.app)
    identity = await state.operator_verifier.verify_operator(token)
    if await service.active_operator(state.database, identity.operator_id) is None:
        raise Problem(401, "unauthorized", "This operator is not active.")
    return identity


CurrentOperator = Annotated[OperatorIdentity, Depends(_operator)]


@router.post("/login")
async def login(
    body: OperatorLogin, database: DatabaseDep, tokens: TokenIssuerDep, settings: SettingsDep
) -> OperatorToken:
    try:
        operator = await service.sign_in(database, body.email, body.password)
    except service.InvalidOperatorCredentials as exc:
        raise Problem(401, "invalid-credentials", "The email or password is incorrect.") from exc
    token = tokens.operator_access_token(operator.id, audience=settings.operator_token_audience)
    return OperatorToken(access_token=token, expires_in=tokens.ttl_seconds)


@router.get("/companies")
async def list_companies(
    _: CurrentOperator,
    database: DatabaseDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
    status: CompanyStatus | None = None,
    plan: Plan | None = None,
    q: Annotated[str | None, Query(max_length=100, description="In the name or slug")] = None,
) -> CompanyList:
    rows, total = await service.list_companies(
        database, status=status, plan=plan, search=q, limit=limit, offset=offset
    )
    items = [CompanySummary.model_validate(row) for row in rows]
    return CompanyList(items=items, limit=limit, offset=offset, total=total)


@router.get("/companies/{company_id}")
async def read_company(
    company_id: UUID, _: CurrentOperator, database: DatabaseDep
) -> CompanySummary:
    return CompanySummary.model_validate(await service.get_company(database, company_id))


@router.post("/companies", status_code=status.HTTP_201_CREATED)
async def create_company(
    body: CompanyCreate, operator: CurrentOperator, origin: CurrentOrigin, database: DatabaseDep
) -> CompanyCreated:
    company, _, token = await service.create_company_with_owner_invitation(
        database,
        name=body.name,
        plan=Plan(body.plan),
        owner_email=body.owner_email,
        operator_id=operator.operator_id,
        origin=origin,
    )
    summary = CompanySummary.model_validate(company)
    return CompanyCreated(**summary.model_dump(), owner_invitation_token=token)


@router.patch("/companies/{company_id}")
async def change_company(
    company_id: UUID,
    body: CompanyChange,
    operator: CurrentOperator,
    origin: CurrentOrigin,
    database: DatabaseDep,
) -> CompanySummary:
    """Changes the plan and/or tailors the limits, and/or suspends or reactivates the
    company."""
    if body.plan is None and body.limits is None and body.status is None:
        raise Problem(422, "nothing-to-change", "Give a plan, limits, a status, or some of them.")
    company = await service.get_company(database, company_id)
    if body.plan is not None or body.limits is not None:
        company = await service.change_terms(
            database,
            company_id,
            plan=Plan(body.plan) if body.plan is not None else None,
            limits=body.limits.model_dump(exclude_unset=True) if body.limits else {},
            operator_id=operator.operator_id,
            origin=origin,
        )
    if body.status is not None:
        company = await service.set_status(
            database,
            company_id,
            CompanyStatus(body.status),
            reason=body.reason,
            operator_id=operator.operator_id,
            origin=origin,
        )
    return CompanySummary.model_validate(company)
