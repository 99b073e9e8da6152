from pydantic import AliasChoices, Field

from common.settings import ServiceSettings


class GatewaySettings(ServiceSettings):
    service_name: str = "gateway"
    http_port: int = Field(default=8000, validation_alias=AliasChoices("GATEWAY_PORT", "HTTP_PORT"))

    tenants_url: str = "http://127.0.0.1:8001"
    ingest_url: str = "http://127.0.0.1:8002"
    query_url: str = "http://127.0.0.1:8003"
    upstream_timeout_seconds: float = 10.0

    max_upload_bytes: int = Field(default=25 * 1024 * 1024, gt=0)
    answer_timeout_seconds: float = Field(default=30.0, gt=0)
