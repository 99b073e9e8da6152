"""API keys: created by the company's managers, shown once, exchanged by the gateway for a
short-lived access token that carries the key's scopes.

Only the SHA-256 of the whole key is stored, with a short visible prefix to tell keys apart. A
key holds 256 random bits, so a plain hash suffices (no slow hash: it is checked on every call).
"""

import hashlib
import secrets
from datetime import datetime, timedelta
from uuid import UUID, uuid4

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from common.auth import Identity, Permission, Role
from common.auth.permissions import ROLE_PERMISSIONS
from common.contracts.api_keys import (
    KEY_FORMAT,
    KEY_PREFIX,
    VISIBLE_PREFIX_LENGTH,
    ApiKeyAuthenticated,
    ApiKeyIn,
)
from common.db import Database, fetch_page
from common.problems import Problem
from tenants import scopes
from tenants.accounts.models import Company, CompanyStatus, User
from tenants.api_keys.models import ApiKey
from tenants.audit.service import record
from tenants.callers import RequestOrigin
from tenants.tokens.service import TokenIssuer

SECRET_BYTES = 32
# The gateway caches a key's token for well under this, so a request it starts with a cached
# token still has time to reach every service (see gateway.auth.api_keys).
TOKEN_TTL_SECONDS = 120
# last_used_at is a hint for the managers, not an access log: one write a minute at most.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class InvalidApiKey(Exception):
    """Unknown, malformed, revoked or expired, or its company is not active: callers cannot
    tell which."""


def new_key() -> str:
    return f"{KEY_PREFIX}{secrets.token_hex(4)}_{secrets.token_urlsafe(SECRET_BYTES)}"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def api_key_not_found(key_id: UUID) -> Problem:
    return Problem(404, "api-key-not-found", f"No API key {key_id} in your company.")


async def _database_now(session: AsyncSession) -> datetime:
    """The transaction's time, the clock that authenticate() compares expiries with."""
    now: datetime = (await session.execute(select(func.now()))).scalar_one()
    return now


def check_may_manage(caller: User) -> None:
    """The caller's role as the database knows it now: a token issued before a demotion still
    carries the old role for its few minutes of life."""
    if Permission.API_KEYS_MANAGE not in ROLE_PERMISSIONS[Role(caller.role)]:
        raise Problem(403, "forbidden", "Only the owner and administradores manage API keys.")


async def create(
    session: AsyncSession,
    caller: User,
    request: ApiKeyIn,
    *,
    identity: Identity,
    origin: RequestOrigin,
) -> tuple[ApiKey, str]:
    """A new key and the key itself, which is never stored and cannot be shown again."""
    check_may_manage(caller)
    now = await _database_now(session)
    if request.expires_at is not None and request.expires_at <= now:
        raise Problem(422, "invalid-expiry", "expires_at must be in the future.")
    key = new_key()
    api_key = ApiKey(
        id=uuid4(),
        company_id=caller.company_id,
        name=request.name,
        prefix=key[:VISIBLE_PREFIX_LENGTH],
        key_hash=hash_key(key),
        scopes=request.scopes,
        rate_limit_per_minute=request.rate_limit_per_minute,
        created_by=caller.id,
        expires_at=request.expires_at,
    )
    session.add(api_key)
    await session.flush()
    await record(
        session,
        caller.company_id,
        action="api_key.created",
        resource_type="api_key",
        resource_id=api_key.id,
        actor=identity,
        origin=origin,
        new={
            "name": api_key.name,
            "prefix": api_key.prefix,
            "scopes": api_key.scopes,
            "rate_limit_per_minute": api_key.rate_limit_per_minute,
            "expires_at": api_key.expires_at.isoformat() if api_key.expires_at else None,
        },
    )
    return api_key, key


async def list_keys(
    session: AsyncSession, company_id: UUID, *, limit: int, offset: int
) -> tuple[list[ApiKey], int]:
    query = select(ApiKey).where(ApiKey.company_id == company_id)
    return await fetch_page(
        session, query, ApiKey.created_at.desc(), ApiKey.id, limit=limit, offset=offset
    )


async def revoke(
    session: AsyncSession,
    caller: User,
    key_id: UUID,
    *,
    identity: Identity,
    origin: RequestOrigin,
) -> ApiKey:
    """Revokes the key for good. Revoking a revoked key changes nothing and records nothing."""
    check_may_manage(caller)
    api_key = await session.get(ApiKey, key_id, with_for_update=True)
    if api_key is None or api_key.company_id != caller.company_id:
        raise api_key_not_found(key_id)
    if api_key.revoked_at is not None:
        return api_key
    revoked_at = await _database_now(session)
    api_key.revoked_at = revoked_at
    await session.flush()
    await record(
        session,
        caller.company_id,
        action="api_key.revoked",
        resource_type="api_key",
        resource_id=api_key.id,
        actor=identity,
        origin=origin,
        old={"revoked_at": None},
        new={"revoked_at": revoked_at.isoformat()},
    )
    return api_key


async def authenticate(database: Database, issuer: TokenIssuer, key: str) -> ApiKeyAuthenticated:
    """Exchanges a key for an access token with its scopes, valid for TOKEN_TTL_SECONDS or until
    the key expires, whichever comes first."""
    if not KEY_FORMAT.fullmatch(key):
        raise InvalidApiKey
    async with database.transaction(scope=scopes.API_KEY_AUTH) as session:
        found = (
            await session.execute(
                select(ApiKey, func.now()).where(ApiKey.key_hash == hash_key(key))
            )
        ).one_or_none()
    if found is None:
        raise InvalidApiKey
    api_key, now = found
    if api_key.revoked_at is not None or (
        api_key.expires_at is not None and api_key.expires_at <= now
    ):
        raise InvalidApiKey

    async with database.transaction(api_key.company_id) as session:
        status = await session.scalar(
            select(Company.status).where(Company.id == api_key.company_id)
        )
        if status != CompanyStatus.ACTIVE:
            raise InvalidApiKey
        await session.execute(
            update(ApiKey)
            .where(
                ApiKey.id == api_key.id,
                or_(
                    ApiKey.last_used_at.is_(None),
                    ApiKey.last_used_at < func.now() - LAST_USED_RESOLUTION,
                ),
            )
            .values(last_used_at=func.now())
            .execution_options(synchronize_session=False)
        )

    ttl = TOKEN_TTL_SECONDS
    if api_key.expires_at is not None:
        ttl = min(ttl, int((api_key.expires_at - now).total_seconds()))
    if ttl < 1:
        raise InvalidApiKey
    return ApiKeyAuthenticated(
        access_token=issuer.issue_for_api_key(
            key_id=api_key.id,
            company_id=api_key.company_id,
            scopes=api_key.scopes,
            ttl_seconds=ttl,
        ),
        expires_in=ttl,
        key_id=api_key.id,
        company_id=api_key.company_id,
        scopes=sorted(api_key.scopes),
        rate_limit_per_minute=api_key.rate_limit_per_minute,
    )
