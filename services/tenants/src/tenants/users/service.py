"""A company's people: who sees whom, role changes, deactivation and ownership transfer.

The caller's role is read from the database, not from the token: a token issued before a
demotion still carries the old role for its few minutes of life, and these are the changes
where that matters.
"""

from collections.abc import Sequence
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from common.auth import Identity, Role, role_rank
from common.bus import add_to_outbox
from common.db import fetch_page
from common.events import (
    UserDeactivated,
    UserDeactivatedV1,
    UserRoleChanged,
    UserRoleChangedV1,
)
from common.problems import Problem
from tenants.accounts.models import User
from tenants.audit.service import record
from tenants.callers import RequestOrigin
from tenants.companies.service import take_seat
from tenants.db import outbox
from tenants.tokens.sessions import revoke_user_tokens


def user_not_found(user_id: UUID) -> Problem:
    return Problem(404, "user-not-found", f"No user {user_id} in your company.")


async def acting_user(session: AsyncSession, identity: Identity) -> User:
    """The caller as the database knows them now; a deactivated caller is refused."""
    if identity.is_api_key:
        raise Problem(403, "forbidden", "API keys cannot manage people.")
    user = await session.get(User, identity.user_id)
    if user is None or not user.is_active:
        raise Problem(401, "unauthorized", "Your account is no longer active.")
    return user


def visible_roles(role: Role) -> Sequence[Role] | None:
    """The roles a caller may see; None means every role. An operador sees only itself."""
    if role in (Role.OWNER, Role.ADMINISTRADOR):
        return None
    if role is Role.SUPERVISOR:
        return (Role.SUPERVISOR, Role.OPERADOR)
    return ()


async def list_users(
    session: AsyncSession, caller: User, *, limit: int, offset: int, active: bool | None
) -> tuple[list[User], int]:
    query = select(User).where(User.company_id == caller.company_id)
    roles = visible_roles(Role(caller.role))
    if roles is not None:
        # An operador's empty list of roles still lets it see itself.
        query = query.where(User.role.in_([r.value for r in roles]) | (User.id == caller.id))
    if active is not None:
        query = query.where(User.is_active.is_(active))
    return await fetch_page(session, query, User.created_at, User.id, limit=limit, offset=offset)


async def get_visible_user(session: AsyncSession, caller: User, user_id: UUID) -> User:
    """A user the caller may see; others (and other companies' users) are 404, not 403,
    so nobody learns which ids exist."""
    user = await session.get(User, user_id)
    roles = visible_roles(Role(caller.role))
    if (
        user is None
        or user.company_id != caller.company_id
        or (roles is not None and Role(user.role) not in roles and user.id != caller.id)
    ):
        raise user_not_found(user_id)
    return user


def _check_may_manage(caller: User, target: User, *, new_role: Role | None = None) -> None:
    """Owner manages everyone but itself; an administrador manages supervisors and operators
    and may raise them up to administrador; nobody changes the owner but by a transfer."""
    if target.role == Role.OWNER:
        raise Problem(
            409,
            "owner-protected",
            "The owner cannot be demoted or deactivated; transfer ownership first.",
        )
    if target.id == caller.id:
        raise Problem(409, "cannot-change-self", "You cannot change your own role or access.")
    caller_rank = role_rank(caller.role)
    if caller_rank < role_rank(Role.ADMINISTRADOR):
        raise Problem(403, "forbidden", "Only the owner and administradores manage people.")
    if caller.role != Role.OWNER and role_rank(target.role) >= caller_rank:
        raise Problem(403, "forbidden", "An administrador cannot manage another administrador.")
    if new_role is not None and role_rank(new_role) > caller_rank:
        raise Problem(403, "forbidden", f"You cannot grant the {new_role} role.")


async def change_role(
    session: AsyncSession,
    caller: User,
    user_id: UUID,
    new_role: Role,
    *,
    identity: Identity,
    origin: RequestOrigin,
) -> User:
    target = await get_visible_user(session, caller, user_id)
    _check_may_manage(caller, target, new_role=new_role)
    old_role = target.role
    if old_role == new_role:
        return target
    target.role = new_role.value
    await session.flush()
    await record(
        session,
        caller.company_id,
        action="user.role_changed",
        resource_type="user",
        resource_id=target.id,
        actor=identity,
        origin=origin,
        old={"role": old_role},
        new={"role": new_role.value},
    )
    await _announce_role_change(session, caller, target, old_role)
    return target


async def _announce_role_change(
    session: AsyncSession, caller: User, user: User, old_role: str
) -> None:
    await add_to_outbox(
        session,
        outbox,
        UserRoleChanged.new(
            caller.company_id,
            UserRoleChangedV1(
                user_id=user.id, old_role=old_role, new_role=user.role, changed_by=caller.id
            ),
        ),
    )


async def deactivate(
    session: AsyncSession,
    caller: User,
    user_id: UUID,
    *,
    identity: Identity,
    origin: RequestOrigin,
) -> User:
    """Soft: the row stays (and can be reactivated); sign-in and refresh stop at once."""
    target = await get_visible_user(session, caller, user_id)
    _check_may_manage(caller, target)
    if not target.is_active:
        return target
    target.is_active = False
    target.deactivated_at = await session.scalar(select(func.now()))
    await session.flush()
    await revoke_user_tokens(session, target.id)
    await record(
        session,
        caller.company_id,
        action="user.deactivated",
        resource_type="user",
        resource_id=target.id,
        actor=identity,
        origin=origin,
        old={"is_active": True},
        new={"is_active": False},
    )
    await add_to_outbox(
        session,
        outbox,
        UserDeactivated.new(
            caller.company_id, UserDeactivatedV1(user_id=target.id, deactivated_by=caller.id)
        ),
    )
    return target


async def reactivate(
    session: AsyncSession,
    caller: User,
    user_id: UUID,
    *,
    identity: Identity,
    origin: RequestOrigin,
) -> User:
    """Gives the person access back, if the plan has a seat for them."""
    target = await get_visible_user(session, caller, user_id)
    _check_may_manage(caller, target)
    if target.is_active:
        return target
    await take_seat(session, caller.company_id)
    target.is_active = True
    target.deactivated_at = None
    await session.flush()
    await record(
        session,
        caller.company_id,
        action="user.reactivated",
        resource_type="user",
        resource_id=target.id,
        actor=identity,
        origin=origin,
        old={"is_active": False},
        new={"is_active": True},
    )
    return target


async def transfer_ownership(
    session: AsyncSession,
    caller: User,
    new_owner_id: UUID,
    *,
    identity: Identity,
    origin: RequestOrigin,
) -> User:
    """The owner hands the company to an active member and becomes an administrador. The
    database checks at commit that the company still has exactly one owner."""
    if caller.role != Role.OWNER:
        raise Problem(403, "forbidden", "Only the owner can transfer ownership.")
    target = await get_visible_user(session, caller, new_owner_id)
    if target.id == caller.id:
        raise Problem(409, "cannot-change-self", "You already own this company.")
    if not target.is_active:
        raise Problem(409, "user-inactive", "Ownership can pass only to an active user.")
    old_role = target.role
    # Demote first: the one-owner index is checked row by row.
    caller.role = Role.ADMINISTRADOR.value
    await session.flush()
    target.role = Role.OWNER.value
    await session.flush()
    await record(
        session,
        caller.company_id,
        action="company.ownership_transferred",
        resource_type="user",
        resource_id=target.id,
        actor=identity,
        origin=origin,
        old={"owner_id": str(caller.id), "new_owner_role": old_role},
        new={"owner_id": str(target.id), "previous_owner_role": Role.ADMINISTRADOR.value},
    )
    await _announce_role_change(session, caller, caller, Role.OWNER.value)
    await _announce_role_change(session, caller, target, old_role)
    return target
