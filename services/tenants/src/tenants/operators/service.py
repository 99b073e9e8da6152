"""Platform operators and what they do to companies: list, create, change plan, suspend and
reactivate. Each change to a company runs in that company's transaction, with its audit row
(actor: the operator) and its event, so the company's own log shows what was done to it."""

from dataclasses import replace
from uuid import UUID, uuid4

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from common.auth import Role
from common.bus import add_to_outbox
from common.db import Database, fetch_page
from common.events import (
    CompanyCreated,
    CompanyCreatedV1,
    CompanyPlanChanged,
    CompanyPlanChangedV1,
    CompanyReactivated,
    CompanyStatusV1,
    CompanySuspended,
)
from common.problems import Problem
from tenants import scopes
from tenants.accounts import passwords
from tenants.accounts.models import Company, CompanyStatus
from tenants.accounts.service import create_company
from tenants.audit.service import record
from tenants.callers import RequestOrigin
from tenants.db import outbox
from tenants.invitations.models import Invitation
from tenants.invitations.service import add_invitation
from tenants.operators.models import Operator
from tenants.plans import LIMITS, Plan, PlanLimits

OPERATOR_EMAIL_UNIQUE = "uq_operators_lower_email"


class OperatorExists(Exception):
    pass


class InvalidOperatorCredentials(Exception):
    pass


def company_not_found(company_id: UUID) -> Problem:
    return Problem(404, "company-not-found", f"No company {company_id}.")


async def create_operator(database: Database, email: str, password: str) -> Operator:
    password_hash = await passwords.hash_password(password)
    operator = Operator(id=uuid4(), email=email.strip().lower(), password_hash=password_hash)
    try:
        async with database.transaction(scope=scopes.PLATFORM) as session:
            session.add(operator)
    except IntegrityError as exc:
        raise OperatorExists(email) from exc
    return operator


async def list_operators(database: Database) -> list[Operator]:
    async with database.transaction(scope=scopes.PLATFORM) as session:
        return list(await session.scalars(select(Operator).order_by(Operator.created_at)))


async def set_operator_active(database: Database, email: str, active: bool) -> bool:
    async with database.transaction(scope=scopes.PLATFORM) as session:
        operator = await session.scalar(
            select(Operator).where(func.lower(Operator.email) == email.strip().lower())
        )
        if operator is None:
            return False
        operator.is_active = active
    return True


async def sign_in(database: Database, email: str, password: str) -> Operator:
    async with database.transaction(scope=scopes.PLATFORM) as session:
        operator = await session.scalar(
            select(Operator).where(func.lower(Operator.email) == email.strip().lower())
        )
        if operator is None:
            await passwords.burn_verification(password)
            raise InvalidOperatorCredentials
        if not await passwords.verify_password(operator.password_hash, password):
            raise InvalidOperatorCredentials
        if not operator.is_active:
            raise InvalidOperatorCredentials
        operator.last_login_at = await session.scalar(select(func.now()))
    return operator


async def active_operator(database: Database, operator_id: UUID) -> Operator | None:
    async with database.transaction(scope=scopes.PLATFORM) as session:
        operator = await session.get(Operator, operator_id)
    return operator if operator is not None and operator.is_active else None


async def list_companies(
    database: Database,
    *,
    status: CompanyStatus | None,
    plan: Plan | None,
    search: str | None,
    limit: int,
    offset: int,
) -> tuple[list[Company], int]:
    query = select(Company)
    if status is not None:
        query = query.where(Company.status == status.value)
    if plan is not None:
        query = query.where(Company.plan == plan.value)
    if search:
        pattern = f"%{search.lower()}%"
        query = query.where(func.lower(Company.name).like(pattern) | Company.slug.like(pattern))
    async with database.transaction(scope=scopes.PLATFORM) as session:
        return await fetch_page(
            session, query, Company.created_at.desc(), Company.id, limit=limit, offset=offset
        )


async def get_company(database: Database, company_id: UUID) -> Company:
    async with database.transaction(company_id) as session:
        company = await session.get(Company, company_id)
    if company is None:
        raise company_not_found(company_id)
    return company


def _actor(operator_id: UUID) -> tuple[str, UUID]:
    return ("operator", operator_id)


async def create_company_with_owner_invitation(
    database: Database,
    *,
    name: str,
    plan: Plan,
    owner_email: str,
    operator_id: UUID,
    origin: RequestOrigin,
) -> tuple[Company, Invitation, str]:
    """A company with no users yet and an invitation for its owner (token shown once)."""
    company_id = uuid4()
    async with database.transaction(company_id) as session:
        company = await create_company(session, company_id, name, plan=plan)
        invitation, token = await add_invitation(
            session, company.id, owner_email, Role.OWNER, invited_by=None
        )
        await record(
            session,
            company.id,
            action="company.created",
            resource_type="company",
            resource_id=company.id,
            actor=_actor(operator_id),
            origin=origin,
            new={"name": name, "plan": plan.value, "owner_email": owner_email},
        )
        await add_to_outbox(
            session,
            outbox,
            CompanyCreated.new(
                company.id,
                CompanyCreatedV1(
                    company_id=company.id,
                    name=company.name,
                    slug=company.slug,
                    plan=plan.value,
                    limits=LIMITS[plan].for_event(),
                ),
            ),
        )
    return company, invitation, token


async def _locked_company(session: AsyncSession, company_id: UUID) -> Company:
    company = await session.get(Company, company_id, with_for_update=True)
    if company is None:
        raise company_not_found(company_id)
    return company


def limits_of(company: Company) -> PlanLimits:
    """The limits the company row holds (its plan's, or an operator's tailoring of them)."""
    return PlanLimits(**{name: getattr(company, name) for name in PlanLimits.names()})


async def change_terms(
    database: Database,
    company_id: UUID,
    *,
    plan: Plan | None,
    limits: dict[str, int | None],
    operator_id: UUID,
    origin: RequestOrigin,
) -> Company:
    """Moves the company to `plan` and its limits, then applies `limits` (an operator's
    tailoring; None is unlimited) on top. A downgrade below current usage is allowed for seats
    (nobody is removed; new joins wait for a free seat) but refused for usage the database
    holds to its limits (messages, characters, storage). Announced as company.plan_changed,
    which carries the new limits to the services that enforce them."""
    async with database.transaction(company_id) as session:
        company = await _locked_company(session, company_id)
        old_plan, old_limits = company.plan, limits_of(company)
        new_plan = plan or Plan(old_plan)
        base = LIMITS[new_plan] if plan is not None else old_limits
        new_limits = replace(base, **limits)
        if new_plan == old_plan and new_limits == old_limits:
            return company
        for column, value in new_limits.columns().items():
            setattr(company, column, value)
        company.plan = new_plan.value
        try:
            async with session.begin_nested():
                await session.flush()
        except IntegrityError as exc:
            raise Problem(
                409,
                "usage-above-plan",
                "The company already uses more than these limits allow this month.",
            ) from exc
        await record(
            session,
            company_id,
            action="company.plan_changed" if new_plan != old_plan else "company.limits_changed",
            resource_type="company",
            resource_id=company_id,
            actor=_actor(operator_id),
            origin=origin,
            old={"plan": old_plan, **old_limits.columns()},
            new={"plan": new_plan.value, **new_limits.columns()},
        )
        await add_to_outbox(
            session,
            outbox,
            CompanyPlanChanged.new(
                company_id,
                CompanyPlanChangedV1(
                    company_id=company_id,
                    old_plan=old_plan,
                    new_plan=new_plan.value,
                    changed_by=operator_id,
                    limits=new_limits.for_event(),
                ),
            ),
        )
    return company


async def set_status(
    database: Database,
    company_id: UUID,
    status: CompanyStatus,
    *,
    reason: str | None,
    operator_id: UUID,
    origin: RequestOrigin,
) -> Company:
    """Suspends or reactivates. Tenants refuses the company's tokens from this commit on; the
    event tells the gateway, ingest and query."""
    async with database.transaction(company_id) as session:
        company = await _locked_company(session, company_id)
        old_status = company.status
        if old_status == status:
            return company
        company.status = status.value
        company.suspended_at = (
            await session.scalar(select(func.now())) if status is CompanyStatus.SUSPENDED else None
        )
        await session.flush()
        await record(
            session,
            company_id,
            action=f"company.{'suspended' if status is CompanyStatus.SUSPENDED else 'reactivated'}",
            resource_type="company",
            resource_id=company_id,
            actor=_actor(operator_id),
            origin=origin,
            old={"status": old_status},
            new={"status": status.value, "reason": reason},
        )
        payload = CompanyStatusV1(company_id=company_id, reason=reason, changed_by=operator_id)
        event_type = CompanySuspended if status is CompanyStatus.SUSPENDED else CompanyReactivated
        await add_to_outbox(session, outbox, event_type.new(company_id, payload))
    return company
