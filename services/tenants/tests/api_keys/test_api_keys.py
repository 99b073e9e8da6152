"""API keys through the tenants service's internal routes: created by managers and shown once,
listed without the key, revoked, and exchanged for a token with the key's scopes, against the
real Postgres as the application role."""

import hashlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from sqlalchemy import select, update

from common.auth import Role
from common.db import Database
from devstack.client import assert_problem
from tenants.accounts.models import Company, User
from tenants.api_keys.models import ApiKey
from tenants.audit.models import AuditLog
from tenants.state import TenantsState

MakeOwner = Callable[..., Awaitable[User]]
MakeMember = Callable[..., Awaitable[User]]
Bearer = Callable[[User], dict[str, str]]
KEYS = "/internal/api-keys"


def key_body(**overrides: Any) -> dict[str, Any]:
    return {"name": "ERP sync", "scopes": ["documents:read", "documents:write"]} | overrides


@pytest.fixture
async def owner(make_owner: MakeOwner) -> User:
    return await make_owner()


@pytest.fixture
def create_key(client: httpx.AsyncClient, bearer: Bearer) -> Callable[..., Awaitable[Any]]:
    async def create_key(user: User, **overrides: Any) -> Any:
        response = await client.post(KEYS, json=key_body(**overrides), headers=bearer(user))
        assert response.status_code == 201, response.text
        return response.json()

    return create_key


CreateKey = Callable[..., Awaitable[Any]]


async def authenticate(client: httpx.AsyncClient, key: str) -> httpx.Response:
    return await client.post(f"{KEYS}/authenticate", json={"key": key})


async def audit_rows(database: Database, company_id: UUID, action: str) -> list[AuditLog]:
    async with database.transaction(company_id) as session:
        return list(await session.scalars(select(AuditLog).where(AuditLog.action == action)))


async def change_key(database: Database, company_id: UUID, key_id: str, **values: Any) -> None:
    async with database.transaction(company_id) as session:
        await session.execute(update(ApiKey).where(ApiKey.id == UUID(key_id)).values(values))


async def read_key(database: Database, company_id: UUID, key_id: str) -> ApiKey:
    async with database.transaction(company_id) as session:
        return await session.get_one(ApiKey, UUID(key_id))


class TestCreate:
    @pytest.mark.parametrize("role", [Role.OWNER, Role.ADMINISTRADOR])
    async def test_a_manager_gets_the_key_once_and_the_list_never_shows_it(
        self,
        client: httpx.AsyncClient,
        owner: User,
        make_member: MakeMember,
        bearer: Bearer,
        database: Database,
        role: Role,
    ) -> None:
        creator = owner if role is Role.OWNER else await make_member(owner, role)

        response = await client.post(
            KEYS,
            json=key_body(rate_limit_per_minute=5, scopes=["questions:ask", "questions:ask"]),
            headers=bearer(creator),
        )

        assert response.status_code == 201, response.text
        created = response.json()
        key = created["key"]
        assert key.startswith("kp_")
        assert len(key) > 50
        assert created["prefix"] == key[:11]
        assert created["scopes"] == ["questions:ask"]
        assert created["rate_limit_per_minute"] == 5
        assert created["created_by"] == str(creator.id)
        stored = await read_key(database, owner.company_id, created["id"])
        assert stored.key_hash == hashlib.sha256(key.encode()).hexdigest()

        listed = await client.get(KEYS, headers=bearer(owner))
        assert listed.status_code == 200, listed.text
        page = listed.json()
        assert page["total"] == 1
        assert page["items"][0]["id"] == created["id"]
        assert page["items"][0]["prefix"] == created["prefix"]
        assert "key" not in page["items"][0]
        assert "key_hash" not in page["items"][0]
        assert key[11:] not in listed.text
        assert stored.key_hash not in listed.text

        [entry] = await audit_rows(database, owner.company_id, "api_key.created")
        assert (entry.actor_id, entry.resource_id) == (creator.id, created["id"])
        assert entry.new_values is not None
        assert entry.new_values["prefix"] == created["prefix"]
        assert key[11:] not in str(entry.new_values)

    @pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.OPERADOR])
    async def test_supervisors_and_operadores_cannot_manage_keys(
        self,
        client: httpx.AsyncClient,
        owner: User,
        make_member: MakeMember,
        bearer: Bearer,
        create_key: CreateKey,
        role: Role,
    ) -> None:
        member = await make_member(owner, role)
        existing = await create_key(owner)

        for method, path in (
            ("POST", KEYS),
            ("GET", KEYS),
            ("DELETE", f"{KEYS}/{existing['id']}"),
        ):
            response = await client.request(
                method, path, json=key_body() if method == "POST" else None, headers=bearer(member)
            )
            assert_problem(response, 403, "forbidden")

    async def test_a_demoted_administrador_is_refused_by_the_database_role(
        self,
        client: httpx.AsyncClient,
        owner: User,
        make_member: MakeMember,
        bearer: Bearer,
        database: Database,
    ) -> None:
        admin = await make_member(owner, Role.ADMINISTRADOR)
        headers = bearer(admin)  # still says administrador
        async with database.transaction(owner.company_id) as session:
            await session.execute(update(User).where(User.id == admin.id).values(role="supervisor"))

        assert_problem(await client.post(KEYS, json=key_body(), headers=headers), 403, "forbidden")

    async def test_an_api_key_cannot_create_keys(
        self, client: httpx.AsyncClient, owner: User, create_key: CreateKey
    ) -> None:
        key = (await create_key(owner, scopes=["documents:read", "company:read"]))["key"]
        token = (await authenticate(client, key)).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}

        assert_problem(await client.post(KEYS, json=key_body(), headers=headers), 403, "forbidden")
        assert_problem(await client.get(KEYS, headers=headers), 403, "forbidden")

    @pytest.mark.parametrize(
        "overrides",
        [
            {"scopes": []},
            {"scopes": ["users:manage"]},
            {"scopes": ["documents:read", "api_keys:manage"]},
            {"scopes": "documents:read"},
            {"name": "  "},
            {"rate_limit_per_minute": 0},
            {"expires_at": "2099-01-01T00:00:00"},  # no time zone
            {"key": "kp_mine"},
        ],
    )
    async def test_bad_input_is_a_422(
        self, client: httpx.AsyncClient, owner: User, bearer: Bearer, overrides: dict[str, Any]
    ) -> None:
        response = await client.post(KEYS, json=key_body(**overrides), headers=bearer(owner))

        assert_problem(response, 422, "validation-error")

    async def test_an_expiry_in_the_past_is_a_422(
        self, client: httpx.AsyncClient, owner: User, bearer: Bearer
    ) -> None:
        past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()

        response = await client.post(KEYS, json=key_body(expires_at=past), headers=bearer(owner))

        assert_problem(response, 422, "invalid-expiry")


class TestRevoke:
    async def test_a_revoked_key_is_listed_as_revoked_and_refused(
        self,
        client: httpx.AsyncClient,
        owner: User,
        bearer: Bearer,
        create_key: CreateKey,
        database: Database,
    ) -> None:
        created = await create_key(owner)
        assert (await authenticate(client, created["key"])).status_code == 200

        for _ in range(2):  # the second time changes nothing
            response = await client.delete(f"{KEYS}/{created['id']}", headers=bearer(owner))
            assert response.status_code == 204, response.text

        assert_problem(await authenticate(client, created["key"]), 401, "invalid-api-key")
        [item] = (await client.get(KEYS, headers=bearer(owner))).json()["items"]
        assert item["revoked_at"] is not None
        [entry] = await audit_rows(database, owner.company_id, "api_key.revoked")
        assert (entry.actor_id, entry.resource_id) == (owner.id, created["id"])

    async def test_another_companys_key_or_an_unknown_one_is_a_404(
        self,
        client: httpx.AsyncClient,
        owner: User,
        make_owner: MakeOwner,
        bearer: Bearer,
        create_key: CreateKey,
    ) -> None:
        theirs = await create_key(await make_owner())

        for key_id in (theirs["id"], str(uuid4())):
            response = await client.delete(f"{KEYS}/{key_id}", headers=bearer(owner))
            assert_problem(response, 404, "api-key-not-found")
        assert (await authenticate(client, theirs["key"])).status_code == 200
        assert (await client.get(KEYS, headers=bearer(owner))).json()["total"] == 0


class TestAuthenticate:
    async def test_a_key_gets_a_token_with_its_scopes_that_the_routes_honour(
        self,
        client: httpx.AsyncClient,
        owner: User,
        create_key: CreateKey,
        state: TenantsState,
        database: Database,
    ) -> None:
        created = await create_key(owner, scopes=["company:read"], rate_limit_per_minute=7)

        response = await authenticate(client, created["key"])

        assert response.status_code == 200, response.text
        answer = response.json()
        assert answer["key_id"] == created["id"]
        assert answer["company_id"] == str(owner.company_id)
        assert answer["scopes"] == ["company:read"]
        assert answer["rate_limit_per_minute"] == 7
        assert 0 < answer["expires_in"] <= 120
        identity = await state.verifier.verify(answer["access_token"])
        assert identity.is_api_key
        assert (identity.user_id, identity.company_id) == (UUID(created["id"]), owner.company_id)
        assert identity.role is Role.OPERADOR
        assert identity.scopes == frozenset({"company:read"})

        headers = {"Authorization": f"Bearer {answer['access_token']}"}
        assert (await client.get("/internal/company", headers=headers)).status_code == 200
        # An operador may ask questions; this key may not.
        assert_problem(
            await client.post("/internal/usage/messages", headers=headers), 403, "forbidden"
        )

    async def test_last_used_is_written_at_most_once_a_minute(
        self, client: httpx.AsyncClient, owner: User, create_key: CreateKey, database: Database
    ) -> None:
        created = await create_key(owner)
        assert (await read_key(database, owner.company_id, created["id"])).last_used_at is None

        await authenticate(client, created["key"])
        first = (await read_key(database, owner.company_id, created["id"])).last_used_at
        await authenticate(client, created["key"])
        second = (await read_key(database, owner.company_id, created["id"])).last_used_at
        assert first is not None
        assert second == first

        await change_key(
            database, owner.company_id, created["id"], last_used_at=first - timedelta(minutes=2)
        )
        await authenticate(client, created["key"])
        third = (await read_key(database, owner.company_id, created["id"])).last_used_at
        assert third is not None
        assert third >= first

    async def test_an_expired_key_is_refused_and_a_soon_expiring_one_gets_a_shorter_token(
        self, client: httpx.AsyncClient, owner: User, create_key: CreateKey, database: Database
    ) -> None:
        soon = (datetime.now(UTC) + timedelta(seconds=30)).isoformat()
        created = await create_key(owner, expires_at=soon)

        response = await authenticate(client, created["key"])
        assert response.status_code == 200, response.text
        assert response.json()["expires_in"] <= 30

        await change_key(
            database,
            owner.company_id,
            created["id"],
            expires_at=datetime.now(UTC) - timedelta(seconds=1),
        )
        assert_problem(await authenticate(client, created["key"]), 401, "invalid-api-key")

    async def test_a_suspended_companys_key_is_refused(
        self, client: httpx.AsyncClient, owner: User, create_key: CreateKey, database: Database
    ) -> None:
        created = await create_key(owner)
        async with database.transaction(owner.company_id) as session:
            await session.execute(
                update(Company).where(Company.id == owner.company_id).values(status="suspended")
            )

        assert_problem(await authenticate(client, created["key"]), 401, "invalid-api-key")

    @pytest.mark.parametrize(
        "key",
        [
            "kp_0123abcd_" + "A" * 43,  # well formed, unknown
            "kp_nothex!!_" + "A" * 43,
            "not-a-key",
            "",
        ],
    )
    async def test_an_unknown_or_malformed_key_is_refused(
        self, client: httpx.AsyncClient, key: str
    ) -> None:
        response = await authenticate(client, key)

        assert_problem(response, 401, "invalid-api-key")
        assert response.headers["www-authenticate"] == "Bearer"
