"""Sign-up, sign-in and sessions: passed to the tenants service, which owns accounts and signs
tokens.

These go over internal HTTP, not Kafka: they carry passwords and refresh tokens, which must
never sit in a topic, and the caller needs its answer in the same request.
"""

from typing import Any

from fastapi import APIRouter, Response

from common.contracts.accounts import (
    AccessToken,
    LoginRequest,
    PasswordChange,
    RefreshRequest,
    SignupRequest,
    SignupResponse,
)
from gateway.dependencies import CurrentGateway, CurrentIdentity, CurrentOrigin

router = APIRouter(tags=["auth"])


@router.post("/v1/auth/signup", status_code=201, response_model=SignupResponse)
async def signup(body: SignupRequest, gateway: CurrentGateway, origin: CurrentOrigin) -> Any:
    """Creates a company and its owner; answers with the owner's access and refresh tokens."""
    return await gateway.tenants.call(
        "POST", "/internal/signup", json=body.model_dump(), origin=origin
    )


@router.post("/v1/auth/login", response_model=AccessToken)
async def login(body: LoginRequest, gateway: CurrentGateway, origin: CurrentOrigin) -> Any:
    """Signs in by email and password; `company` (its slug) only when the email has accounts
    in several companies (409 `company-required` says so). Repeated wrong passwords lock the
    account for a while; the answer is then the same 401 as for a wrong password."""
    return await gateway.tenants.call(
        "POST", "/internal/login", json=body.model_dump(), origin=origin
    )


@router.post("/v1/auth/refresh", response_model=AccessToken)
async def refresh(body: RefreshRequest, gateway: CurrentGateway, origin: CurrentOrigin) -> Any:
    """Exchanges a refresh token, once, for a new access token and refresh token. A refresh
    token used twice ends its whole session (401 `invalid-refresh-token`)."""
    return await gateway.tenants.call(
        "POST", "/internal/refresh", json=body.model_dump(), origin=origin
    )


@router.post("/v1/auth/logout", status_code=204, response_class=Response)
async def logout(body: RefreshRequest, gateway: CurrentGateway, origin: CurrentOrigin) -> Response:
    """Ends the session the refresh token belongs to; 204 whether or not it was still live."""
    await gateway.tenants.call("POST", "/internal/logout", json=body.model_dump(), origin=origin)
    return Response(status_code=204)


@router.post("/v1/auth/password", status_code=204, response_class=Response)
async def change_password(
    body: PasswordChange, identity: CurrentIdentity, gateway: CurrentGateway, origin: CurrentOrigin
) -> Response:
    """Changes the caller's password and ends all their sessions; sign in again afterwards."""
    await gateway.tenants.call(
        "POST",
        "/internal/password",
        token=identity.token,
        json=body.model_dump(),
        origin=origin,
    )
    return Response(status_code=204)


@router.get("/.well-known/jwks.json", include_in_schema=True)
async def jwks(gateway: CurrentGateway) -> Any:
    """The public keys that verify this platform's access tokens."""
    return await gateway.tenants.call("GET", "/internal/jwks.json")
