"""The caller's company through the internal routes: its details and usage, and renaming it
with its audit row."""

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from common.auth import Role
from common.db import Database
from tenants.accounts.models import Company, User
from tenants.audit.models import AuditLog
from tenants.companies import service
from tenants.plans import LIMITS, Plan

MakeOwner = Callable[..., Awaitable[User]]
MakeMember = Callable[..., Awaitable[User]]
Bearer = Callable[[User], dict[str, str]]
SetCompany = Callable[..., Awaitable[None]]
ReadCompany = Callable[..., Awaitable[Any]]

STARTER = LIMITS[Plan.STARTER]


async def audit_rows(database: Database, company_id: UUID) -> list[AuditLog]:
    async with database.transaction(company_id) as session:
        rows = await session.scalars(select(AuditLog).where(AuditLog.action == "company.updated"))
        return list(rows)


class TestReadCompany:
    async def test_any_role_sees_its_company_and_usage_against_the_limits(
        self,
        client: httpx.AsyncClient,
        database: Database,
        make_owner: MakeOwner,
        make_member: MakeMember,
        bearer: Bearer,
        set_company: SetCompany,
    ) -> None:
        owner = await make_owner(company_name="Acme Ibérica")
        operador = await make_member(owner, Role.OPERADOR)
        inactive = await make_member(owner, Role.SUPERVISOR)
        await set_company(
            owner.company_id,
            messages_used=7,
            storage_bytes_used=1234,
            document_characters_used=4321,
        )
        async with database.transaction(owner.company_id) as session:
            (await session.get_one(User, inactive.id)).is_active = False

        response = await client.get("/internal/company", headers=bearer(operador))

        assert response.status_code == 200, response.text
        body = response.json()
        first_of_month = datetime.now(UTC).date().replace(day=1)
        assert body["id"] == str(owner.company_id)
        assert body["name"] == "Acme Ibérica"
        assert body["slug"].startswith("acme-iberica")
        assert (body["plan"], body["status"], body["subscription_status"]) == (
            "starter",
            "active",
            "active",
        )
        assert body["usage"] == {
            "messages": {
                "used": 7,
                "allowed": STARTER.monthly_message_limit,
                "period_start": first_of_month.isoformat(),
                "resets_at": service.next_month(first_of_month).isoformat().replace("+00:00", "Z"),
            },
            "users": {"used": 2, "allowed": STARTER.user_limit},
            "storage": {
                "used_bytes": 1234,
                "allowed_bytes": (STARTER.storage_mb_limit or 0) * service.BYTES_PER_MB,
            },
            "document_characters": {"used": 4321, "allowed": STARTER.document_character_limit},
            "assistants": {"allowed": STARTER.assistant_limit},
        }

    async def test_last_months_messages_read_as_none_used_and_unlimited_as_null(
        self,
        client: httpx.AsyncClient,
        make_owner: MakeOwner,
        bearer: Bearer,
        set_company: SetCompany,
    ) -> None:
        owner = await make_owner()
        await set_company(
            owner.company_id,
            plan=Plan.ENTERPRISE.value,
            **LIMITS[Plan.ENTERPRISE].columns(),
            messages_used=99,
            usage_period_start=datetime(2020, 1, 1).date(),
        )

        usage = (await client.get("/internal/company", headers=bearer(owner))).json()["usage"]

        assert usage["messages"]["used"] == 0
        assert usage["messages"]["allowed"] is None
        assert usage["storage"]["allowed_bytes"] is None
        assert usage["users"]["allowed"] is None


class TestUpdateCompany:
    async def test_an_owner_renames_the_company_and_the_slug_stays(
        self,
        client: httpx.AsyncClient,
        database: Database,
        make_owner: MakeOwner,
        bearer: Bearer,
        read_company: ReadCompany,
    ) -> None:
        owner = await make_owner(company_name="Old Name")
        slug = (await read_company(owner.company_id)).slug

        response = await client.patch(
            "/internal/company",
            headers={**bearer(owner), "x-client-ip": "203.0.113.9", "x-request-id": "req-1"},
            json={"name": "  New Name  "},
        )

        assert response.status_code == 200, response.text
        assert (response.json()["name"], response.json()["slug"]) == ("New Name", slug)
        assert "usage" in response.json()
        (row,) = await audit_rows(database, owner.company_id)
        assert (row.actor_type, row.actor_id) == ("user", owner.id)
        assert (row.resource_type, row.resource_id) == ("company", str(owner.company_id))
        assert (row.old_values, row.new_values) == ({"name": "Old Name"}, {"name": "New Name"})
        assert (str(row.ip_address), row.request_id) == ("203.0.113.9", "req-1")

        same = await client.patch(
            "/internal/company", headers=bearer(owner), json={"name": "New Name"}
        )
        assert same.status_code == 200
        assert len(await audit_rows(database, owner.company_id)) == 1

    async def test_an_operador_may_not_rename_the_company(
        self,
        client: httpx.AsyncClient,
        database: Database,
        make_owner: MakeOwner,
        make_member: MakeMember,
        bearer: Bearer,
        read_company: ReadCompany,
    ) -> None:
        owner = await make_owner(company_name="Kept Name")
        operador = await make_member(owner, Role.OPERADOR)

        response = await client.patch(
            "/internal/company", headers=bearer(operador), json={"name": "Taken Over"}
        )

        assert response.status_code == 403
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["permission"] == "company:manage"
        assert (await read_company(owner.company_id)).name == "Kept Name"
        assert await audit_rows(database, owner.company_id) == []

    async def test_a_blank_name_or_a_slug_is_a_422(
        self, client: httpx.AsyncClient, make_owner: MakeOwner, bearer: Bearer
    ) -> None:
        owner = await make_owner()
        for body in ({"name": "   "}, {"name": "Ok", "slug": "mine"}, {}):
            response = await client.patch("/internal/company", headers=bearer(owner), json=body)
            assert response.status_code == 422, body


class TestLockCompany:
    async def test_locks_the_row_and_counts_active_users(
        self, database: Database, make_owner: MakeOwner, make_member: MakeMember
    ) -> None:
        owner = await make_owner()
        await make_member(owner, Role.OPERADOR)
        async with database.transaction(owner.company_id) as session:
            company = await service.lock_company(session, owner.company_id)
            assert company.id == owner.company_id
            assert await service.active_user_count(session, owner.company_id) == 2
            with pytest.raises(DBAPIError, match="could not obtain lock"):
                async with database.transaction(owner.company_id) as other:
                    await other.execute(
                        select(Company.id)
                        .where(Company.id == owner.company_id)
                        .with_for_update(nowait=True)
                    )
