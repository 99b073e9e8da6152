"""Sign-up and sign-in. Functions taking a session only flush; the transaction wrapper
(`Database.transaction`) is the one place that commits."""

import re
import secrets
import unicodedata
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import exists, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from common.auth import Role
from common.bus import add_to_outbox
from common.contracts.accounts import SignupRequest
from common.db import Database, violated_unique_constraint
from common.db.session import SCOPE_SETTING
from common.events import CompanyCreated, CompanyCreatedV1
from tenants import scopes
from tenants.accounts import passwords
from tenants.accounts.models import (
    COMPANY_SLUG_UNIQUE,
    USER_EMAIL_UNIQUE,
    Company,
    CompanyStatus,
    User,
)
from tenants.db import outbox
from tenants.plans import LIMITS, Plan

SIGN_IN_SCOPE = scopes.SIGN_IN
SLUG_MAX_LENGTH = 60
SLUG_ATTEMPTS = 5


class AccountsError(Exception):
    """A sign-up or sign-in refused for a reason the caller is told."""


class EmailTaken(AccountsError):
    def __init__(self, email: str) -> None:
        super().__init__(f"a user with the email {email!r} already exists")
        self.email = email


class InvalidCredentials(AccountsError):
    """Unknown email, wrong password, inactive user or company: callers cannot tell which."""


def slugify(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug[:SLUG_MAX_LENGTH].rstrip("-") or "company"


async def create_company(
    session: AsyncSession, company_id: UUID, name: str, *, plan: Plan
) -> Company:
    """Adds a company, its slug derived from the name and made unique with a random suffix.

    Other companies' slugs are invisible under RLS, so a clash shows only as the unique
    violation; each attempt runs in a savepoint so a clash does not spoil the transaction.
    """
    base = slugify(name)
    for attempt in range(SLUG_ATTEMPTS):
        slug = base if attempt == 0 else f"{base}-{secrets.token_hex(3)}"
        company = Company(
            id=company_id,
            name=name,
            slug=slug,
            plan=plan.value,
            status=CompanyStatus.ACTIVE.value,
            **LIMITS[plan].columns(),
        )
        try:
            async with session.begin_nested():
                session.add(company)
        except IntegrityError as exc:
            if violated_unique_constraint(exc) != COMPANY_SLUG_UNIQUE:
                raise
            continue
        return company
    raise RuntimeError(f"no free slug for {name!r} after {SLUG_ATTEMPTS} attempts")


async def create_user(
    session: AsyncSession,
    company: Company,
    *,
    email: str,
    password_hash: str,
    first_name: str,
    last_name: str,
    role: Role,
) -> User:
    user = User(
        id=uuid4(),
        company_id=company.id,
        email=email.lower(),
        password_hash=password_hash,
        first_name=first_name,
        last_name=last_name,
        role=role.value,
        is_active=True,
    )
    try:
        async with session.begin_nested():
            session.add(user)
    except IntegrityError as exc:
        if violated_unique_constraint(exc) == USER_EMAIL_UNIQUE:
            raise EmailTaken(user.email) from exc
        raise
    return user


async def email_has_account(session: AsyncSession, email: str) -> bool:
    """Whether anyone in any company has this email, holding a lock on the email until the
    transaction ends so two sign-ups with one email cannot both pass.

    A self-service sign-up needs an email of its own (sign-in is by email); a person joins
    other companies by invitation. The sign-in scope is lifted for this one read only.
    """
    await session.execute(select(func.pg_advisory_xact_lock(func.hashtext("email:" + email))))
    await session.execute(select(func.set_config(SCOPE_SETTING, SIGN_IN_SCOPE, True)))
    taken = await session.scalar(select(exists().where(func.lower(User.email) == email.lower())))
    await session.execute(select(func.set_config(SCOPE_SETTING, "", True)))
    return bool(taken)


async def sign_up(database: Database, request: SignupRequest, *, plan: Plan) -> User:
    """Creates a company on `plan` and its owner, and announces the company, in one
    transaction."""
    password_hash = await passwords.hash_password(request.password)
    company_id = uuid4()
    async with database.transaction(company_id) as session:
        if await email_has_account(session, request.email):
            raise EmailTaken(request.email)
        company = await create_company(session, company_id, request.company_name, plan=plan)
        owner = await create_user(
            session,
            company,
            email=request.email,
            password_hash=password_hash,
            first_name=request.first_name,
            last_name=request.last_name,
            role=Role.OWNER,
        )
        event = CompanyCreated.new(
            company.id,
            CompanyCreatedV1(
                company_id=company.id, name=company.name, slug=company.slug, owner_user_id=owner.id
            ),
        )
        await add_to_outbox(session, outbox, event)
    return owner


async def find_user_by_email(session: AsyncSession, email: str) -> User | None:
    return await session.scalar(select(User).where(func.lower(User.email) == email.lower()))


async def sign_in(database: Database, email: str, password: str) -> User:
    """The user the email and password belong to, with `last_login_at` updated."""
    async with database.transaction(scope=SIGN_IN_SCOPE) as session:
        user = await find_user_by_email(session, email)
    if user is None:
        await passwords.burn_verification(password)
        raise InvalidCredentials
    if not await passwords.verify_password(user.password_hash, password) or not user.is_active:
        raise InvalidCredentials

    async with database.transaction(user.company_id) as session:
        status = await session.scalar(select(Company.status).where(Company.id == user.company_id))
        if status != CompanyStatus.ACTIVE:
            raise InvalidCredentials
        changes: dict[str, Any] = {"last_login_at": func.now()}
        if passwords.needs_rehash(user.password_hash):
            changes["password_hash"] = await passwords.hash_password(password)
        signed_in: User | None = await session.scalar(
            update(User)
            .where(User.id == user.id, User.is_active.is_(True))
            .values(changes)
            .returning(User)
        )
    # Deactivated between the two transactions.
    if signed_in is None:
        raise InvalidCredentials
    return signed_in
