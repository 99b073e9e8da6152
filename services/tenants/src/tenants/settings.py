"""The tenants service's settings: the common ones plus token keys and lifetimes, and sign-in
protection."""

from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import NoDecode

from common.settings import ServiceSettings
from tenants.plans import Plan


class TenantsSettings(ServiceSettings):
    service_name: str = "tenants"
    http_port: int = 8001

    database_url: str = "postgresql+asyncpg://tenants_app@127.0.0.1:5432/knowledge"
    migration_database_url: str = "postgresql+asyncpg://tenants_owner@127.0.0.1:5432/knowledge"

    # An Ed25519 private key in PEM (PKCS#8); production mounts it from a secret.
    token_signing_key_file: Path = Path(".dev/keys/token-signing.pem")
    # Earlier signing keys (PEM, private or public), still published in the JWKS so tokens
    # they signed verify until they expire: the overlap of a key rotation. Comma-separated.
    token_verification_key_files: Annotated[list[Path], NoDecode] = []
    access_token_ttl_seconds: int = Field(default=900, gt=0)
    refresh_token_ttl_seconds: int = Field(default=30 * 24 * 3600, gt=0)

    # Consecutive wrong passwords that lock an account, and for how long.
    login_max_failed_attempts: int = Field(default=5, ge=1)
    login_lockout_seconds: int = Field(default=900, gt=0)

    # The plan a self-service sign-up starts on. Not the seed's free plan: it allows no
    # documents at all (0 characters, 0 MB), and a knowledge platform without documents
    # cannot be tried. Operators move companies between plans.
    signup_plan: Plan = Plan.STARTER

    @field_validator("token_verification_key_files", mode="before")
    @classmethod
    def _split_paths(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value
