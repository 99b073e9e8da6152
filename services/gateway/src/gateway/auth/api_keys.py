"""API keys at the gateway: a key is exchanged at the tenants service for a short-lived access
token with the key's scopes, which the gateway keeps for a little while and forwards to the
services in place of a user's token; and each key's requests are held to its rate limit.

Both the cache and the limiter live in this process: with several gateway replicas, each allows
a key its full rate, and a revoked key is refused by a replica once its cached entry is gone
(CACHE_SECONDS at most; at once by the replica that revoked it).
"""

import hashlib
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from uuid import UUID

from fastapi import Request

from common.auth import Identity, TokenVerifier
from common.contracts.api_keys import (
    KEY_FORMAT,
    KEY_PREFIX,
    ApiKeyAuthenticated,
    invalid_api_key,
)
from common.problems import Problem
from gateway.upstream import Upstream

API_KEY_HEADER = "x-api-key"
# How long a key's token is reused before the key is checked again: the bound on how late a
# revocation, an expiry or a suspension takes effect.
CACHE_SECONDS = 30.0
# A cached token keeps at least this much life, so a request started with it (an upload, a
# question waiting for its answer) still reaches every service before it expires.
TOKEN_MARGIN_SECONDS = 60.0
MAX_CACHED_KEYS = 10_000

Clock = Callable[[], float]


def presented_api_key(request: Request) -> str | None:
    """The key from `X-API-Key`, or from `Authorization: Bearer kp_...`; None for a user's
    token. Both headers at once are refused: which one speaks for the caller is unclear. A
    malformed key is refused here, without asking tenants."""
    header_key = request.headers.get(API_KEY_HEADER)
    scheme, _, bearer = request.headers.get("authorization", "").partition(" ")
    bearer_key = bearer.strip() if scheme.lower() == "bearer" else ""
    if header_key is not None and request.headers.get("authorization"):
        raise Problem(
            400,
            "ambiguous-credentials",
            "Send either an X-API-Key header or an Authorization header, not both.",
        )
    if header_key is not None:
        key = header_key.strip()
    elif bearer_key.startswith(KEY_PREFIX):
        key = bearer_key
    else:
        return None
    if not KEY_FORMAT.fullmatch(key):
        raise invalid_api_key()
    return key


@dataclass(frozen=True)
class _CachedKey:
    identity: Identity
    rate_limit_per_minute: int
    fresh_until: float


class RateLimiter:
    """A token bucket per key: `per_minute` requests may come at once, then one every
    60/`per_minute` seconds."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        # key id -> (tokens left, when they were counted)
        self._buckets: dict[UUID, tuple[float, float]] = {}

    def take(self, key_id: UUID, per_minute: int) -> float | None:
        """Takes one request from the key's bucket; None if allowed, else the seconds until
        the next one would be."""
        now = self._clock()
        rate = per_minute / 60.0
        tokens, counted_at = self._buckets.get(key_id, (float(per_minute), now))
        tokens = min(float(per_minute), tokens + (now - counted_at) * rate)
        if tokens >= 1.0:
            self._buckets[key_id] = (tokens - 1.0, now)
            return None
        self._buckets[key_id] = (tokens, now)
        return (1.0 - tokens) / rate

    def keep_only(self, key_ids: Collection[UUID]) -> None:
        """Forgets the other keys' buckets, so memory follows the keys in use."""
        for key_id in [k for k in self._buckets if k not in key_ids]:
            del self._buckets[key_id]


class ApiKeys:
    """Resolves a presented key to the identity its token gives, and applies its rate limit."""

    def __init__(
        self,
        tenants: Upstream,
        verifier: TokenVerifier,
        *,
        clock: Clock = time.monotonic,
        cache_seconds: float = CACHE_SECONDS,
        max_cached_keys: int = MAX_CACHED_KEYS,
    ) -> None:
        self._tenants = tenants
        self._verifier = verifier
        self._clock = clock
        self._cache_seconds = cache_seconds
        self._max_cached_keys = max_cached_keys
        # SHA-256 of the key -> what it resolved to; the key itself is not kept.
        self._cache: OrderedDict[str, _CachedKey] = OrderedDict()
        self.limiter = RateLimiter(clock)

    async def identity(self, key: str, origin: Mapping[str, str] | None = None) -> Identity:
        """The key's identity (401 problem `invalid-api-key` from tenants for a bad key), once
        the request is within the key's rate limit (429 problem `rate-limited` otherwise)."""
        entry = await self._resolve(key, origin)
        retry_after = self.limiter.take(entry.identity.user_id, entry.rate_limit_per_minute)
        if retry_after is not None:
            seconds = max(1, math.ceil(retry_after))
            raise Problem(
                429,
                "rate-limited",
                f"This API key may make {entry.rate_limit_per_minute} requests a minute;"
                f" try again in {seconds} s.",
                headers={"Retry-After": str(seconds)},
                limit_per_minute=entry.rate_limit_per_minute,
            )
        return entry.identity

    def forget(self, key_id: UUID) -> None:
        """Drops a revoked key at once (this replica only; others within CACHE_SECONDS)."""
        for digest in [d for d, e in self._cache.items() if e.identity.user_id == key_id]:
            del self._cache[digest]

    async def _resolve(self, key: str, origin: Mapping[str, str] | None) -> _CachedKey:
        digest = hashlib.sha256(key.encode()).hexdigest()
        now = self._clock()
        cached = self._cache.get(digest)
        if cached is not None and cached.fresh_until > now:
            self._cache.move_to_end(digest)
            return cached
        body = await self._tenants.call(
            "POST", "/internal/api-keys/authenticate", json={"key": key}, origin=origin
        )
        answer = ApiKeyAuthenticated.model_validate(body)
        identity = await self._verifier.verify(answer.access_token)
        entry = _CachedKey(
            identity=identity,
            rate_limit_per_minute=answer.rate_limit_per_minute,
            fresh_until=now + min(self._cache_seconds, answer.expires_in - TOKEN_MARGIN_SECONDS),
        )
        if entry.fresh_until > now:
            self._remember(digest, entry)
        else:
            self._cache.pop(digest, None)
        return entry

    def _remember(self, digest: str, entry: _CachedKey) -> None:
        self._cache[digest] = entry
        self._cache.move_to_end(digest)
        if len(self._cache) > self._max_cached_keys:
            self._cache.popitem(last=False)
            self.limiter.keep_only({e.identity.user_id for e in self._cache.values()})
