"""Inviting people into a company and accepting an invitation.

The token is shown once, to the inviter, who passes it on (the platform sends no email yet);
only its SHA-256 is stored. Acceptance takes a seat of the plan under the company's row lock,
creates the user and marks the invitation accepted in one transaction.
"""

import hashlib
import secrets
from datetime import UTC, datetime
from uuid import UUID, uuid4

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from common.auth import Identity, Role, role_rank
from common.bus import add_to_outbox
from common.contracts.users import InvitationAcceptance, InvitationIn
from common.db import Database, fetch_page, violated_unique_constraint
from common.events import UserInvited, UserInvitedV1, UserJoined, UserJoinedV1
from common.problems import Problem
from common.suspensions import company_suspended
from tenants import scopes
from tenants.accounts import passwords
from tenants.accounts.models import CompanyStatus, User
from tenants.accounts.service import EmailTaken, create_user
from tenants.audit.service import record
from tenants.callers import RequestOrigin
from tenants.companies.service import take_seat
from tenants.db import outbox
from tenants.invitations.models import PENDING_EMAIL_UNIQUE, Invitation, InvitationStatus

TOKEN_BYTES = 32


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_not_found(invitation_id: UUID | None = None) -> Problem:
    what = f"No invitation {invitation_id}." if invitation_id else "No such invitation."
    return Problem(404, "invitation-not-found", what)


async def expire_overdue(session: AsyncSession, company_id: UUID) -> None:
    """Pending invitations past their date become expired (kept, so the list shows them)."""
    await session.execute(
        update(Invitation)
        .where(
            Invitation.company_id == company_id,
            Invitation.status == InvitationStatus.PENDING,
            Invitation.expires_at <= func.now(),
        )
        .values(status=InvitationStatus.EXPIRED.value)
    )


async def add_invitation(
    session: AsyncSession, company_id: UUID, email: str, role: Role, *, invited_by: UUID | None
) -> tuple[Invitation, str]:
    """A pending invitation valid for 7 days, and its token (only the hash is stored). Runs in
    a savepoint, so a clash with a pending invitation leaves the transaction usable."""
    token = new_token()
    invitation = Invitation(
        id=uuid4(),
        company_id=company_id,
        email=email,
        role=role.value,
        token_hash=hash_token(token),
        status=InvitationStatus.PENDING.value,
        invited_by=invited_by,
        expires_at=await session.scalar(select(func.now() + func.make_interval(0, 0, 0, 7))),
    )
    async with session.begin_nested():
        session.add(invitation)
    return invitation, token


async def invite(
    session: AsyncSession,
    caller: User,
    request: InvitationIn,
    *,
    identity: Identity,
    origin: RequestOrigin,
) -> tuple[Invitation, str]:
    """A pending invitation and its token (shown once)."""
    role = Role(request.role)
    if role_rank(role) > role_rank(caller.role):
        raise Problem(403, "forbidden", f"You cannot invite someone as {role}.")
    member = await session.scalar(
        select(User.id).where(
            User.company_id == caller.company_id, func.lower(User.email) == request.email
        )
    )
    if member is not None:
        raise Problem(409, "already-member", f"{request.email} is already in your company.")
    await expire_overdue(session, caller.company_id)
    try:
        invitation, token = await add_invitation(
            session, caller.company_id, request.email, role, invited_by=caller.id
        )
    except IntegrityError as exc:
        if violated_unique_constraint(exc) == PENDING_EMAIL_UNIQUE:
            raise Problem(
                409,
                "invitation-pending",
                f"{request.email} already has a pending invitation; cancel it to send another.",
            ) from exc
        raise
    await record(
        session,
        caller.company_id,
        action="user.invited",
        resource_type="invitation",
        resource_id=invitation.id,
        actor=identity,
        origin=origin,
        new={"email": invitation.email, "role": invitation.role},
    )
    await add_to_outbox(
        session,
        outbox,
        UserInvited.new(
            caller.company_id,
            UserInvitedV1(
                invitation_id=invitation.id,
                email=invitation.email,
                role=invitation.role,
                invited_by=caller.id,
                expires_at=invitation.expires_at.isoformat(),
            ),
        ),
    )
    return invitation, token


async def list_invitations(
    session: AsyncSession,
    company_id: UUID,
    *,
    status: InvitationStatus | None,
    limit: int,
    offset: int,
) -> tuple[list[Invitation], int]:
    await expire_overdue(session, company_id)
    query = select(Invitation).where(Invitation.company_id == company_id)
    if status is not None:
        query = query.where(Invitation.status == status.value)
    return await fetch_page(
        session, query, Invitation.created_at.desc(), Invitation.id, limit=limit, offset=offset
    )


async def cancel(
    session: AsyncSession,
    caller: User,
    invitation_id: UUID,
    *,
    identity: Identity,
    origin: RequestOrigin,
) -> Invitation:
    invitation = await session.get(Invitation, invitation_id, with_for_update=True)
    if invitation is None or invitation.company_id != caller.company_id:
        raise invitation_not_found(invitation_id)
    if invitation.status != InvitationStatus.PENDING:
        raise Problem(
            409, "invitation-not-pending", f"The invitation is already {invitation.status}."
        )
    invitation.status = InvitationStatus.CANCELLED.value
    invitation.cancelled_at = await session.scalar(select(func.now()))
    await session.flush()
    await record(
        session,
        caller.company_id,
        action="invitation.cancelled",
        resource_type="invitation",
        resource_id=invitation.id,
        actor=identity,
        origin=origin,
        old={"status": InvitationStatus.PENDING.value},
        new={"status": InvitationStatus.CANCELLED.value},
    )
    return invitation


async def accept(
    database: Database, token: str, request: InvitationAcceptance, *, origin: RequestOrigin
) -> User:
    """The invitee becomes a user of the company with the invited role."""
    async with database.transaction(scope=scopes.INVITATION_ACCEPT) as session:
        found = await session.scalar(
            select(Invitation).where(Invitation.token_hash == hash_token(token))
        )
    if found is None:
        raise invitation_not_found()
    password_hash = await passwords.hash_password(request.password)

    async with database.transaction(found.company_id) as session:
        invitation = await session.get(Invitation, found.id, with_for_update=True)
        if invitation is None:
            raise invitation_not_found()
        _check_still_open(invitation)
        # Locks the company row: acceptances of one company take seats one after another.
        company = await take_seat(session, found.company_id)
        if company.status != CompanyStatus.ACTIVE:
            raise company_suspended()
        try:
            user = await create_user(
                session,
                company,
                email=invitation.email,
                password_hash=password_hash,
                first_name=request.first_name,
                last_name=request.last_name,
                role=Role(invitation.role),
            )
        except EmailTaken as exc:
            raise Problem(
                409, "already-member", f"{invitation.email} is already in this company."
            ) from exc
        user.invited_by = invitation.invited_by
        invitation.status = InvitationStatus.ACCEPTED.value
        invitation.accepted_at = await session.scalar(select(func.now()))
        invitation.accepted_user_id = user.id
        await session.flush()
        await record(
            session,
            company.id,
            action="user.joined",
            resource_type="user",
            resource_id=user.id,
            actor=("user", user.id),
            origin=origin,
            new={"email": user.email, "role": user.role, "invitation_id": str(invitation.id)},
        )
        await add_to_outbox(
            session,
            outbox,
            UserJoined.new(
                company.id,
                UserJoinedV1(
                    user_id=user.id, email=user.email, role=user.role, invitation_id=invitation.id
                ),
            ),
        )
    return user


def _check_still_open(invitation: Invitation) -> None:
    if invitation.status == InvitationStatus.PENDING and invitation.expires_at <= datetime.now(UTC):
        invitation.status = InvitationStatus.EXPIRED.value
    if invitation.status == InvitationStatus.EXPIRED:
        raise Problem(410, "invitation-expired", "This invitation has expired; ask for a new one.")
    if invitation.status != InvitationStatus.PENDING:
        raise Problem(409, "invitation-not-pending", f"This invitation is {invitation.status}.")
