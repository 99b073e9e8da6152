"""Internal routes for a company's people, invitations and audit log."""

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response, status

from common.auth import Identity, Permission, Role
from common.contracts.users import (
    AuditLogOut,
    AuditLogPage,
    InvitationAcceptance,
    InvitationCreated,
    InvitationIn,
    InvitationOut,
    InvitationPage,
    JoinedCompany,
    OwnershipTransfer,
    RoleChange,
    UserOut,
    UserPage,
)
from common.problems import Problem
from tenants.audit import service as audit
from tenants.callers import CurrentCaller, CurrentOrigin, permitted
from tenants.companies.api import quota_problem
from tenants.companies.service import QuotaExceeded
from tenants.invitations import service as invitations
from tenants.invitations.models import InvitationStatus
from tenants.state import DatabaseDep, TokenIssuerDep
from tenants.tokens import sessions
from tenants.users import service as users

router = APIRouter(prefix="/internal", tags=["users"])

Limit = Annotated[int, Query(ge=1, le=100)]
Offset = Annotated[int, Query(ge=0)]
Manager = Annotated[Identity, permitted(Permission.USERS_MANAGE)]


def _no_seat(exceeded: QuotaExceeded) -> Problem:
    return quota_problem(
        exceeded, f"Your plan allows {exceeded.allowed} active users; every seat is taken."
    )


@router.get("/users")
async def list_users(
    identity: CurrentCaller,
    database: DatabaseDep,
    limit: Limit = 50,
    offset: Offset = 0,
    active: bool | None = None,
) -> UserPage:
    """The people the caller may see: managers see everyone, a supervisor supervisors and
    operadores, an operador only itself."""
    async with database.transaction(identity.company_id) as session:
        caller = await users.acting_user(session, identity)
        rows, total = await users.list_users(
            session, caller, limit=limit, offset=offset, active=active
        )
        items = [UserOut.model_validate(row) for row in rows]
    return UserPage(items=items, limit=limit, offset=offset, total=total)


@router.get("/users/me")
async def read_me(identity: CurrentCaller, database: DatabaseDep) -> UserOut:
    async with database.transaction(identity.company_id) as session:
        return UserOut.model_validate(await users.acting_user(session, identity))


@router.get("/users/{user_id}")
async def read_user(user_id: UUID, identity: CurrentCaller, database: DatabaseDep) -> UserOut:
    async with database.transaction(identity.company_id) as session:
        caller = await users.acting_user(session, identity)
        return UserOut.model_validate(await users.get_visible_user(session, caller, user_id))


@router.patch("/users/{user_id}")
async def change_role(
    user_id: UUID, body: RoleChange, identity: Manager, origin: CurrentOrigin, database: DatabaseDep
) -> UserOut:
    async with database.transaction(identity.company_id) as session:
        caller = await users.acting_user(session, identity)
        user = await users.change_role(
            session, caller, user_id, Role(body.role), identity=identity, origin=origin
        )
        return UserOut.model_validate(user)


@router.delete("/users/{user_id}")
async def deactivate_user(
    user_id: UUID, identity: Manager, origin: CurrentOrigin, database: DatabaseDep
) -> UserOut:
    """Deactivates (never erases): the person can no longer sign in or refresh a token."""
    async with database.transaction(identity.company_id) as session:
        caller = await users.acting_user(session, identity)
        user = await users.deactivate(session, caller, user_id, identity=identity, origin=origin)
        return UserOut.model_validate(user)


@router.post("/users/{user_id}/reactivate")
async def reactivate_user(
    user_id: UUID, identity: Manager, origin: CurrentOrigin, database: DatabaseDep
) -> UserOut:
    async with database.transaction(identity.company_id) as session:
        caller = await users.acting_user(session, identity)
        try:
            user = await users.reactivate(
                session, caller, user_id, identity=identity, origin=origin
            )
        except QuotaExceeded as exceeded:
            raise _no_seat(exceeded) from exceeded
        return UserOut.model_validate(user)


@router.post("/company/owner")
async def transfer_ownership(
    body: OwnershipTransfer, identity: Manager, origin: CurrentOrigin, database: DatabaseDep
) -> UserOut:
    """The owner hands the company to another active user and becomes an administrador."""
    async with database.transaction(identity.company_id) as session:
        caller = await users.acting_user(session, identity)
        user = await users.transfer_ownership(
            session, caller, body.new_owner_id, identity=identity, origin=origin
        )
        return UserOut.model_validate(user)


@router.post("/invitations", status_code=status.HTTP_201_CREATED)
async def invite(
    body: InvitationIn, identity: Manager, origin: CurrentOrigin, database: DatabaseDep
) -> InvitationCreated:
    """Invites a person by email; the answer holds the token, shown only this once."""
    async with database.transaction(identity.company_id) as session:
        caller = await users.acting_user(session, identity)
        invitation, token = await invitations.invite(
            session, caller, body, identity=identity, origin=origin
        )
        out = InvitationOut.model_validate(invitation)
    return InvitationCreated(**out.model_dump(), token=token)


@router.get("/invitations")
async def list_invitations(
    identity: Manager,
    database: DatabaseDep,
    limit: Limit = 50,
    offset: Offset = 0,
    status: InvitationStatus | None = None,
) -> InvitationPage:
    async with database.transaction(identity.company_id) as session:
        rows, total = await invitations.list_invitations(
            session, identity.company_id, status=status, limit=limit, offset=offset
        )
        items = [InvitationOut.model_validate(row) for row in rows]
    return InvitationPage(items=items, limit=limit, offset=offset, total=total)


@router.delete("/invitations/{invitation_id}", status_code=status.HTTP_204_NO_CONTENT)
async def cancel_invitation(
    invitation_id: UUID, identity: Manager, origin: CurrentOrigin, database: DatabaseDep
) -> Response:
    async with database.transaction(identity.company_id) as session:
        caller = await users.acting_user(session, identity)
        await invitations.cancel(session, caller, invitation_id, identity=identity, origin=origin)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/invitations/{token}/accept", status_code=status.HTTP_201_CREATED)
async def accept_invitation(
    token: str,
    body: InvitationAcceptance,
    origin: CurrentOrigin,
    database: DatabaseDep,
    tokens: TokenIssuerDep,
) -> JoinedCompany:
    """Creates the invitee's account with the invited role and signs them in."""
    try:
        user = await invitations.accept(database, token, body, origin=origin)
    except QuotaExceeded as exceeded:
        raise _no_seat(exceeded) from exceeded
    token_out = await sessions.start_session(database, tokens, user)
    return JoinedCompany(company_id=user.company_id, user_id=user.id, **token_out.model_dump())


@router.get("/audit-logs")
async def list_audit_logs(
    identity: Annotated[Identity, permitted(Permission.AUDIT_READ)],
    database: DatabaseDep,
    limit: Limit = 50,
    offset: Offset = 0,
    action: str | None = None,
    actor_id: Annotated[UUID | None, Query(description="The user (or key) who acted")] = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> AuditLogPage:
    """The company's audit log, newest first."""
    async with database.transaction(identity.company_id) as session:
        rows, total = await audit.list_entries(
            session,
            identity.company_id,
            action=action,
            actor_id=actor_id,
            since=since,
            until=until,
            limit=limit,
            offset=offset,
        )
        items = [AuditLogOut.model_validate(row) for row in rows]
    return AuditLogPage(items=items, limit=limit, offset=offset, total=total)
