"""People of a company through the internal routes: who sees whom, role changes,
deactivation, ownership transfer, each with its audit row and event."""

from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from sqlalchemy import select

from common.auth import Role
from common.db import Database
from common.events import decode_event
from devstack.client import assert_problem
from tenants.accounts.models import User
from tenants.audit.models import AuditLog
from tenants.db import outbox

MakeOwner = Callable[..., Awaitable[User]]
MakeMember = Callable[..., Awaitable[User]]
Bearer = Callable[[User], dict[str, str]]


@pytest.fixture
async def team(make_owner: MakeOwner, make_member: MakeMember) -> dict[str, User]:
    owner = await make_owner()
    return {
        "owner": owner,
        "admin": await make_member(owner, Role.ADMINISTRADOR),
        "admin2": await make_member(owner, Role.ADMINISTRADOR),
        "supervisor": await make_member(owner, Role.SUPERVISOR),
        "operador": await make_member(owner, Role.OPERADOR),
        "operador2": await make_member(owner, Role.OPERADOR),
    }


async def events_of(database: Database, company_id: UUID) -> list[Any]:
    async with database.transaction(company_id) as session:
        bodies = await session.scalars(select(outbox.c.body).order_by(outbox.c.sequence))
        return [decode_event(body) for body in bodies]


async def audit_rows(database: Database, company_id: UUID, action: str) -> list[AuditLog]:
    async with database.transaction(company_id) as session:
        rows = await session.scalars(select(AuditLog).where(AuditLog.action == action))
        return list(rows)


class TestWhoSeesWhom:
    @pytest.mark.parametrize(
        ("viewer", "expected"),
        [
            ("owner", {"owner", "admin", "admin2", "supervisor", "operador", "operador2"}),
            ("admin", {"owner", "admin", "admin2", "supervisor", "operador", "operador2"}),
            ("supervisor", {"supervisor", "operador", "operador2"}),
            ("operador", {"operador"}),
        ],
    )
    async def test_the_list_follows_the_hierarchy(
        self,
        client: httpx.AsyncClient,
        team: dict[str, User],
        bearer: Bearer,
        viewer: str,
        expected: set[str],
    ) -> None:
        response = await client.get("/internal/users", headers=bearer(team[viewer]))

        assert response.status_code == 200, response.text
        page = response.json()
        names = {
            name
            for name, user in team.items()
            if str(user.id) in {item["id"] for item in page["items"]}
        }
        assert names == expected
        assert page["total"] == len(expected)
        assert "password_hash" not in page["items"][0]

    async def test_an_operador_cannot_read_a_colleague(
        self, client: httpx.AsyncClient, team: dict[str, User], bearer: Bearer
    ) -> None:
        response = await client.get(
            f"/internal/users/{team['operador2'].id}", headers=bearer(team["operador"])
        )
        assert_problem(response, 404, "user-not-found")

    async def test_the_list_is_paginated(
        self, client: httpx.AsyncClient, team: dict[str, User], bearer: Bearer
    ) -> None:
        first = (await client.get("/internal/users?limit=4", headers=bearer(team["owner"]))).json()
        second = (
            await client.get("/internal/users?limit=4&offset=4", headers=bearer(team["owner"]))
        ).json()

        assert (len(first["items"]), len(second["items"]), first["total"]) == (4, 2, 6)
        assert not {i["id"] for i in first["items"]} & {i["id"] for i in second["items"]}

    async def test_bad_pagination_is_422(
        self, client: httpx.AsyncClient, team: dict[str, User], bearer: Bearer
    ) -> None:
        response = await client.get("/internal/users?limit=1000", headers=bearer(team["owner"]))
        assert response.status_code == 422


class TestRoleChanges:
    async def test_an_administrador_promotes_an_operador_with_audit_and_event(
        self,
        client: httpx.AsyncClient,
        database: Database,
        team: dict[str, User],
        bearer: Bearer,
    ) -> None:
        admin, operador = team["admin"], team["operador"]

        response = await client.patch(
            f"/internal/users/{operador.id}",
            json={"role": "supervisor"},
            headers={
                **bearer(admin),
                "user-agent": "tests/1.0",
                "x-request-id": "req-42",
                "x-client-ip": "203.0.113.7",
            },
        )

        assert response.status_code == 200, response.text
        assert response.json()["role"] == "supervisor"
        [row] = await audit_rows(database, admin.company_id, "user.role_changed")
        assert (row.actor_type, row.actor_id, row.resource_id) == (
            "user",
            admin.id,
            str(operador.id),
        )
        assert (row.old_values, row.new_values) == ({"role": "operador"}, {"role": "supervisor"})
        assert (str(row.ip_address), row.user_agent, row.request_id) == (
            "203.0.113.7",
            "tests/1.0",
            "req-42",
        )
        changed = [
            e for e in await events_of(database, admin.company_id) if e.type == "user.role_changed"
        ]
        assert [(e.payload.user_id, e.payload.new_role) for e in changed] == [
            (operador.id, "supervisor")
        ]

    @pytest.mark.parametrize(
        ("actor", "target", "role", "status", "code"),
        [
            ("supervisor", "operador", "supervisor", 403, "forbidden"),
            ("operador", "operador2", "supervisor", 403, "forbidden"),
            ("admin", "admin2", "operador", 403, "forbidden"),
            ("admin", "owner", "administrador", 409, "owner-protected"),
            ("owner", "owner", "administrador", 409, "owner-protected"),
            ("admin", "admin", "operador", 409, "cannot-change-self"),
        ],
    )
    async def test_refusals(
        self,
        client: httpx.AsyncClient,
        team: dict[str, User],
        bearer: Bearer,
        actor: str,
        target: str,
        role: str,
        status: int,
        code: str,
    ) -> None:
        response = await client.patch(
            f"/internal/users/{team[target].id}", json={"role": role}, headers=bearer(team[actor])
        )
        assert_problem(response, status, code)

    async def test_nobody_is_made_owner_by_a_role_change(
        self, client: httpx.AsyncClient, team: dict[str, User], bearer: Bearer
    ) -> None:
        response = await client.patch(
            f"/internal/users/{team['admin'].id}",
            json={"role": "owner"},
            headers=bearer(team["owner"]),
        )
        assert response.status_code == 422

    async def test_the_role_in_the_database_counts_not_the_one_in_the_token(
        self,
        client: httpx.AsyncClient,
        team: dict[str, User],
        bearer: Bearer,
    ) -> None:
        stale = bearer(team["admin"])  # still says administrador after the demotion
        demoted = await client.patch(
            f"/internal/users/{team['admin'].id}",
            json={"role": "supervisor"},
            headers=bearer(team["owner"]),
        )
        assert demoted.status_code == 200

        response = await client.patch(
            f"/internal/users/{team['operador'].id}", json={"role": "supervisor"}, headers=stale
        )
        assert_problem(response, 403, "forbidden")


class TestDeactivation:
    async def test_a_deactivated_user_cannot_sign_in_and_is_kept(
        self,
        client: httpx.AsyncClient,
        database: Database,
        team: dict[str, User],
        bearer: Bearer,
    ) -> None:
        operador = team["operador"]

        response = await client.delete(
            f"/internal/users/{operador.id}", headers=bearer(team["admin"])
        )

        assert response.status_code == 200, response.text
        assert response.json()["is_active"] is False
        assert response.json()["deactivated_at"] is not None
        login = await client.post(
            "/internal/login",
            json={"email": operador.email, "password": "correct horse battery staple"},
        )
        assert login.status_code == 401
        assert len(await audit_rows(database, operador.company_id, "user.deactivated")) == 1
        # The caller's own requests with a still-valid token stop too.
        me = await client.get("/internal/users/me", headers=bearer(operador))
        assert_problem(me, 401, "unauthorized")

    async def test_the_owner_cannot_be_deactivated(
        self, client: httpx.AsyncClient, team: dict[str, User], bearer: Bearer
    ) -> None:
        response = await client.delete(
            f"/internal/users/{team['owner'].id}", headers=bearer(team["admin"])
        )
        assert_problem(response, 409, "owner-protected")

    async def test_another_companys_user_is_404(
        self,
        client: httpx.AsyncClient,
        team: dict[str, User],
        make_owner: MakeOwner,
        make_member: MakeMember,
        bearer: Bearer,
    ) -> None:
        stranger = await make_member(await make_owner(), Role.OPERADOR)

        for method, path in (
            ("DELETE", f"/internal/users/{stranger.id}"),
            ("PATCH", f"/internal/users/{stranger.id}"),
            ("GET", f"/internal/users/{stranger.id}"),
            ("POST", f"/internal/users/{stranger.id}/reactivate"),
        ):
            response = await client.request(
                method,
                path,
                json={"role": "supervisor"} if method == "PATCH" else None,
                headers=bearer(team["owner"]),
            )
            assert_problem(response, 404, "user-not-found")

    async def test_reactivation_needs_a_free_seat(
        self,
        client: httpx.AsyncClient,
        make_owner: MakeOwner,
        make_member: MakeMember,
        bearer: Bearer,
    ) -> None:
        # The starter plan allows 3 active users.
        owner = await make_owner()
        a = await make_member(owner, Role.OPERADOR)
        await make_member(owner, Role.OPERADOR)
        assert (await client.delete(f"/internal/users/{a.id}", headers=bearer(owner))).is_success
        await make_member(owner, Role.OPERADOR)

        response = await client.post(f"/internal/users/{a.id}/reactivate", headers=bearer(owner))

        body = assert_problem(response, 429, "quota-exceeded")
        assert (body["limit"], body["allowed"], body["used"]) == ("users", 3, 3)


class TestOwnership:
    async def test_the_owner_transfers_and_becomes_administrador(
        self,
        client: httpx.AsyncClient,
        database: Database,
        team: dict[str, User],
        bearer: Bearer,
    ) -> None:
        owner, admin = team["owner"], team["admin"]

        response = await client.post(
            "/internal/company/owner", json={"new_owner_id": str(admin.id)}, headers=bearer(owner)
        )

        assert response.status_code == 200, response.text
        async with database.transaction(owner.company_id) as session:
            roles = {
                user.id: user.role
                for user in await session.scalars(
                    select(User).where(User.id.in_([owner.id, admin.id]))
                )
            }
        assert roles == {owner.id: "administrador", admin.id: "owner"}
        assert (
            len(await audit_rows(database, owner.company_id, "company.ownership_transferred")) == 1
        )

    async def test_only_the_owner_transfers(
        self, client: httpx.AsyncClient, team: dict[str, User], bearer: Bearer
    ) -> None:
        response = await client.post(
            "/internal/company/owner",
            json={"new_owner_id": str(team["admin2"].id)},
            headers=bearer(team["admin"]),
        )
        assert_problem(response, 403, "forbidden")

    async def test_the_database_refuses_a_second_owner_or_none(
        self, database: Database, team: dict[str, User]
    ) -> None:
        from sqlalchemy import update
        from sqlalchemy.exc import IntegrityError

        owner, admin = team["owner"], team["admin"]
        with pytest.raises(IntegrityError, match="uq_users_one_owner"):
            async with database.transaction(owner.company_id) as session:
                await session.execute(update(User).where(User.id == admin.id).values(role="owner"))
        with pytest.raises(IntegrityError, match="exactly one active owner"):
            async with database.transaction(owner.company_id) as session:
                await session.execute(
                    update(User).where(User.id == owner.id).values(role="administrador")
                )


async def test_an_unknown_user_id_is_404(
    client: httpx.AsyncClient, make_owner: MakeOwner, bearer: Bearer
) -> None:
    owner = await make_owner()
    response = await client.get(f"/internal/users/{uuid4()}", headers=bearer(owner))
    assert_problem(response, 404, "user-not-found")
