"""Sessions: an access token with a refresh token that renews it. Refresh tokens are opaque and
only their SHA-256 is stored. Each use rotates the token: the presented one is marked used and a
new one joins the same family. A used token presented again means two parties hold it (a thief
and the owner), so the whole family is revoked and both must sign in again (OAuth 2.0 Security
BCP, refresh token rotation)."""

import hashlib
import secrets
from datetime import timedelta
from uuid import UUID, uuid4

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from common.auth import Role
from common.contracts.accounts import AccessToken
from common.db import Database
from tenants import scopes
from tenants.accounts.models import Company, CompanyStatus, User
from tenants.audit.service import record
from tenants.callers import RequestOrigin
from tenants.tokens.models import RefreshToken
from tenants.tokens.service import TokenIssuer

# 256 bits from the OS's CSPRNG: a refresh token cannot be guessed, so a plain hash suffices.
REFRESH_TOKEN_BYTES = 32


class InvalidRefreshToken(Exception):
    """Unknown, expired, revoked or already used, or its user or company may no longer sign in:
    callers cannot tell which."""


def hash_refresh_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def add_refresh_token(
    session: AsyncSession, user: User, *, family_id: UUID, ttl_seconds: int
) -> str:
    """Stores a new refresh token of the family for the user; answers the token itself, which is
    never stored and cannot be shown again."""
    token = secrets.token_urlsafe(REFRESH_TOKEN_BYTES)
    session.add(
        RefreshToken(
            id=uuid4(),
            company_id=user.company_id,
            user_id=user.id,
            family_id=family_id,
            token_hash=hash_refresh_token(token),
            expires_at=func.now() + timedelta(seconds=ttl_seconds),
        )
    )
    await session.flush()
    return token


async def issue_pair(
    session: AsyncSession, issuer: TokenIssuer, user: User, *, family_id: UUID
) -> AccessToken:
    refresh_token = await add_refresh_token(
        session, user, family_id=family_id, ttl_seconds=issuer.refresh_ttl_seconds
    )
    return AccessToken(
        access_token=issuer.access_token(
            user_id=user.id, company_id=user.company_id, role=Role(user.role)
        ),
        expires_in=issuer.ttl_seconds,
        refresh_token=refresh_token,
        refresh_expires_in=issuer.refresh_ttl_seconds,
    )


async def start_session(database: Database, issuer: TokenIssuer, user: User) -> AccessToken:
    """A new session (a new refresh token family) for a user who has just proved who they are."""
    async with database.transaction(user.company_id) as session:
        return await issue_pair(session, issuer, user, family_id=uuid4())


async def _find(database: Database, presented: str) -> RefreshToken | None:
    """The stored token, found by hash before its company is known (read-only scope)."""
    async with database.transaction(scope=scopes.TOKEN_REFRESH) as session:
        found: RefreshToken | None = await session.scalar(
            select(RefreshToken).where(RefreshToken.token_hash == hash_refresh_token(presented))
        )
    return found


async def revoke_family(session: AsyncSession, family_id: UUID) -> int:
    """Revokes every live token of the family; answers how many were live."""
    revoked = await session.scalars(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=func.now())
        .returning(RefreshToken.id)
        .execution_options(synchronize_session=False)
    )
    return len(revoked.all())


async def revoke_user_tokens(session: AsyncSession, user_id: UUID) -> None:
    """Ends every session of the user (a password change, a deactivation)."""
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=func.now())
        .execution_options(synchronize_session=False)
    )


async def _user_may_sign_in(session: AsyncSession, user_id: UUID, company_id: UUID) -> User | None:
    user = await session.get(User, user_id)
    company_status = await session.scalar(select(Company.status).where(Company.id == company_id))
    if user is None or not user.is_active or company_status != CompanyStatus.ACTIVE:
        return None
    return user


async def refresh(
    database: Database, issuer: TokenIssuer, presented: str, *, origin: RequestOrigin | None
) -> AccessToken:
    """Exchanges a refresh token for a new pair of the same family.

    Of concurrent uses of one token exactly one wins: marking it used is a conditional UPDATE,
    and the losers, which wait for the winner's row lock, then see it used and count as reuse.
    """
    found = await _find(database, presented)
    if found is None:
        raise InvalidRefreshToken
    async with database.transaction(found.company_id) as session:
        user = await _user_may_sign_in(session, found.user_id, found.company_id)
        if user is None:
            raise InvalidRefreshToken
        rotated = await session.scalar(
            update(RefreshToken)
            .where(
                RefreshToken.id == found.id,
                RefreshToken.used_at.is_(None),
                RefreshToken.revoked_at.is_(None),
                RefreshToken.expires_at > func.now(),
            )
            .values(used_at=func.now())
            .returning(RefreshToken.id)
            .execution_options(synchronize_session=False)
        )
        if rotated is not None:
            return await issue_pair(session, issuer, user, family_id=found.family_id)
        used_at = await session.scalar(
            select(RefreshToken.used_at).where(RefreshToken.id == found.id)
        )
        if used_at is not None and await revoke_family(session, found.family_id):
            await record(
                session,
                found.company_id,
                action="user.refresh_token_reused",
                resource_type="user",
                resource_id=found.user_id,
                origin=origin,
                new={"family_id": str(found.family_id), "family_revoked": True},
            )
    # Outside the transaction, so the family's revocation is committed, not rolled back.
    raise InvalidRefreshToken


async def log_out(database: Database, presented: str) -> None:
    """Ends the session the refresh token belongs to; an unknown token ends nothing."""
    found = await _find(database, presented)
    if found is None:
        return
    async with database.transaction(found.company_id) as session:
        await revoke_family(session, found.family_id)
