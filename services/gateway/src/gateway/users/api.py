"""A company's people, invitations and audit log: checked here by the token's role, then
again by the tenants service against the database."""

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Response

from common.auth import Permission, require
from common.contracts.users import (
    AuditLogPage,
    InvitationAcceptance,
    InvitationCreated,
    InvitationIn,
    InvitationPage,
    JoinedCompany,
    OwnershipTransfer,
    RoleChange,
    UserOut,
    UserPage,
)
from gateway.dependencies import CurrentGateway, CurrentIdentity, CurrentOrigin

router = APIRouter(prefix="/v1", tags=["users"])

Limit = Annotated[int, Query(ge=1, le=100)]
Offset = Annotated[int, Query(ge=0)]


@router.get("/users", response_model=UserPage)
async def list_users(
    identity: CurrentIdentity,
    gateway: CurrentGateway,
    limit: Limit = 50,
    offset: Offset = 0,
    active: bool | None = None,
) -> Any:
    """Managers see everyone; a supervisor sees supervisors and operadores; an operador only
    itself."""
    require(identity, Permission.USERS_READ)
    params: dict[str, Any] = {"limit": limit, "offset": offset}
    if active is not None:
        params["active"] = active
    return await gateway.tenants.call("GET", "/internal/users", token=identity.token, params=params)


@router.get("/users/me", response_model=UserOut)
async def read_me(identity: CurrentIdentity, gateway: CurrentGateway) -> Any:
    return await gateway.tenants.call("GET", "/internal/users/me", token=identity.token)


# Before the /users/{user_id} routes, which would otherwise take "invitations" for an id.
@router.post("/users/invitations", status_code=201, response_model=InvitationCreated)
async def invite(
    body: InvitationIn, identity: CurrentIdentity, gateway: CurrentGateway, origin: CurrentOrigin
) -> Any:
    """Invites a person by email for 7 days. The answer's `token` is shown only this once:
    pass it to the invitee, who accepts at `POST /v1/invitations/{token}/accept`."""
    require(identity, Permission.USERS_MANAGE)
    return await gateway.tenants.call(
        "POST", "/internal/invitations", token=identity.token, json=body.model_dump(), origin=origin
    )


@router.get("/users/invitations", response_model=InvitationPage)
async def list_invitations(
    identity: CurrentIdentity,
    gateway: CurrentGateway,
    limit: Limit = 50,
    offset: Offset = 0,
    status: Annotated[str | None, Query(pattern="^(pending|accepted|expired|cancelled)$")] = None,
) -> Any:
    require(identity, Permission.USERS_MANAGE)
    params: dict[str, Any] = {"limit": limit, "offset": offset}
    if status:
        params["status"] = status
    return await gateway.tenants.call(
        "GET", "/internal/invitations", token=identity.token, params=params
    )


@router.delete("/users/invitations/{invitation_id}", status_code=204)
async def cancel_invitation(
    invitation_id: UUID, identity: CurrentIdentity, gateway: CurrentGateway, origin: CurrentOrigin
) -> Response:
    require(identity, Permission.USERS_MANAGE)
    await gateway.tenants.call(
        "DELETE", f"/internal/invitations/{invitation_id}", token=identity.token, origin=origin
    )
    return Response(status_code=204)


@router.get("/users/{user_id}", response_model=UserOut)
async def read_user(user_id: UUID, identity: CurrentIdentity, gateway: CurrentGateway) -> Any:
    require(identity, Permission.USERS_READ)
    return await gateway.tenants.call("GET", f"/internal/users/{user_id}", token=identity.token)


@router.patch("/users/{user_id}", response_model=UserOut)
async def change_role(
    user_id: UUID,
    body: RoleChange,
    identity: CurrentIdentity,
    gateway: CurrentGateway,
    origin: CurrentOrigin,
) -> Any:
    """Changes a user's role (never to owner: ownership is transferred)."""
    require(identity, Permission.USERS_MANAGE)
    return await gateway.tenants.call(
        "PATCH",
        f"/internal/users/{user_id}",
        token=identity.token,
        json=body.model_dump(),
        origin=origin,
    )


@router.delete("/users/{user_id}", response_model=UserOut)
async def deactivate_user(
    user_id: UUID, identity: CurrentIdentity, gateway: CurrentGateway, origin: CurrentOrigin
) -> Any:
    """Deactivates the user: kept for the record and reactivable, but signed out for good."""
    require(identity, Permission.USERS_MANAGE)
    return await gateway.tenants.call(
        "DELETE", f"/internal/users/{user_id}", token=identity.token, origin=origin
    )


@router.post("/users/{user_id}/reactivate", response_model=UserOut)
async def reactivate_user(
    user_id: UUID, identity: CurrentIdentity, gateway: CurrentGateway, origin: CurrentOrigin
) -> Any:
    require(identity, Permission.USERS_MANAGE)
    return await gateway.tenants.call(
        "POST", f"/internal/users/{user_id}/reactivate", token=identity.token, origin=origin
    )


@router.post("/company/owner", response_model=UserOut, tags=["company"])
async def transfer_ownership(
    body: OwnershipTransfer,
    identity: CurrentIdentity,
    gateway: CurrentGateway,
    origin: CurrentOrigin,
) -> Any:
    """The owner hands the company to another active user and becomes an administrador."""
    require(identity, Permission.USERS_MANAGE)
    return await gateway.tenants.call(
        "POST",
        "/internal/company/owner",
        token=identity.token,
        json=body.model_dump(mode="json"),
        origin=origin,
    )


@router.post("/invitations/{token}/accept", status_code=201, response_model=JoinedCompany)
async def accept_invitation(
    token: str,
    body: InvitationAcceptance,
    gateway: CurrentGateway,
    origin: CurrentOrigin,
) -> Any:
    """Creates the invitee's account (no token needed: the invitation is the credential)."""
    return await gateway.tenants.call(
        "POST", f"/internal/invitations/{token}/accept", json=body.model_dump(), origin=origin
    )


@router.get("/audit-logs", response_model=AuditLogPage)
async def list_audit_logs(
    identity: CurrentIdentity,
    gateway: CurrentGateway,
    limit: Limit = 50,
    offset: Offset = 0,
    action: str | None = None,
    user_id: Annotated[UUID | None, Query(description="Who acted (a user or an API key)")] = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Any:
    """The company's audit log, newest first; for the owner and administradores."""
    require(identity, Permission.AUDIT_READ)
    params: dict[str, Any] = {"limit": limit, "offset": offset}
    for name, value in (
        ("action", action),
        ("actor_id", user_id),
        ("since", since),
        ("until", until),
    ):
        if value is not None:
            params[name] = value.isoformat() if isinstance(value, datetime) else str(value)
    return await gateway.tenants.call(
        "GET", "/internal/audit-logs", token=identity.token, params=params
    )
