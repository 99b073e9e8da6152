"""Access tokens: signed with the service's current Ed25519 key, verified by others through the
JWKS, which also carries the keys of earlier rotations until their tokens have expired."""

import base64
import hashlib
import json
import time
from collections.abc import Sequence
from pathlib import Path
from uuid import UUID, uuid4

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from common.auth import ALGORITHM, OPERATOR_ROLE, Role
from tenants.settings import TenantsSettings
from tenants.tokens.schemas import JsonWebKey, JsonWebKeySet


class SigningKeyError(RuntimeError):
    """A key file is missing or does not hold an Ed25519 key of the kind needed."""


def _base64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise SigningKeyError(f"cannot read the key file {path}: {exc}") from exc


def load_signing_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(_read(path), password=None)
    except (ValueError, TypeError) as exc:
        raise SigningKeyError(f"cannot load the token signing key from {path}: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"{path} holds a {type(key).__name__}; an Ed25519 key is needed")
    return key


def load_verification_key(path: Path) -> Ed25519PublicKey:
    """The public half of an earlier signing key; the file may hold the private key (the old
    signing key file, kept as it was) or only the public one."""
    pem = _read(path)
    if b"PRIVATE KEY" in pem:
        return load_signing_key(path).public_key()
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError) as exc:
        raise SigningKeyError(f"cannot load a verification key from {path}: {exc}") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise SigningKeyError(f"{path} holds a {type(key).__name__}; an Ed25519 key is needed")
    return key


def json_web_key(public_key: Ed25519PublicKey) -> JsonWebKey:
    """The key as a JWK, its `kid` the RFC 7638 thumbprint: the SHA-256 of the key's required
    members, sorted, without whitespace; the same key always gets the same id."""
    x = _base64url(
        public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )
    canonical = json.dumps(
        {"crv": "Ed25519", "kty": "OKP", "x": x}, separators=(",", ":"), sort_keys=True
    )
    return JsonWebKey(x=x, kid=_base64url(hashlib.sha256(canonical.encode()).digest()))


class TokenIssuer:
    """Signs access tokens and says how long the tokens it hands out live."""

    def __init__(
        self,
        private_key: Ed25519PrivateKey,
        *,
        issuer: str,
        audience: str,
        ttl_seconds: int,
        refresh_ttl_seconds: int = 30 * 24 * 3600,
        verification_keys: Sequence[Ed25519PublicKey] = (),
    ) -> None:
        self._private_key = private_key
        self.issuer = issuer
        self.audience = audience
        self.ttl_seconds = ttl_seconds
        self.refresh_ttl_seconds = refresh_ttl_seconds
        current = json_web_key(private_key.public_key())
        self.kid = current.kid
        published = {current.kid: current}
        for key in verification_keys:
            earlier = json_web_key(key)
            published.setdefault(earlier.kid, earlier)
        self._jwks = JsonWebKeySet(keys=list(published.values()))

    @classmethod
    def from_settings(cls, settings: TenantsSettings) -> "TokenIssuer":
        return cls(
            load_signing_key(settings.token_signing_key_file),
            issuer=settings.token_issuer,
            audience=settings.token_audience,
            ttl_seconds=settings.access_token_ttl_seconds,
            refresh_ttl_seconds=settings.refresh_token_ttl_seconds,
            verification_keys=[
                load_verification_key(path) for path in settings.token_verification_key_files
            ],
        )

    def access_token(self, *, user_id: UUID, company_id: UUID, role: Role) -> str:
        """A signed access token for the user, valid for `ttl_seconds`."""
        issued_at = int(time.time())
        claims = {
            "sub": str(user_id),
            "company_id": str(company_id),
            "role": role.value,
            "iss": self.issuer,
            "aud": self.audience,
            "iat": issued_at,
            "exp": issued_at + self.ttl_seconds,
            "jti": uuid4().hex,
        }
        return jwt.encode(claims, self._private_key, algorithm=ALGORITHM, headers={"kid": self.kid})

    def operator_access_token(self, operator_id: UUID, *, audience: str) -> str:
        """A platform operator's token: the operators' audience and no company, so it never
        passes for a tenant's token nor the other way round."""
        issued_at = int(time.time())
        claims = {
            "sub": str(operator_id),
            "role": OPERATOR_ROLE,
            "iss": self.issuer,
            "aud": audience,
            "iat": issued_at,
            "exp": issued_at + self.ttl_seconds,
            "jti": uuid4().hex,
        }
        return jwt.encode(claims, self._private_key, algorithm=ALGORITHM, headers={"kid": self.kid})

    def jwks(self) -> JsonWebKeySet:
        """The current key first, then the earlier ones still trusted."""
        return self._jwks.model_copy(deep=True)

    def issue_for_api_key(
        self, *, key_id: UUID, company_id: UUID, scopes: Sequence[str], ttl_seconds: int
    ) -> str:
        """A token for a server-to-server client that presented an API key: `sub` is the key,
        the role the lowest, and the `scopes` claim rules instead of the role (see
        common.auth.permissions). Held by the gateway only, never handed to the client."""
        issued_at = int(time.time())
        claims = {
            "sub": str(key_id),
            "company_id": str(company_id),
            "role": Role.OPERADOR.value,
            "scopes": sorted(scopes),
            "iss": self.issuer,
            "aud": self.audience,
            "iat": issued_at,
            "exp": issued_at + ttl_seconds,
            "jti": uuid4().hex,
        }
        return jwt.encode(claims, self._private_key, algorithm=ALGORITHM, headers={"kid": self.kid})
