"""Sign-up, sign-in with lock-out, and password changes. Functions taking a session only flush;
the transaction wrapper (`Database.transaction`) is the one place that commits."""

import asyncio
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import ColumnElement, case, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from common.auth import Identity, Role
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
from tenants.audit.service import record
from tenants.callers import RequestOrigin
from tenants.db import outbox
from tenants.plans import LIMITS, Plan
from tenants.tokens import sessions

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
    """Unknown email, wrong password, locked or inactive user, inactive company: callers cannot
    tell which."""


class CompanyRequired(AccountsError):
    """The password is right for accounts in several companies; the caller must pick one."""


class WrongPassword(AccountsError):
    """The current password given to change it is not the user's."""


class NoPassword(AccountsError):
    """The caller has no password of its own to change (an API key, a deactivated user)."""


class AccountLocked(AccountsError):
    def __init__(self, until: datetime) -> None:
        super().__init__(f"locked until {until.isoformat()}")
        self.until = until


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
                company_id=company.id,
                name=company.name,
                slug=company.slug,
                owner_user_id=owner.id,
                plan=plan.value,
                limits=LIMITS[plan].for_event(),
            ),
        )
        await add_to_outbox(session, outbox, event)
    return owner


@dataclass(frozen=True)
class Lockout:
    """How many consecutive wrong passwords lock an account, and for how long."""

    max_failed_attempts: int
    seconds: int


def _not_locked() -> ColumnElement[bool]:
    return or_(User.locked_until.is_(None), User.locked_until <= func.now())


async def find_sign_in_candidates(
    database: Database, email: str, company_slug: str | None
) -> list[User]:
    """The active users with this email whose company is active (and is `company_slug`, if
    given). The users are found across companies in the sign-in scope; each company is then
    read in its own transaction, since the scope does not reach companies."""
    async with database.transaction(scope=SIGN_IN_SCOPE) as session:
        users = list(
            await session.scalars(
                select(User).where(func.lower(User.email) == email.lower(), User.is_active)
            )
        )
    candidates = []
    for user in users:
        async with database.transaction(user.company_id) as session:
            company = await session.get(Company, user.company_id)
        if company is None or company.status != CompanyStatus.ACTIVE:
            continue
        if company_slug is None or company.slug == company_slug:
            candidates.append(user)
    return candidates


async def record_failed_attempt(
    database: Database, user: User, lockout: Lockout, *, origin: RequestOrigin | None
) -> None:
    """Counts one wrong password, and locks the account when that makes `max_failed_attempts`.

    One UPDATE reads and writes the counter, so concurrent failures are each counted once and
    the lock starts exactly once. While a lock holds nothing is counted (it would only extend
    the lock an attacker set off); once it has run out, counting starts again from one.
    """
    attempts = case((User.locked_until.is_not(None), 1), else_=User.failed_login_attempts + 1)
    async with database.transaction(user.company_id) as session:
        counted = (
            await session.execute(
                update(User)
                .where(User.id == user.id, _not_locked())
                .values(
                    failed_login_attempts=attempts,
                    locked_until=case(
                        (
                            attempts >= lockout.max_failed_attempts,
                            func.now() + timedelta(seconds=lockout.seconds),
                        ),
                        else_=None,
                    ),
                )
                .returning(User.failed_login_attempts, User.locked_until)
                .execution_options(synchronize_session=False)
            )
        ).one_or_none()
        if counted is not None and counted.locked_until is not None:
            await record(
                session,
                user.company_id,
                action="user.locked",
                resource_type="user",
                resource_id=user.id,
                origin=origin,
                new={
                    "failed_login_attempts": counted.failed_login_attempts,
                    "locked_until": counted.locked_until.isoformat(),
                },
            )


def _is_locked(user: User) -> bool:
    """As last read; the writes check again against the database's clock."""
    return user.locked_until is not None and user.locked_until > datetime.now(UTC)


async def sign_in(
    database: Database,
    email: str,
    password: str,
    *,
    lockout: Lockout,
    company: str | None = None,
    origin: RequestOrigin | None = None,
) -> User:
    """The user the email and password belong to, with `last_login_at` updated and the failure
    count reset.

    A locked account is refused exactly like a wrong password, even when the password is right:
    a distinct answer would confirm a guessed password to whoever set the lock off, and would
    tell anyone that the email has an account. Its password is still verified, so it is not
    faster either.
    """
    candidates = await find_sign_in_candidates(database, email, company)
    if not candidates:
        await passwords.burn_verification(password)
        raise InvalidCredentials
    # Side by side (argon2 runs in threads), so several accounts cost about what one does.
    matches = await asyncio.gather(
        *(passwords.verify_password(user.password_hash, password) for user in candidates)
    )
    verdicts = [
        (user, match, _is_locked(user)) for user, match in zip(candidates, matches, strict=True)
    ]
    signed_in = [user for user, match, locked in verdicts if match and not locked]
    if not signed_in:
        for user, match, locked in verdicts:
            if not match and not locked:
                await record_failed_attempt(database, user, lockout, origin=origin)
        raise InvalidCredentials
    if len(signed_in) > 1:
        raise CompanyRequired
    return await _record_sign_in(database, signed_in[0], password)


async def _record_sign_in(database: Database, user: User, password: str) -> User:
    changes: dict[str, Any] = {
        "last_login_at": func.now(),
        "failed_login_attempts": 0,
        "locked_until": None,
    }
    if passwords.needs_rehash(user.password_hash):
        changes["password_hash"] = await passwords.hash_password(password)
    async with database.transaction(user.company_id) as session:
        status = await session.scalar(select(Company.status).where(Company.id == user.company_id))
        if status != CompanyStatus.ACTIVE:
            raise InvalidCredentials
        # The lock is checked again here: a concurrent wrong password may have just set it.
        signed_in: User | None = await session.scalar(
            update(User)
            .where(User.id == user.id, User.is_active.is_(True), _not_locked())
            .values(changes)
            .returning(User)
        )
    # Deactivated or locked since the candidates were read.
    if signed_in is None:
        raise InvalidCredentials
    return signed_in


async def change_password(
    database: Database,
    identity: Identity,
    current_password: str,
    new_password: str,
    *,
    lockout: Lockout,
    origin: RequestOrigin,
) -> None:
    """Changes the caller's password and ends all their sessions (refresh tokens).

    A wrong current password counts towards the lock-out as a wrong sign-in does, so a stolen
    access token cannot be used to guess the password.
    """
    if identity.is_api_key:
        raise NoPassword
    async with database.transaction(identity.company_id) as session:
        user = await session.get(User, identity.user_id)
    if user is None or not user.is_active:
        raise NoPassword
    if user.locked_until is not None and _is_locked(user):
        raise AccountLocked(user.locked_until)
    if not await passwords.verify_password(user.password_hash, current_password):
        await record_failed_attempt(database, user, lockout, origin=origin)
        raise WrongPassword
    new_hash = await passwords.hash_password(new_password)
    async with database.transaction(identity.company_id) as session:
        # Only if nothing changed since the check: not the password, not a lock.
        changed = await session.scalar(
            update(User)
            .where(
                User.id == user.id,
                User.password_hash == user.password_hash,
                User.is_active.is_(True),
                _not_locked(),
            )
            .values(
                password_hash=new_hash,
                password_changed_at=func.now(),
                failed_login_attempts=0,
            )
            .returning(User.id)
            .execution_options(synchronize_session=False)
        )
        if changed is None:
            raise WrongPassword
        await sessions.revoke_user_tokens(session, user.id)
        await record(
            session,
            identity.company_id,
            action="user.password_changed",
            resource_type="user",
            resource_id=user.id,
            actor=identity,
            origin=origin,
        )
