"""A company's API keys: checked here by the caller's permissions, then again by the tenants
service against the database."""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Response

from common.auth import Permission, require
from common.contracts.api_keys import ApiKeyCreated, ApiKeyIn, ApiKeyPage
from gateway.dependencies import CurrentGateway, CurrentIdentity, CurrentOrigin

router = APIRouter(prefix="/v1/api-keys", tags=["api-keys"])

Limit = Annotated[int, Query(ge=1, le=100)]
Offset = Annotated[int, Query(ge=0)]


@router.post("", status_code=201, response_model=ApiKeyCreated)
async def create_api_key(
    body: ApiKeyIn, identity: CurrentIdentity, gateway: CurrentGateway, origin: CurrentOrigin
) -> Any:
    """Creates a key for a server-to-server client, with the scopes it may use. The answer's
    `key` is shown only this once; send it as `X-API-Key: <key>` or `Authorization: Bearer
    <key>`. Each key is held to its `rate_limit_per_minute` (429 past it)."""
    require(identity, Permission.API_KEYS_MANAGE)
    return await gateway.tenants.call(
        "POST",
        "/internal/api-keys",
        token=identity.token,
        json=body.model_dump(mode="json"),
        origin=origin,
    )


@router.get("", response_model=ApiKeyPage)
async def list_api_keys(
    identity: CurrentIdentity, gateway: CurrentGateway, limit: Limit = 50, offset: Offset = 0
) -> Any:
    """The company's keys, newest first, revoked ones included; never the key itself."""
    require(identity, Permission.API_KEYS_MANAGE)
    return await gateway.tenants.call(
        "GET", "/internal/api-keys", token=identity.token, params={"limit": limit, "offset": offset}
    )


@router.delete("/{key_id}", status_code=204)
async def revoke_api_key(
    key_id: UUID, identity: CurrentIdentity, gateway: CurrentGateway, origin: CurrentOrigin
) -> Response:
    """Revokes the key for good: refused at once by this gateway, and by every other replica
    within 30 seconds."""
    require(identity, Permission.API_KEYS_MANAGE)
    await gateway.tenants.call(
        "DELETE", f"/internal/api-keys/{key_id}", token=identity.token, origin=origin
    )
    gateway.api_keys.forget(key_id)
    return Response(status_code=204)
