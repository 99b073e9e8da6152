import asyncio
import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Annotated, Any
from uuid import UUID, uuid4

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fastapi import Depends, FastAPI
from jwt.algorithms import OKPAlgorithm

from common.auth import Identity, Role, TokenVerifier, bearer_identity, role_rank
from common.problems import PROBLEM_JSON, Problem, install_problem_handlers
from devstack.broker import free_port

ISSUER = "knowledge-platform"
AUDIENCE = "knowledge-platform-api"
KID = "signing-key-1"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwks_of(key: Ed25519PrivateKey, kid: str = KID) -> dict[str, Any]:
    jwk: dict[str, Any] = json.loads(OKPAlgorithm.to_jwk(key.public_key()))
    jwk.update(kid=kid, alg="EdDSA", use="sig")
    return {"keys": [jwk]}


def claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    values: dict[str, Any] = {
        "sub": str(uuid4()),
        "company_id": str(uuid4()),
        "role": "supervisor",
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 600,
        "jti": str(uuid4()),
    }
    values.update(changes)
    return {k: v for k, v in values.items() if v is not None}


def sign(key: Ed25519PrivateKey, payload: dict[str, Any], kid: str = KID) -> str:
    return jwt.encode(payload, key, algorithm="EdDSA", headers={"kid": kid})


def hand_made(header: dict[str, Any], payload: dict[str, Any], signer: bytes | None) -> str:
    """A token PyJWT would not sign for us: alg none, or HMAC keyed with the public key."""
    signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(payload).encode())
    if signer is None:
        return signing_input + "."
    signature = hmac.new(signer, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64url(signature)


@pytest.fixture(scope="module")
def signing_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture(scope="module")
def verifier(signing_key: Ed25519PrivateKey) -> TokenVerifier:
    return TokenVerifier(issuer=ISSUER, audience=AUDIENCE, jwks=jwks_of(signing_key))


async def assert_refused(verifier: TokenVerifier, token: str) -> Problem:
    with pytest.raises(Problem) as refused:
        await verifier.verify(token)
    assert refused.value.status == 401
    assert refused.value.headers["WWW-Authenticate"] == "Bearer"
    return refused.value


class TestVerify:
    async def test_accepts_a_good_token(
        self, verifier: TokenVerifier, signing_key: Ed25519PrivateKey
    ) -> None:
        payload = claims(role="administrador")
        token = sign(signing_key, payload)

        identity = await verifier.verify(token)

        assert identity == Identity(
            user_id=UUID(payload["sub"]),
            company_id=UUID(payload["company_id"]),
            role=Role.ADMINISTRADOR,
            token=token,
        )

    async def test_refuses_an_expired_token(
        self, verifier: TokenVerifier, signing_key: Ed25519PrivateKey
    ) -> None:
        now = int(time.time())
        token = sign(signing_key, claims(iat=now - 3600, exp=now - 1800))

        problem = await assert_refused(verifier, token)
        assert "expired" in problem.detail

    @pytest.mark.parametrize(
        "changes",
        [
            pytest.param({"aud": "another-api"}, id="wrong-audience"),
            pytest.param({"iss": "someone-else"}, id="wrong-issuer"),
            pytest.param({"jti": None}, id="missing-jti"),
            pytest.param({"company_id": None}, id="missing-company-id"),
            pytest.param({"role": None}, id="missing-role"),
            pytest.param({"exp": None}, id="missing-exp"),
            pytest.param({"role": "emperor"}, id="unknown-role"),
            pytest.param({"company_id": "acme"}, id="company-id-not-a-uuid"),
        ],
    )
    async def test_refuses_wrong_or_missing_claims(
        self, verifier: TokenVerifier, signing_key: Ed25519PrivateKey, changes: dict[str, Any]
    ) -> None:
        good = sign(signing_key, claims())
        await verifier.verify(good)

        await assert_refused(verifier, sign(signing_key, claims(**changes)))

    async def test_refuses_an_unknown_kid(
        self, verifier: TokenVerifier, signing_key: Ed25519PrivateKey
    ) -> None:
        problem = await assert_refused(verifier, sign(signing_key, claims(), kid="rotated-out"))
        assert "unknown key" in problem.detail

    async def test_refuses_alg_none(self, verifier: TokenVerifier) -> None:
        token = hand_made({"alg": "none", "typ": "JWT", "kid": KID}, claims(), signer=None)

        await assert_refused(verifier, token)

    async def test_refuses_hs256_keyed_with_the_public_key(
        self, verifier: TokenVerifier, signing_key: Ed25519PrivateKey
    ) -> None:
        public = signing_key.public_key()
        for secret in (
            public.public_bytes(Encoding.Raw, PublicFormat.Raw),
            public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo),
            json.dumps(jwks_of(signing_key)["keys"][0]).encode(),
        ):
            token = hand_made({"alg": "HS256", "typ": "JWT", "kid": KID}, claims(), secret)
            await assert_refused(verifier, token)

    async def test_refuses_another_key_under_the_same_kid(self, verifier: TokenVerifier) -> None:
        impostor = Ed25519PrivateKey.generate()

        await assert_refused(verifier, sign(impostor, claims()))

    async def test_refuses_a_tampered_payload(
        self, verifier: TokenVerifier, signing_key: Ed25519PrivateKey
    ) -> None:
        header, _, signature = sign(signing_key, claims(role="operador")).split(".")
        forged_payload = b64url(json.dumps(claims(role="owner")).encode())

        await assert_refused(verifier, f"{header}.{forged_payload}.{signature}")

    @pytest.mark.parametrize(
        "token", ["", "garbage", "a.b.c", "eyJhbGciOiJFZERTQSJ9.e30.AAAA", "....."]
    )
    async def test_refuses_garbage(self, verifier: TokenVerifier, token: str) -> None:
        await assert_refused(verifier, token)

    async def test_refuses_a_token_without_kid(
        self, verifier: TokenVerifier, signing_key: Ed25519PrivateKey
    ) -> None:
        token = jwt.encode(claims(), signing_key, algorithm="EdDSA")

        await assert_refused(verifier, token)


class TestBearerIdentity:
    @pytest.fixture
    async def client(self, verifier: TokenVerifier) -> AsyncIterator[httpx.AsyncClient]:
        app = FastAPI()
        install_problem_handlers(app)
        app.state.verifier = verifier
        current_identity = bearer_identity(lambda request: request.app.state.verifier)

        @app.get("/me")
        async def me(identity: Annotated[Identity, Depends(current_identity)]) -> dict[str, str]:
            return {"user_id": str(identity.user_id), "role": identity.role.value}

        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client

    @staticmethod
    def assert_unauthorized(response: httpx.Response) -> None:
        assert response.status_code == 401
        assert response.headers["content-type"].startswith(PROBLEM_JSON)
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json()["status"] == 401

    async def test_a_good_token_gives_the_identity(
        self, client: httpx.AsyncClient, signing_key: Ed25519PrivateKey
    ) -> None:
        payload = claims(role="owner")
        response = await client.get(
            "/me", headers={"Authorization": f"Bearer {sign(signing_key, payload)}"}
        )

        assert response.status_code == 200
        assert response.json() == {"user_id": payload["sub"], "role": "owner"}

    async def test_no_header_is_401(self, client: httpx.AsyncClient) -> None:
        self.assert_unauthorized(await client.get("/me"))

    @pytest.mark.parametrize("header", ["Basic x", "Bearer", "Bearer    ", "Token abc"])
    async def test_another_scheme_or_no_token_is_401(
        self, client: httpx.AsyncClient, header: str
    ) -> None:
        self.assert_unauthorized(await client.get("/me", headers={"Authorization": header}))

    async def test_a_bad_token_is_401(self, client: httpx.AsyncClient) -> None:
        self.assert_unauthorized(
            await client.get("/me", headers={"Authorization": "Bearer not-a-token"})
        )


class JwksServer:
    """A real HTTP endpoint serving a JWKS the test can change, like the tenants service's."""

    def __init__(self, jwks: dict[str, Any]) -> None:
        self.jwks = jwks
        self.fetches = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.fetches += 1
                body = json.dumps(server.jwks).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/internal/jwks.json"


@pytest.fixture
def jwks_server(signing_key: Ed25519PrivateKey) -> Iterator[JwksServer]:
    server = JwksServer(jwks_of(signing_key))
    server.thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


class TestJwksUrl:
    async def test_keys_are_fetched_and_a_rotated_in_key_is_picked_up(
        self, jwks_server: JwksServer, signing_key: Ed25519PrivateKey
    ) -> None:
        verifier = TokenVerifier(
            issuer=ISSUER, audience=AUDIENCE, jwks_url=jwks_server.url, refresh_after=0.0
        )
        await verifier.verify(sign(signing_key, claims()))
        rotated = Ed25519PrivateKey.generate()
        await assert_refused(verifier, sign(rotated, claims(), kid="signing-key-2"))

        jwks_server.jwks = {
            "keys": jwks_of(signing_key)["keys"] + jwks_of(rotated, "signing-key-2")["keys"]
        }

        identity = await verifier.verify(
            sign(rotated, claims(role="operador"), kid="signing-key-2")
        )
        assert identity.role is Role.OPERADOR
        await verifier.verify(sign(signing_key, claims()))

    async def test_unknown_kids_do_not_refetch_within_refresh_after(
        self, jwks_server: JwksServer, signing_key: Ed25519PrivateKey
    ) -> None:
        verifier = TokenVerifier(
            issuer=ISSUER, audience=AUDIENCE, jwks_url=jwks_server.url, refresh_after=3600.0
        )
        await verifier.verify(sign(signing_key, claims()))
        fetches = jwks_server.fetches

        for n in range(5):
            await assert_refused(verifier, sign(signing_key, claims(), kid=f"made-up-{n}"))

        assert jwks_server.fetches == fetches == 1

    async def test_a_key_dropped_from_the_set_stops_verifying_once_the_set_is_stale(
        self, jwks_server: JwksServer, signing_key: Ed25519PrivateKey
    ) -> None:
        verifier = TokenVerifier(
            issuer=ISSUER, audience=AUDIENCE, jwks_url=jwks_server.url, max_age=0.2
        )
        token = sign(signing_key, claims())
        await verifier.verify(token)
        jwks_server.jwks = jwks_of(Ed25519PrivateKey.generate(), "signing-key-2")

        await verifier.verify(token)  # the cached set is still fresh
        await asyncio.sleep(0.3)

        await assert_refused(verifier, token)

    async def test_a_stale_set_that_cannot_be_refetched_stays_in_use(
        self, jwks_server: JwksServer, signing_key: Ed25519PrivateKey
    ) -> None:
        verifier = TokenVerifier(
            issuer=ISSUER, audience=AUDIENCE, jwks_url=jwks_server.url, max_age=0.0
        )
        token = sign(signing_key, claims())
        await verifier.verify(token)
        jwks_server.httpd.shutdown()
        jwks_server.httpd.server_close()

        await verifier.verify(token)

    async def test_an_unreachable_jwks_is_503_not_401(self, signing_key: Ed25519PrivateKey) -> None:
        verifier = TokenVerifier(
            issuer=ISSUER, audience=AUDIENCE, jwks_url=f"http://127.0.0.1:{free_port()}/jwks.json"
        )

        with pytest.raises(Problem) as unavailable:
            await verifier.verify(sign(signing_key, claims()))

        assert unavailable.value.status == 503


@pytest.mark.parametrize(
    ("role", "required", "allowed"),
    [
        (Role.OWNER, Role.OPERADOR, True),
        (Role.OWNER, Role.OWNER, True),
        (Role.ADMINISTRADOR, Role.SUPERVISOR, True),
        (Role.ADMINISTRADOR, Role.OWNER, False),
        (Role.SUPERVISOR, Role.ADMINISTRADOR, False),
        (Role.SUPERVISOR, Role.SUPERVISOR, True),
        (Role.OPERADOR, Role.SUPERVISOR, False),
        (Role.OPERADOR, Role.OPERADOR, True),
    ],
)
def test_role_rank_follows_the_hierarchy(role: Role, required: Role, allowed: bool) -> None:
    assert (role_rank(role) >= role_rank(required)) is allowed
