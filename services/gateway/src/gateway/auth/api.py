"""Sign-up and sign-in: passed to the tenants service, which owns accounts and signs tokens.

These go over internal HTTP, not Kafka: they carry passwords, which must never sit in a
topic, and the caller needs its token in the same request.
"""

from typing import Any

from fastapi import APIRouter

from common.contracts.accounts import AccessToken, LoginRequest, SignupRequest, SignupResponse
from gateway.dependencies import CurrentGateway

router = APIRouter(tags=["auth"])


@router.post("/v1/auth/signup", status_code=201, response_model=SignupResponse)
async def signup(body: SignupRequest, gateway: CurrentGateway) -> Any:
    """Creates a company and its owner; answers with the owner's access token."""
    return await gateway.tenants.call("POST", "/internal/signup", json=body.model_dump())


@router.post("/v1/auth/login", response_model=AccessToken)
async def login(body: LoginRequest, gateway: CurrentGateway) -> Any:
    return await gateway.tenants.call("POST", "/internal/login", json=body.model_dump())


@router.get("/.well-known/jwks.json", include_in_schema=True)
async def jwks(gateway: CurrentGateway) -> Any:
    """The public keys that verify this platform's access tokens."""
    return await gateway.tenants.call("GET", "/internal/jwks.json")
