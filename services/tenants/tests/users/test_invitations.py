"""Invitations: shown once, stored hashed, 7 days, accepted into a seat of the plan."""

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from common.auth import Role, TokenVerifier
from common.db import Database
from devstack.client import assert_problem
from tenants.accounts.models import User
from tenants.audit.models import AuditLog
from tenants.invitations.models import Invitation

MakeOwner = Callable[..., Awaitable[User]]
MakeMember = Callable[..., Awaitable[User]]
Bearer = Callable[[User], dict[str, str]]
NEWCOMER = {"first_name": "Katherine", "last_name": "Johnson", "password": "a-long-password-1"}


async def invite(
    client: httpx.AsyncClient, inviter: User, bearer: Bearer, email: str, role: str = "operador"
) -> dict[str, Any]:
    response = await client.post(
        "/internal/invitations", json={"email": email, "role": role}, headers=bearer(inviter)
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_invite_accept_sign_in(
    client: httpx.AsyncClient,
    database: Database,
    make_owner: MakeOwner,
    bearer: Bearer,
    state: Any,
) -> None:
    owner = await make_owner()
    created = await invite(client, owner, bearer, "New.Person@Example.com", "supervisor")

    assert created["email"] == "new.person@example.com"
    assert created["status"] == "pending"
    async with database.transaction(owner.company_id) as session:
        stored = await session.get_one(Invitation, created["id"])
    lifetime = stored.expires_at - stored.created_at
    assert stored.token_hash == hashlib.sha256(created["token"].encode()).hexdigest()
    assert created["token"] not in stored.token_hash
    assert lifetime.days == 7

    listed = (await client.get("/internal/invitations", headers=bearer(owner))).json()
    assert [item["id"] for item in listed["items"]] == [created["id"]]
    assert "token" not in listed["items"][0]

    accepted = await client.post(f"/internal/invitations/{created['token']}/accept", json=NEWCOMER)

    assert accepted.status_code == 201, accepted.text
    verifier = TokenVerifier(
        issuer=state.tokens.issuer,
        audience=state.tokens.audience,
        jwks=state.tokens.jwks().model_dump(),
    )
    identity = await verifier.verify(accepted.json()["access_token"])
    assert (identity.company_id, identity.role) == (owner.company_id, Role.SUPERVISOR)
    login = await client.post(
        "/internal/login",
        json={"email": "new.person@example.com", "password": NEWCOMER["password"]},
    )
    assert login.status_code == 200, login.text
    async with database.transaction(owner.company_id) as session:
        joined = await session.get_one(User, identity.user_id)
        actions = set(await session.scalars(select(AuditLog.action)))
    assert joined.invited_by == owner.id
    assert {"user.invited", "user.joined"} <= actions

    again = await client.post(f"/internal/invitations/{created['token']}/accept", json=NEWCOMER)
    assert_problem(again, 409, "invitation-not-pending")


async def test_an_unknown_token_is_404(client: httpx.AsyncClient) -> None:
    response = await client.post("/internal/invitations/not-a-real-token/accept", json=NEWCOMER)
    assert_problem(response, 404, "invitation-not-found")


async def test_an_expired_invitation_is_410_and_listed_as_expired(
    client: httpx.AsyncClient, database: Database, make_owner: MakeOwner, bearer: Bearer
) -> None:
    owner = await make_owner()
    created = await invite(client, owner, bearer, "late@example.com")
    async with database.transaction(owner.company_id) as session:
        await session.execute(
            update(Invitation)
            .where(Invitation.id == created["id"])
            .values(expires_at=func.now() - func.make_interval(0, 0, 0, 0, 0, 1))
        )

    response = await client.post(f"/internal/invitations/{created['token']}/accept", json=NEWCOMER)

    assert_problem(response, 410, "invitation-expired")
    listed = (await client.get("/internal/invitations", headers=bearer(owner))).json()
    assert [item["status"] for item in listed["items"]] == ["expired"]


async def test_a_cancelled_invitation_cannot_be_accepted(
    client: httpx.AsyncClient, make_owner: MakeOwner, bearer: Bearer
) -> None:
    owner = await make_owner()
    created = await invite(client, owner, bearer, "changed-mind@example.com")

    cancelled = await client.delete(f"/internal/invitations/{created['id']}", headers=bearer(owner))
    assert cancelled.status_code == 204

    response = await client.post(f"/internal/invitations/{created['token']}/accept", json=NEWCOMER)
    assert_problem(response, 409, "invitation-not-pending")


@pytest.mark.parametrize(
    ("role", "invited_role", "status", "code"),
    [
        (Role.SUPERVISOR, "operador", 403, "forbidden"),
        (Role.OPERADOR, "operador", 403, "forbidden"),
        (Role.ADMINISTRADOR, "owner", 422, None),
    ],
)
async def test_who_may_invite(
    client: httpx.AsyncClient,
    make_owner: MakeOwner,
    make_member: MakeMember,
    bearer: Bearer,
    role: Role,
    invited_role: str,
    status: int,
    code: str | None,
) -> None:
    inviter = await make_member(await make_owner(), role)
    response = await client.post(
        "/internal/invitations",
        json={"email": "someone@example.com", "role": invited_role},
        headers=bearer(inviter),
    )
    assert response.status_code == status, response.text
    if code:
        assert_problem(response, status, code)


async def test_a_member_or_a_pending_email_cannot_be_invited_twice(
    client: httpx.AsyncClient, make_owner: MakeOwner, make_member: MakeMember, bearer: Bearer
) -> None:
    owner = await make_owner()
    member = await make_member(owner, Role.OPERADOR)
    await invite(client, owner, bearer, "pending@example.com")

    for email, code in (
        (member.email, "already-member"),
        ("PENDING@example.com", "invitation-pending"),
    ):
        response = await client.post(
            "/internal/invitations", json={"email": email}, headers=bearer(owner)
        )
        assert_problem(response, 409, code)


async def test_concurrent_acceptances_never_pass_the_seat_limit(
    client: httpx.AsyncClient, database: Database, make_owner: MakeOwner, bearer: Bearer
) -> None:
    # Starter: 3 seats, the owner holds one; six invitees accept at once.
    owner = await make_owner()
    tokens = [
        (await invite(client, owner, bearer, f"seat-{n}@example.com"))["token"] for n in range(6)
    ]

    responses = await asyncio.gather(
        *(client.post(f"/internal/invitations/{token}/accept", json=NEWCOMER) for token in tokens)
    )

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201, 201, 429, 429, 429, 429], [r.text for r in responses]
    for response in responses:
        if response.status_code == 429:
            body = assert_problem(response, 429, "quota-exceeded")
            assert (body["limit"], body["allowed"]) == ("users", 3)
    async with database.transaction(owner.company_id) as session:
        active = await session.scalar(
            select(func.count()).where(User.company_id == owner.company_id, User.is_active)
        )
    assert active == 3


async def test_the_audit_log_is_for_managers_and_filters(
    client: httpx.AsyncClient, make_owner: MakeOwner, make_member: MakeMember, bearer: Bearer
) -> None:
    owner = await make_owner()
    supervisor = await make_member(owner, Role.SUPERVISOR)
    await invite(client, owner, bearer, "a@example.com")
    await invite(client, owner, bearer, "b@example.com")
    changed = await client.patch(
        f"/internal/users/{supervisor.id}", json={"role": "operador"}, headers=bearer(owner)
    )
    assert changed.status_code == 200

    everything = (await client.get("/internal/audit-logs", headers=bearer(owner))).json()
    invited = (
        await client.get("/internal/audit-logs?action=user.invited&limit=1", headers=bearer(owner))
    ).json()
    future = (
        await client.get(
            "/internal/audit-logs", params={"since": "2999-01-01T00:00:00Z"}, headers=bearer(owner)
        )
    ).json()
    by_owner = (
        await client.get(f"/internal/audit-logs?actor_id={owner.id}", headers=bearer(owner))
    ).json()

    assert [item["action"] for item in everything["items"]] == [
        "user.role_changed",
        "user.invited",
        "user.invited",
    ]
    assert (invited["total"], len(invited["items"])) == (2, 1)
    assert future["total"] == 0
    assert by_owner["total"] == 3
    refused = await client.get("/internal/audit-logs", headers=bearer(supervisor))
    assert_problem(refused, 403, "forbidden")


async def test_another_companys_invitations_are_out_of_reach(
    client: httpx.AsyncClient, make_owner: MakeOwner, bearer: Bearer
) -> None:
    mine, theirs = await make_owner(), await make_owner()
    their_invitation = await invite(client, theirs, bearer, "their-person@example.com")

    cancel = await client.delete(
        f"/internal/invitations/{their_invitation['id']}", headers=bearer(mine)
    )
    listed = await client.get(
        "/internal/invitations", params={"company_id": str(theirs.company_id)}, headers=bearer(mine)
    )
    logs = await client.get(
        "/internal/audit-logs", params={"company_id": str(theirs.company_id)}, headers=bearer(mine)
    )
    # A company_id in the body is refused, not obeyed.
    smuggled = await client.post(
        "/internal/invitations",
        json={"email": "x@example.com", "company_id": str(theirs.company_id)},
        headers=bearer(mine),
    )

    assert_problem(cancel, 404, "invitation-not-found")
    assert listed.json()["total"] == 0
    assert logs.json()["total"] == 0
    assert smuggled.status_code == 422
    theirs_listed = await client.get("/internal/invitations", headers=bearer(theirs))
    assert [item["status"] for item in theirs_listed.json()["items"]] == ["pending"]
