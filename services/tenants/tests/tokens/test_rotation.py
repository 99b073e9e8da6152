"""Rotating the signing key with no downtime: the new key signs, the old one is still published
for verification until its tokens have expired, then it is dropped and its tokens are refused."""

import asyncio
import dataclasses
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from uuid import uuid4

import pytest
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.rsa import generate_private_key
from fastapi import FastAPI

from common.auth import Role, TokenVerifier
from common.problems import Problem
from tenants.main import create_app
from tenants.settings import TenantsSettings
from tenants.state import TenantsState, attach_state
from tenants.tokens.service import (
    SigningKeyError,
    TokenIssuer,
    json_web_key,
    load_verification_key,
)


def private_pem(path: Path, key: Ed25519PrivateKey) -> Path:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


def public_pem(path: Path, key: Ed25519PrivateKey) -> Path:
    path.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return path


def issuer_for(
    settings: TenantsSettings, signing: Path, verification: list[Path] | None = None
) -> TokenIssuer:
    return TokenIssuer.from_settings(
        settings.model_copy(
            update={
                "token_signing_key_file": signing,
                "token_verification_key_files": verification or [],
            }
        )
    )


def token_of(issuer: TokenIssuer) -> str:
    return issuer.access_token(user_id=uuid4(), company_id=uuid4(), role=Role.SUPERVISOR)


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[str]:
    """The app on a real socket, so verifiers fetch the JWKS over HTTP as the gateway does."""
    # Listening before the server starts: a request made meanwhile waits in the backlog.
    listening = socket.create_server(("127.0.0.1", 0))
    port = listening.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning"))
    task = asyncio.create_task(server.serve(sockets=[listening]))
    try:
        yield f"http://127.0.0.1:{port}/internal/jwks.json"
    finally:
        server.should_exit = True
        await task
        listening.close()


class TestVerificationKeys:
    def test_the_jwks_lists_the_current_key_first_then_the_earlier_ones(
        self, settings: TenantsSettings, tmp_path: Path
    ) -> None:
        old, older, new = (Ed25519PrivateKey.generate() for _ in range(3))

        issuer = issuer_for(
            settings,
            private_pem(tmp_path / "new.pem", new),
            [private_pem(tmp_path / "old.pem", old), public_pem(tmp_path / "older.pem", older)],
        )

        kids = [key.kid for key in issuer.jwks().keys]
        assert kids == [json_web_key(k.public_key()).kid for k in (new, old, older)]
        assert issuer.kid == kids[0]

    def test_a_key_listed_twice_or_also_current_is_published_once(
        self, settings: TenantsSettings, tmp_path: Path
    ) -> None:
        key = Ed25519PrivateKey.generate()
        path = private_pem(tmp_path / "key.pem", key)

        issuer = issuer_for(settings, path, [path, public_pem(tmp_path / "pub.pem", key)])

        assert len(issuer.jwks().keys) == 1

    def test_loads_the_public_half_of_a_private_or_public_pem(self, tmp_path: Path) -> None:
        key = Ed25519PrivateKey.generate()

        for path in (private_pem(tmp_path / "a.pem", key), public_pem(tmp_path / "b.pem", key)):
            assert load_verification_key(path) == key.public_key()

    def test_a_verification_key_of_another_kind_is_refused(self, tmp_path: Path) -> None:
        rsa = generate_private_key(public_exponent=65537, key_size=2048)
        path = tmp_path / "rsa.pub"
        path.write_bytes(
            rsa.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )

        with pytest.raises(SigningKeyError, match="Ed25519"):
            load_verification_key(path)

    def test_a_missing_verification_key_stops_the_start(
        self, settings: TenantsSettings, tmp_path: Path
    ) -> None:
        signing = private_pem(tmp_path / "new.pem", Ed25519PrivateKey.generate())

        with pytest.raises(SigningKeyError, match=r"gone\.pem"):
            issuer_for(settings, signing, [tmp_path / "gone.pem"])

    def test_the_setting_reads_a_comma_separated_list(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("TOKEN_VERIFICATION_KEY_FILES", "/keys/a.pem, /keys/b.pem")

        assert TenantsSettings().token_verification_key_files == [
            Path("/keys/a.pem"),
            Path("/keys/b.pem"),
        ]

    def test_the_setting_is_empty_by_default(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv("TOKEN_VERIFICATION_KEY_FILES", raising=False)

        assert TenantsSettings().token_verification_key_files == []


class TestRotation:
    async def test_old_tokens_verify_during_the_overlap_and_are_refused_after(
        self, settings: TenantsSettings, state: TenantsState, tmp_path: Path
    ) -> None:
        old_key = private_pem(tmp_path / "old.pem", Ed25519PrivateKey.generate())
        new_key = private_pem(tmp_path / "new.pem", Ed25519PrivateKey.generate())
        app = create_app(settings)

        def run_with(issuer: TokenIssuer) -> None:
            """What a restart of tenants with these key settings amounts to."""
            attach_state(app, dataclasses.replace(state, tokens=issuer))

        def gateway_verifier(jwks_url: str) -> TokenVerifier:
            return TokenVerifier(
                issuer=settings.token_issuer,
                audience=settings.token_audience,
                jwks_url=jwks_url,
                refresh_after=0.0,
            )

        async with serving(app) as jwks_url:
            # Before: the old key signs; the gateway has fetched and cached it.
            before = issuer_for(settings, old_key)
            run_with(before)
            gateway = gateway_verifier(jwks_url)
            old_token = token_of(before)
            await gateway.verify(old_token)

            # The overlap: the new key signs, the old one still verifies.
            during = issuer_for(settings, new_key, [old_key])
            run_with(during)
            new_token = token_of(during)
            await gateway.verify(new_token)  # an unknown kid: the gateway refetches
            await gateway.verify(old_token)
            restarted = gateway_verifier(jwks_url)
            await restarted.verify(old_token)
            await restarted.verify(new_token)

            # After: the old key is dropped.
            run_with(issuer_for(settings, new_key))
            after = gateway_verifier(jwks_url)
            await after.verify(new_token)
            with pytest.raises(Problem) as refused:
                await after.verify(old_token)
            assert refused.value.status == 401
            assert "unknown key" in refused.value.detail
