"""Access tokens signed in a test, with a key whose JWKS the service under test is given: for
testing a service's internal routes without the tenants service."""

import json
import time
from typing import Any
from uuid import UUID, uuid4

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm

from common.auth import TokenVerifier
from common.settings import ServiceSettings


class TestSigner:
    __test__ = False  # not a test class, whatever pytest thinks of the name

    def __init__(self, kid: str = "test-signing-key") -> None:
        self.kid = kid
        self._key = Ed25519PrivateKey.generate()

    def verifier(self, settings: ServiceSettings) -> TokenVerifier:
        jwk: dict[str, Any] = json.loads(OKPAlgorithm.to_jwk(self._key.public_key()))
        return TokenVerifier(
            issuer=settings.token_issuer,
            audience=settings.token_audience,
            jwks={"keys": [jwk | {"kid": self.kid, "alg": "EdDSA", "use": "sig"}]},
        )

    def headers(
        self,
        settings: ServiceSettings,
        *,
        company_id: UUID | None = None,
        user_id: UUID | None = None,
        role: str = "operador",
        scopes: list[str] | None = None,
    ) -> dict[str, str]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "sub": str(user_id or uuid4()),
            "company_id": str(company_id or uuid4()),
            "role": role,
            "iss": settings.token_issuer,
            "aud": settings.token_audience,
            "iat": now,
            "exp": now + 300,
            "jti": uuid4().hex,
        }
        if scopes is not None:
            claims["scopes"] = scopes
        token = jwt.encode(claims, self._key, algorithm="EdDSA", headers={"kid": self.kid})
        return {"Authorization": f"Bearer {token}"}


# One signer for a whole test run: a suite's app fixture trusts it, its tests sign with it.
TEST_SIGNER = TestSigner()
