"""The gateway's own guards, which answer before any upstream is involved."""

from collections.abc import AsyncIterator

import httpx
import pytest

from gateway.main import create_app
from gateway.settings import GatewaySettings


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(GatewaySettings(max_upload_bytes=1000))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        yield client


@pytest.mark.parametrize(
    "path", ["/v1/documents", "/v1/documents/0b8a3f5e-3c56-4a8e-9d8e-2f1f3f4b5c6d/versions"]
)
async def test_an_oversized_upload_is_refused_before_it_is_read(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.post(
        path,
        headers={"Authorization": "Bearer whatever"},
        files={"file": ("big.txt", b"x" * 200_000, "text/plain")},
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith("/file-too-large")


@pytest.mark.parametrize(
    ("headers", "detail"),
    [
        ({}, "needs an Authorization"),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, "must be 'Bearer"),
        ({"Authorization": "Bearer "}, "must be 'Bearer"),
    ],
)
async def test_routes_need_a_bearer_token(
    client: httpx.AsyncClient, headers: dict[str, str], detail: str
) -> None:
    for method, path in [("GET", "/v1/documents"), ("POST", "/v1/questions")]:
        response = await client.request(method, path, headers=headers, json={"question": "¿?"})
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert detail in response.json()["detail"]


async def test_openapi_documents_the_routes_and_the_bearer_scheme(
    client: httpx.AsyncClient,
) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert {"/v1/auth/signup", "/v1/auth/login", "/v1/documents", "/v1/questions"} <= set(
        spec["paths"]
    )
    assert "HTTPBearer" in spec["components"]["securitySchemes"]
