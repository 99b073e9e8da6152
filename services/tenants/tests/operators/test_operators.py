"""Platform operators: created by the CLI, signed in with their own audience, and what they do
to companies (create, change plan, suspend, reactivate), each audited and announced."""

from collections.abc import Awaitable, Callable
from uuid import UUID, uuid4

import httpx
import pytest
from sqlalchemy import select

from common.auth import Role
from common.db import Database
from common.events import decode_event
from devstack.client import assert_problem
from tenants.accounts.models import Company, User
from tenants.audit.models import AuditLog
from tenants.db import outbox
from tenants.operators import cli
from tenants.settings import TenantsSettings
from tenants.state import TenantsState

MakeOwner = Callable[..., Awaitable[User]]
OPERATOR_PASSWORD = "operator password 1"


@pytest.fixture
async def operator_email(
    settings: TenantsSettings, state: TenantsState, monkeypatch: pytest.MonkeyPatch
) -> str:
    email = f"ops-{uuid4().hex[:8]}@platform.example"
    monkeypatch.setenv("OPERATOR_PASSWORD", OPERATOR_PASSWORD)
    assert await cli.run(["create", "--email", email], settings) == 0
    return email


@pytest.fixture
async def operator(client: httpx.AsyncClient, operator_email: str) -> dict[str, str]:
    response = await client.post(
        "/internal/admin/login", json={"email": operator_email, "password": OPERATOR_PASSWORD}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def tenant_headers(state: TenantsState, user: User) -> dict[str, str]:
    token = state.tokens.access_token(
        user_id=user.id, company_id=user.company_id, role=Role(user.role)
    )
    return {"Authorization": f"Bearer {token}"}


async def company_events(database: Database, company_id: UUID) -> list[str]:
    async with database.transaction(company_id) as session:
        return [
            decode_event(body).type
            for body in await session.scalars(select(outbox.c.body).order_by(outbox.c.sequence))
        ]


async def test_the_cli_refuses_a_second_operator_with_the_same_email(
    settings: TenantsSettings, operator_email: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await cli.run(["create", "--email", operator_email.upper()], settings) == 1
    assert await cli.run(["list"], settings) == 0
    assert operator_email in capsys.readouterr().out


async def test_a_wrong_password_or_deactivated_operator_is_401(
    client: httpx.AsyncClient,
    settings: TenantsSettings,
    operator_email: str,
    operator: dict[str, str],
) -> None:
    wrong = await client.post(
        "/internal/admin/login", json={"email": operator_email, "password": "nope-nope-nope"}
    )
    assert_problem(wrong, 401, "invalid-credentials")

    assert await cli.run(["deactivate", "--email", operator_email], settings) == 0

    # The token already held stops working at once.
    assert_problem(
        await client.get("/internal/admin/companies", headers=operator), 401, "unauthorized"
    )


async def test_tokens_do_not_cross_between_tenants_and_operators(
    client: httpx.AsyncClient, state: TenantsState, make_owner: MakeOwner, operator: dict[str, str]
) -> None:
    owner = await make_owner()

    as_tenant = await client.get("/internal/admin/companies", headers=tenant_headers(state, owner))
    as_operator = await client.get("/internal/users", headers=operator)

    assert_problem(as_tenant, 401, "unauthorized")
    assert_problem(as_operator, 401, "unauthorized")


async def test_operators_list_every_company_and_filter(
    client: httpx.AsyncClient, database: Database, make_owner: MakeOwner, operator: dict[str, str]
) -> None:
    marker = uuid4().hex[:10]
    first = await make_owner(company_name=f"Zeta {marker} Uno")
    second = await make_owner(company_name=f"Zeta {marker} Dos")

    found = await client.get(f"/internal/admin/companies?q={marker}", headers=operator)

    assert found.status_code == 200, found.text
    assert {item["id"] for item in found.json()["items"]} == {
        str(first.company_id),
        str(second.company_id),
    }
    paged = await client.get(f"/internal/admin/companies?q={marker}&limit=1", headers=operator)
    assert (paged.json()["total"], len(paged.json()["items"])) == (2, 1)
    bad = await client.get("/internal/admin/companies?status=sleeping", headers=operator)
    assert bad.status_code == 422


async def test_an_operator_creates_a_company_whose_owner_joins_by_invitation(
    client: httpx.AsyncClient, database: Database, operator: dict[str, str]
) -> None:
    created = await client.post(
        "/internal/admin/companies",
        json={"name": "Eta Transportes", "plan": "business", "owner_email": "boss@eta.example"},
        headers=operator,
    )
    assert created.status_code == 201, created.text
    company = created.json()
    assert (company["plan"], company["user_limit"]) == ("business", 15)

    joined = await client.post(
        f"/internal/invitations/{company['owner_invitation_token']}/accept",
        json={"first_name": "Eva", "last_name": "Perón", "password": "a-long-password-1"},
    )

    assert joined.status_code == 201, joined.text
    async with database.transaction(UUID(company["id"])) as session:
        owner = await session.get_one(User, UUID(joined.json()["user_id"]))
        [entry] = await session.scalars(
            select(AuditLog).where(AuditLog.action == "company.created")
        )
    assert owner.role == "owner"
    assert entry.actor_type == "operator"
    assert "company.created" in await company_events(database, UUID(company["id"]))


async def test_a_plan_change_moves_the_limits_with_audit_and_event(
    client: httpx.AsyncClient, database: Database, make_owner: MakeOwner, operator: dict[str, str]
) -> None:
    owner = await make_owner()

    response = await client.patch(
        f"/internal/admin/companies/{owner.company_id}",
        json={"plan": "enterprise"},
        headers=operator,
    )

    assert response.status_code == 200, response.text
    assert (response.json()["plan"], response.json()["monthly_message_limit"]) == (
        "enterprise",
        None,
    )
    async with database.transaction(owner.company_id) as session:
        company = await session.get_one(Company, owner.company_id)
        [entry] = await session.scalars(
            select(AuditLog).where(AuditLog.action == "company.plan_changed")
        )
    assert (company.plan, company.user_limit) == ("enterprise", None)
    assert (entry.old_values or {})["plan"] == "starter"
    assert "company.plan_changed" in await company_events(database, owner.company_id)


async def test_a_downgrade_below_this_months_usage_is_409(
    client: httpx.AsyncClient, database: Database, make_owner: MakeOwner, operator: dict[str, str]
) -> None:
    owner = await make_owner()
    async with database.transaction(owner.company_id) as session:
        company = await session.get_one(Company, owner.company_id)
        company.messages_used = 1000  # over the free plan's 500

    response = await client.patch(
        f"/internal/admin/companies/{owner.company_id}", json={"plan": "free"}, headers=operator
    )

    assert_problem(response, 409, "usage-above-plan")


async def test_suspension_stops_the_companys_tokens_at_once_and_reactivation_restores_them(
    client: httpx.AsyncClient,
    database: Database,
    state: TenantsState,
    make_owner: MakeOwner,
    operator: dict[str, str],
) -> None:
    owner = await make_owner(password="a-long-password-1")
    headers = tenant_headers(state, owner)
    assert (await client.get("/internal/users", headers=headers)).status_code == 200

    suspended = await client.patch(
        f"/internal/admin/companies/{owner.company_id}",
        json={"status": "suspended", "reason": "unpaid invoices"},
        headers=operator,
    )

    assert suspended.status_code == 200, suspended.text
    assert_problem(await client.get("/internal/users", headers=headers), 403, "company-suspended")
    login = await client.post(
        "/internal/login", json={"email": owner.email, "password": "a-long-password-1"}
    )
    assert login.status_code == 401

    reactivated = await client.patch(
        f"/internal/admin/companies/{owner.company_id}",
        json={"status": "active"},
        headers=operator,
    )
    assert reactivated.status_code == 200, reactivated.text
    assert (await client.get("/internal/users", headers=headers)).status_code == 200
    events = await company_events(database, owner.company_id)
    assert events[-2:] == ["company.suspended", "company.reactivated"]


async def test_an_unknown_company_is_404_and_an_empty_change_is_422(
    client: httpx.AsyncClient, operator: dict[str, str]
) -> None:
    missing = await client.patch(
        f"/internal/admin/companies/{uuid4()}", json={"plan": "free"}, headers=operator
    )
    assert_problem(missing, 404, "company-not-found")
    empty = await client.patch(f"/internal/admin/companies/{uuid4()}", json={}, headers=operator)
    assert_problem(empty, 422, "nothing-to-change")


async def test_an_operator_tailors_one_companys_limits(
    client: httpx.AsyncClient, database: Database, make_owner: MakeOwner, operator: dict[str, str]
) -> None:
    owner = await make_owner()

    response = await client.patch(
        f"/internal/admin/companies/{owner.company_id}",
        json={"limits": {"monthly_message_limit": 10, "storage_mb_limit": None}},
        headers=operator,
    )

    assert response.status_code == 200, response.text
    company = response.json()
    assert (company["plan"], company["monthly_message_limit"], company["storage_mb_limit"]) == (
        "starter",
        10,
        None,
    )
    assert company["user_limit"] == 3  # untouched: the plan's
    async with database.transaction(owner.company_id) as session:
        [entry] = await session.scalars(
            select(AuditLog).where(AuditLog.action == "company.limits_changed")
        )
        [body] = await session.scalars(
            select(outbox.c.body).order_by(outbox.c.sequence.desc()).limit(1)
        )
    assert (entry.new_values or {})["monthly_message_limit"] == 10
    announced = decode_event(body)
    assert announced.type == "company.plan_changed"
    assert announced.payload.limits.monthly_message_limit == 10
    below = await client.patch(
        f"/internal/admin/companies/{owner.company_id}",
        json={"limits": {"monthly_message_limit": -1}},
        headers=operator,
    )
    assert below.status_code == 422
