import base64
import re
from pathlib import Path
from uuid import uuid4

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.rsa import generate_private_key

from common.auth import Role, TokenVerifier
from common.problems import Problem
from tenants.tokens.service import SigningKeyError, TokenIssuer, load_signing_key

ISSUER = "test-issuer"
AUDIENCE = "test-audience"

# RFC 8037, appendix A.1 and A.3: an Ed25519 key and its RFC 7638 thumbprint.
RFC8037_D = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
RFC8037_X = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
RFC8037_THUMBPRINT = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


def make_issuer(key: Ed25519PrivateKey | None = None, ttl_seconds: int = 900) -> TokenIssuer:
    return TokenIssuer(
        key or Ed25519PrivateKey.generate(),
        issuer=ISSUER,
        audience=AUDIENCE,
        ttl_seconds=ttl_seconds,
    )


def write_pem(path: Path, key: Ed25519PrivateKey | object) -> Path:
    assert hasattr(key, "private_bytes")
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


class TestTokenIssuer:
    async def test_issues_a_token_the_common_verifier_accepts(self) -> None:
        issuer = make_issuer()
        user_id, company_id = uuid4(), uuid4()

        token = issuer.access_token(user_id=user_id, company_id=company_id, role=Role.SUPERVISOR)

        verifier = TokenVerifier(issuer=ISSUER, audience=AUDIENCE, jwks=issuer.jwks().model_dump())
        identity = await verifier.verify(token)
        assert (identity.user_id, identity.company_id) == (user_id, company_id)
        assert identity.role is Role.SUPERVISOR

    def test_signs_the_claims_and_names_the_key(self) -> None:
        issuer = make_issuer(ttl_seconds=60)
        user_id, company_id = uuid4(), uuid4()

        token = issuer.access_token(user_id=user_id, company_id=company_id, role=Role.OWNER)

        header = jwt.get_unverified_header(token)
        assert header["alg"] == "EdDSA"
        assert header["kid"] == issuer.kid
        claims = jwt.decode(token, options={"verify_signature": False})
        assert claims["sub"] == str(user_id)
        assert claims["company_id"] == str(company_id)
        assert claims["role"] == "owner"
        assert (claims["iss"], claims["aud"]) == (ISSUER, AUDIENCE)
        assert claims["exp"] - claims["iat"] == 60
        assert re.fullmatch(r"[0-9a-f]{32}", claims["jti"])

    def test_every_token_has_its_own_id(self) -> None:
        issuer = make_issuer()
        ids = {
            jwt.decode(
                issuer.access_token(user_id=uuid4(), company_id=uuid4(), role=Role.OWNER),
                options={"verify_signature": False},
            )["jti"]
            for _ in range(5)
        }

        assert len(ids) == 5

    async def test_another_keys_token_is_refused(self) -> None:
        ours, theirs = make_issuer(), make_issuer()
        token = theirs.access_token(user_id=uuid4(), company_id=uuid4(), role=Role.OWNER)

        verifier = TokenVerifier(issuer=ISSUER, audience=AUDIENCE, jwks=ours.jwks().model_dump())

        with pytest.raises(Problem) as refused:
            await verifier.verify(token)
        assert refused.value.status == 401

    def test_the_jwks_holds_the_public_key_with_its_rfc7638_thumbprint(self) -> None:
        raw = base64.urlsafe_b64decode(RFC8037_D + "=")
        issuer = make_issuer(Ed25519PrivateKey.from_private_bytes(raw))

        jwks = issuer.jwks().model_dump()

        assert jwks == {
            "keys": [
                {
                    "kty": "OKP",
                    "crv": "Ed25519",
                    "x": RFC8037_X,
                    "kid": RFC8037_THUMBPRINT,
                    "use": "sig",
                    "alg": "EdDSA",
                }
            ]
        }


class TestLoadSigningKey:
    def test_loads_an_ed25519_pem(self, tmp_path: Path) -> None:
        key = Ed25519PrivateKey.generate()

        loaded = load_signing_key(write_pem(tmp_path / "key.pem", key))

        assert loaded.public_key() == key.public_key()

    def test_a_missing_file_says_where_it_looked(self, tmp_path: Path) -> None:
        with pytest.raises(SigningKeyError, match=r"missing\.pem"):
            load_signing_key(tmp_path / "missing.pem")

    def test_a_file_that_is_not_a_key_is_refused(self, tmp_path: Path) -> None:
        path = tmp_path / "garbage.pem"
        path.write_text("not a key")

        with pytest.raises(SigningKeyError):
            load_signing_key(path)

    def test_a_key_of_another_kind_is_refused(self, tmp_path: Path) -> None:
        rsa = generate_private_key(public_exponent=65537, key_size=2048)

        with pytest.raises(SigningKeyError, match="Ed25519"):
            load_signing_key(write_pem(tmp_path / "rsa.pem", rsa))
