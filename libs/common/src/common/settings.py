"""The settings every service shares; each service extends `ServiceSettings` with its own."""

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """Read from the environment once at start-up; defaults run the local stack."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    service_name: str = "service"
    log_level: str = "INFO"
    http_host: str = "127.0.0.1"
    http_port: int = 8000

    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    # The local broker (tansu) rejects idempotent producers; real Kafka wants them on.
    kafka_enable_idempotence: bool = False
    kafka_topic_partitions: int = 3
    kafka_replication_factor: int = 1

    # The service's own role: no table ownership, no BYPASSRLS.
    database_url: str = "postgresql+asyncpg://app@127.0.0.1:5432/knowledge"
    # The schema owner's role, used only by `migrate`.
    migration_database_url: str = "postgresql+asyncpg://owner@127.0.0.1:5432/knowledge"
    database_pool_size: int = 5

    token_issuer: str = "knowledge-platform"
    token_audience: str = "knowledge-platform-api"
    # Platform operators' tokens: another audience, so neither kind passes for the other.
    operator_token_audience: str = "knowledge-platform-operators"
    # Where the tenants service publishes its signing keys.
    jwks_url: str = "http://127.0.0.1:8001/internal/jwks.json"

    blob_root: Path = Field(default=Path(".dev/blobs"))
    embedding_model: str = ""
    """Name or path of a sentence-transformers model; empty means the packaged all-MiniLM-L6-v2."""
