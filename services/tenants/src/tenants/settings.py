"""The tenants service's settings: the common ones plus the token signing key and lifetime."""

from pathlib import Path

from common.settings import ServiceSettings


class TenantsSettings(ServiceSettings):
    service_name: str = "tenants"
    http_port: int = 8001

    database_url: str = "postgresql+asyncpg://tenants_app@127.0.0.1:5432/knowledge"
    migration_database_url: str = "postgresql+asyncpg://tenants_owner@127.0.0.1:5432/knowledge"

    # An Ed25519 private key in PEM (PKCS#8); production mounts it from a secret.
    token_signing_key_file: Path = Path(".dev/keys/token-signing.pem")
    access_token_ttl_seconds: int = 900
