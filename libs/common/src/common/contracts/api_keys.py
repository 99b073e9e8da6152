"""API keys for server-to-server clients: the gateway's public shapes are the tenants service's
internal ones, plus the exchange of a key for a short-lived access token (gateway → tenants)."""

import re
from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from common.auth import API_KEY_SCOPES
from common.problems import Problem

# `kp_` + the visible id + `_` + the secret (urlsafe base64 of 32 random bytes).
KEY_PREFIX = "kp_"
KEY_FORMAT = re.compile(r"kp_[0-9a-f]{8}_[A-Za-z0-9_-]{43,}")
# The visible part, kept and listed: `kp_` and the id.
VISIBLE_PREFIX_LENGTH = len(KEY_PREFIX) + 8
MAX_RATE_LIMIT_PER_MINUTE = 100_000


def invalid_api_key() -> Problem:
    """The one answer to every bad key, so that nobody learns which keys exist."""
    return Problem(
        401,
        "invalid-api-key",
        "The API key is not valid (unknown, revoked or expired, or its company is not active).",
        headers={"WWW-Authenticate": "Bearer"},
    )


def _check_scope(value: str) -> str:
    if value not in API_KEY_SCOPES:
        allowed = ", ".join(sorted(API_KEY_SCOPES))
        raise ValueError(f"{value!r} is not a scope an API key may hold ({allowed})")
    return value


def _distinct(values: list[str]) -> list[str]:
    return sorted(set(values))


Scope = Annotated[
    str,
    AfterValidator(_check_scope),
    Field(json_schema_extra={"enum": sorted(API_KEY_SCOPES)}),
]


class ApiKeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    scopes: Annotated[list[Scope], Field(min_length=1), AfterValidator(_distinct)]
    """What the key may do; never more than server-to-server work (no people, no keys)."""
    rate_limit_per_minute: Annotated[int, Field(ge=1, le=MAX_RATE_LIMIT_PER_MINUTE)] = 60
    expires_at: AwareDatetime | None = None
    """When the key stops working; must be in the future. None: until revoked."""


class ApiKeyOut(BaseModel):
    """A key as listed: never the key itself nor its hash, only the visible prefix."""

    model_config = ConfigDict(from_attributes=True)

    id: UUID
    name: str
    prefix: str
    scopes: list[str]
    rate_limit_per_minute: int
    created_by: UUID | None
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None
    created_at: datetime


class ApiKeyCreated(ApiKeyOut):
    key: str
    """Shown once: only its hash is kept. Send it as `X-API-Key: <key>` or
    `Authorization: Bearer <key>`."""


class ApiKeyPage(BaseModel):
    items: list[ApiKeyOut]
    limit: int
    offset: int
    total: int


class ApiKeyAuthRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: Annotated[str, StringConstraints(max_length=200)]


class ApiKeyAuthenticated(BaseModel):
    """A key exchanged for an access token the services accept (the key's scopes, the lowest
    role), and the limit the gateway applies to it."""

    access_token: str
    expires_in: int
    key_id: UUID
    company_id: UUID
    scopes: list[str]
    rate_limit_per_minute: int
