"""The tenants service's settings: the common ones plus the token signing key and lifetime."""

from pathlib import Path

from common.settings import ServiceSettings
from tenants.plans import Plan


class TenantsSettings(ServiceSettings):
    service_name: str = "tenants"
    http_port: int = 8001

    database_url: str = "postgresql+asyncpg://tenants_app@127.0.0.1:5432/knowledge"
    migration_database_url: str = "postgresql+asyncpg://tenants_owner@127.0.0.1:5432/knowledge"

    # An Ed25519 private key in PEM (PKCS#8); production mounts it from a secret.
    token_signing_key_file: Path = Path(".dev/keys/token-signing.pem")
    access_token_ttl_seconds: int = 900

    # The plan a self-service sign-up starts on. Not the seed's free plan: it allows no
    # documents at all (0 characters, 0 MB), and a knowledge platform without documents
    # cannot be tried. Operators move companies between plans.
    signup_plan: Plan = Plan.STARTER
