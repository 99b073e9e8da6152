"""Access tokens: signed with the service's Ed25519 key, verified by others through the JWKS."""

import base64
import hashlib
import json
import time
from pathlib import Path
from uuid import UUID, uuid4

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from common.auth import ALGORITHM, Role
from common.contracts.accounts import AccessToken
from tenants.tokens.schemas import JsonWebKey, JsonWebKeySet


class SigningKeyError(RuntimeError):
    """The signing key file is missing or does not hold an Ed25519 private key."""


def _base64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def load_signing_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise SigningKeyError(f"cannot load the token signing key from {path}: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"{path} holds a {type(key).__name__}; an Ed25519 key is needed")
    return key


class TokenIssuer:
    def __init__(
        self, private_key: Ed25519PrivateKey, *, issuer: str, audience: str, ttl_seconds: int
    ) -> None:
        self._private_key = private_key
        self.issuer = issuer
        self.audience = audience
        self.ttl_seconds = ttl_seconds
        public = private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self._x = _base64url(public)
        self.kid = self._thumbprint()

    @classmethod
    def from_pem_file(
        cls, path: Path, *, issuer: str, audience: str, ttl_seconds: int
    ) -> "TokenIssuer":
        return cls(
            load_signing_key(path), issuer=issuer, audience=audience, ttl_seconds=ttl_seconds
        )

    def _thumbprint(self) -> str:
        """RFC 7638: the SHA-256 of the key's required members, sorted, without whitespace."""
        canonical = json.dumps(
            {"crv": "Ed25519", "kty": "OKP", "x": self._x}, separators=(",", ":"), sort_keys=True
        )
        return _base64url(hashlib.sha256(canonical.encode()).digest())

    def issue(self, *, user_id: UUID, company_id: UUID, role: Role) -> AccessToken:
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
        token = jwt.encode(
            claims, self._private_key, algorithm=ALGORITHM, headers={"kid": self.kid}
        )
        return AccessToken(access_token=token, expires_in=self.ttl_seconds)

    def jwks(self) -> JsonWebKeySet:
        return JsonWebKeySet(keys=[JsonWebKey(x=self._x, kid=self.kid)])
