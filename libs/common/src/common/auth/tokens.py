import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any
from uuid import UUID

import httpx
import jwt
from fastapi import Depends, Request

from common.problems import Problem

logger = logging.getLogger(__name__)

# Pinned: a token signed with anything else (HS256 with the public key, "none") is refused.
ALGORITHM = "EdDSA"
REQUIRED_CLAIMS = ["sub", "company_id", "role", "iss", "aud", "exp", "iat", "jti"]
# Platform operators' tokens have their own audience and no company.
OPERATOR_ROLE = "platform_operator"
OPERATOR_REQUIRED_CLAIMS = ["sub", "role", "iss", "aud", "exp", "iat", "jti"]


class Role(StrEnum):
    """The seed's hierarchy, strongest first."""

    OWNER = "owner"
    ADMINISTRADOR = "administrador"
    SUPERVISOR = "supervisor"
    OPERADOR = "operador"


@dataclass(frozen=True)
class Identity:
    """Who is calling. For an API key, `user_id` is the key's id and `scopes` is what the key
    may do (see common.auth.permissions); for a person, `scopes` is None and the role rules."""

    user_id: UUID
    company_id: UUID
    role: Role
    token: str
    scopes: frozenset[str] | None = None

    @property
    def is_api_key(self) -> bool:
        return self.scopes is not None


@dataclass(frozen=True)
class OperatorIdentity:
    """A platform operator (the SaaS operator's staff), outside every company."""

    operator_id: UUID
    token: str


def _unauthorized(detail: str) -> Problem:
    return Problem(401, "unauthorized", detail, headers={"WWW-Authenticate": "Bearer"})


class TokenVerifier:
    """Verifies access tokens with the keys the tenants service publishes as JWKS.

    Keys are cached; an unknown `kid` refetches the set (at most every `refresh_after`
    seconds), which is how a rotated-in key is picked up without a restart. The set is also
    refetched once it is `max_age` seconds old, so a key dropped from it (retired, or leaked)
    stops verifying within that time; if the refetch fails, the cached keys stay in use.
    """

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        jwks_url: str | None = None,
        jwks: dict[str, Any] | None = None,
        refresh_after: float = 30.0,
        max_age: float = 300.0,
    ) -> None:
        self.issuer = issuer
        self.audience = audience
        self.jwks_url = jwks_url
        self.refresh_after = refresh_after
        self.max_age = max_age
        self._keys: dict[str, Any] = {}
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()
        if jwks is not None:
            self._load(jwks)

    def _load(self, jwks: dict[str, Any]) -> None:
        self._keys = {
            key["kid"]: jwt.PyJWK.from_dict(key, algorithm=ALGORITHM).key
            for key in jwks.get("keys", [])
            if key.get("kid")
        }

    async def _refresh(self) -> None:
        if not self.jwks_url:
            return
        async with self._lock:
            fresh_for = min(self.refresh_after, self.max_age)
            if time.monotonic() - self._fetched_at < fresh_for and self._keys:
                return
            async with httpx.AsyncClient(timeout=5.0) as client:
                response = await client.get(self.jwks_url)
                response.raise_for_status()
                self._load(response.json())
            self._fetched_at = time.monotonic()

    async def _key_for(self, kid: str) -> Any:
        if self._keys and self.jwks_url and time.monotonic() - self._fetched_at > self.max_age:
            try:
                await self._refresh()
            except httpx.HTTPError as exc:
                logger.warning("could not refetch stale JWKS", extra={"error": str(exc)})
        if kid not in self._keys:
            try:
                await self._refresh()
            except httpx.HTTPError as exc:
                logger.warning("could not fetch JWKS", extra={"error": str(exc)})
                raise Problem(
                    503, "auth-unavailable", "Token keys are unavailable; try again shortly."
                ) from exc
        key = self._keys.get(kid)
        if key is None:
            raise _unauthorized("The token was signed with an unknown key.")
        return key

    async def _claims(self, token: str, required: list[str]) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise _unauthorized("The token is malformed.") from exc
        if header.get("alg") != ALGORITHM or not isinstance(header.get("kid"), str):
            raise _unauthorized("The token's algorithm or key id is not accepted.")
        key = await self._key_for(header["kid"])
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                options={"require": required},
            )
        except jwt.ExpiredSignatureError as exc:
            raise _unauthorized("The token has expired.") from exc
        except jwt.PyJWTError as exc:
            raise _unauthorized(f"The token is not valid: {exc}") from exc
        return claims

    async def verify_operator(self, token: str) -> OperatorIdentity:
        """A platform operator's token (this verifier's audience must be the operators')."""
        claims = await self._claims(token, OPERATOR_REQUIRED_CLAIMS)
        try:
            if claims["role"] != OPERATOR_ROLE:
                raise ValueError("not a platform operator's token")
            return OperatorIdentity(operator_id=UUID(claims["sub"]), token=token)
        except ValueError as exc:
            raise _unauthorized(f"The token is not valid: {exc}") from exc

    async def verify(self, token: str) -> Identity:
        claims = await self._claims(token, REQUIRED_CLAIMS)
        try:
            scopes = claims.get("scopes")
            if scopes is not None and not (
                isinstance(scopes, list) and all(isinstance(scope, str) for scope in scopes)
            ):
                raise ValueError("scopes must be a list of strings")
            return Identity(
                user_id=UUID(claims["sub"]),
                company_id=UUID(claims["company_id"]),
                role=Role(claims["role"]),
                token=token,
                scopes=frozenset(scopes) if scopes is not None else None,
            )
        except ValueError as exc:
            raise _unauthorized(f"The token is not valid: {exc}") from exc


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        raise _unauthorized("This route needs an Authorization: Bearer <token> header.")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("The Authorization header must be 'Bearer <token>'.")
    return token.strip()


def bearer_identity(
    verifier: Callable[[Request], TokenVerifier],
) -> Callable[..., Awaitable[Identity]]:
    """A FastAPI dependency: the caller's verified identity, or 401 problem+json."""

    async def dependency(
        request: Request, token: Annotated[str, Depends(bearer_token)]
    ) -> Identity:
        return await verifier(request).verify(token)

    return dependency


_RANK = {Role.OWNER: 4, Role.ADMINISTRADOR: 3, Role.SUPERVISOR: 2, Role.OPERADOR: 1}


def role_rank(role: Role | str) -> int:
    """Higher is stronger: owner 4 ... operador 1."""
    return _RANK[Role(role)]
