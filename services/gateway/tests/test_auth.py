"""The gateway's sign-in routes, as far as they answer before tenants is asked; passing through
to the real tenants process is walked in tests/e2e/test_sessions.py."""

from collections.abc import AsyncIterator

import httpx
import pytest

from gateway.main import create_app
from gateway.settings import GatewaySettings


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(GatewaySettings()), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        yield client


async def test_openapi_documents_the_session_routes(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()

    for path in ("/v1/auth/refresh", "/v1/auth/logout", "/v1/auth/password"):
        assert "post" in spec["paths"][path]
    schemas = spec["components"]["schemas"]
    assert {"refresh_token", "refresh_expires_in"} <= set(schemas["AccessToken"]["required"])
    assert set(schemas["RefreshRequest"]["required"]) == {"refresh_token"}
    assert set(schemas["PasswordChange"]["required"]) == {"current_password", "new_password"}
    assert "company" in schemas["LoginRequest"]["properties"]
    password_route = spec["paths"]["/v1/auth/password"]["post"]
    assert password_route["security"] == [{"HTTPBearer": []}]
    assert "204" in password_route["responses"]


async def test_changing_the_password_needs_a_bearer_token(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/auth/password",
        json={"current_password": "whatever-it-is", "new_password": "a-brand-new-password"},
    )

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == "Bearer"
