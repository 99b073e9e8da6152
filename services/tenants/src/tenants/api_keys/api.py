"""Internal routes for a company's API keys, and the exchange of a key for an access token that
the gateway makes before it lets a key's request through."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response, status

from common.auth import Identity, Permission
from common.contracts.api_keys import (
    ApiKeyAuthenticated,
    ApiKeyAuthRequest,
    ApiKeyCreated,
    ApiKeyIn,
    ApiKeyOut,
    ApiKeyPage,
    invalid_api_key,
)
from tenants.api_keys import service as api_keys
from tenants.callers import CurrentOrigin, permitted
from tenants.state import DatabaseDep, TokenIssuerDep
from tenants.users.service import acting_user

router = APIRouter(prefix="/internal/api-keys", tags=["api-keys"])

Limit = Annotated[int, Query(ge=1, le=100)]
Offset = Annotated[int, Query(ge=0)]
# An API key's token never holds this permission (it is not among API_KEY_SCOPES), and
# acting_user refuses a key besides: keys never manage keys.
Manager = Annotated[Identity, permitted(Permission.API_KEYS_MANAGE)]


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_api_key(
    body: ApiKeyIn, identity: Manager, origin: CurrentOrigin, database: DatabaseDep
) -> ApiKeyCreated:
    """Creates a key; the answer's `key` is shown only this once."""
    async with database.transaction(identity.company_id) as session:
        caller = await acting_user(session, identity)
        api_key, key = await api_keys.create(
            session, caller, body, identity=identity, origin=origin
        )
        out = ApiKeyOut.model_validate(api_key)
    return ApiKeyCreated(**out.model_dump(), key=key)


@router.get("")
async def list_api_keys(
    identity: Manager, database: DatabaseDep, limit: Limit = 50, offset: Offset = 0
) -> ApiKeyPage:
    """The company's keys, newest first, revoked ones included; never the key itself."""
    async with database.transaction(identity.company_id) as session:
        api_keys.check_may_manage(await acting_user(session, identity))
        rows, total = await api_keys.list_keys(
            session, identity.company_id, limit=limit, offset=offset
        )
        items = [ApiKeyOut.model_validate(row) for row in rows]
    return ApiKeyPage(items=items, limit=limit, offset=offset, total=total)


@router.delete("/{key_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_api_key(
    key_id: UUID, identity: Manager, origin: CurrentOrigin, database: DatabaseDep
) -> Response:
    async with database.transaction(identity.company_id) as session:
        caller = await acting_user(session, identity)
        await api_keys.revoke(session, caller, key_id, identity=identity, origin=origin)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/authenticate")
async def authenticate(
    body: ApiKeyAuthRequest, database: DatabaseDep, tokens: TokenIssuerDep
) -> ApiKeyAuthenticated:
    """For the gateway: an access token for the key (its scopes), and the key's rate limit."""
    try:
        return await api_keys.authenticate(database, tokens, body.key)
    except api_keys.InvalidApiKey as exc:
        raise invalid_api_key() from exc
