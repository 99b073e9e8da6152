"""API keys at the gateway: the key exchanged at the real tenants service (its ASGI app, on the
real Postgres as the application role), the cache that spares that exchange, the per-key rate
limit, and the permissions a key's scopes give on the gateway's routes.

The gateway's clock is a test clock, so that "after the cache" and "a minute later" need no
waiting; everything else is real but the broker, which these routes never reach.
"""

import hashlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update
from starlette.requests import Request

from common.auth import TokenVerifier
from common.blobs import LocalBlobStore
from common.bus import create_broker
from common.db import Database
from common.db.alembic import upgrade
from common.problems import Problem
from common.service_app import Runtime
from common.suspensions import Suspensions
from devstack.client import assert_problem
from devstack.keys import ensure_signing_key
from devstack.pytest_plugin import migrations_dir, service_database_urls
from gateway.auth.api_keys import CACHE_SECONDS, ApiKeys, RateLimiter, presented_api_key
from gateway.dependencies import Gateway
from gateway.documents.status import StatusHub
from gateway.main import create_app
from gateway.questions.waiter import AnswerWaiter
from gateway.settings import GatewaySettings
from gateway.upstream import Upstream
from ingest.main import create_app as create_ingest_app
from ingest.settings import IngestSettings
from tenants.accounts.models import Company
from tenants.api_keys.models import ApiKey
from tenants.main import create_app as create_tenants_app
from tenants.settings import TenantsSettings
from tenants.state import TenantsState, attach_state, build_state

KEYS = "/v1/api-keys"
PASSWORD = "a-long-password-1"
# No service listens here: a route that reached query would answer 503.
NOWHERE = "http://127.0.0.1:9"


class ManualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Account:
    company_id: UUID
    user_id: UUID
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


# --- the real tenants service, in process ----------------------------------------------------


@pytest.fixture(scope="session")
def tenants_settings(
    test_database: str, tmp_path_factory: pytest.TempPathFactory
) -> TenantsSettings:
    urls = service_database_urls("tenants", test_database)
    upgrade(migrations_dir("tenants"), urls["MIGRATION_DATABASE_URL"])
    return TenantsSettings(
        database_url=urls["DATABASE_URL"],
        migration_database_url=urls["MIGRATION_DATABASE_URL"],
        token_signing_key_file=ensure_signing_key(
            tmp_path_factory.mktemp("gateway-keys") / "token-signing.pem"
        ),
    )


@pytest.fixture(scope="session")
async def tenants_state(tenants_settings: TenantsSettings) -> AsyncIterator[TenantsState]:
    state = build_state(tenants_settings)
    yield state
    await state.close()


@pytest.fixture(scope="session")
def tenants_app(tenants_state: TenantsState) -> FastAPI:
    app = create_tenants_app(tenants_state.settings)
    attach_state(app, tenants_state)
    return app


@pytest.fixture(scope="session")
async def ingest_app(
    migrated_database: dict[str, dict[str, str]], tenants_state: TenantsState
) -> AsyncIterator[FastAPI]:
    """The real ingest app in process, for the document usage the company read includes; its
    lifespan (broker, model) is not run, as these routes need only its database."""
    settings = IngestSettings(database_url=migrated_database["ingest"]["DATABASE_URL"])
    app = create_ingest_app(settings)
    app.state.runtime = Runtime(
        settings=settings,
        database=Database(settings.database_url, pool_size=2),
        broker=create_broker(settings),
        verifier=TokenVerifier(
            issuer=settings.token_issuer,
            audience=settings.token_audience,
            jwks=tenants_state.tokens.jwks().model_dump(),
        ),
    )
    yield app
    await app.state.runtime.database.dispose()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def gateway_state(
    tenants_app: FastAPI,
    tenants_state: TenantsState,
    ingest_app: FastAPI,
    clock: ManualClock,
    tmp_path: Path,
) -> AsyncIterator[Gateway]:
    """What the gateway's lifespan would build, its tenants and ingest upstreams being the
    real apps in process."""
    settings = GatewaySettings(ingest_url=NOWHERE, query_url=NOWHERE)
    tokens = tenants_state.settings
    verifier = TokenVerifier(
        issuer=tokens.token_issuer,
        audience=tokens.token_audience,
        jwks=tenants_state.tokens.jwks().model_dump(),
    )
    tenants = Upstream("tenants", "http://tenants", 10.0)
    await tenants.client.aclose()
    tenants.client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=tenants_app), base_url="http://tenants"
    )
    ingest = Upstream("ingest", "http://ingest", 10.0)
    await ingest.client.aclose()
    ingest.client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=ingest_app), base_url="http://ingest"
    )
    yield Gateway(
        settings=settings,
        broker=create_broker(settings),
        verifier=verifier,
        blobs=LocalBlobStore(tmp_path),
        answers=AnswerWaiter(),
        statuses=StatusHub(),
        tenants=tenants,
        ingest=ingest,
        query=Upstream("query", NOWHERE, 2.0),
        operator_verifier=verifier,
        suspensions=Suspensions(),
        api_keys=ApiKeys(tenants, verifier, clock=clock),
    )
    await tenants.close()
    await ingest.close()


@pytest.fixture
async def api(gateway_state: Gateway) -> AsyncIterator[httpx.AsyncClient]:
    """The gateway's public API."""
    app = create_app(gateway_state.settings)
    app.state.gateway = gateway_state
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        yield client


@pytest.fixture
def signup(api: httpx.AsyncClient) -> Callable[[], Awaitable[Account]]:
    async def signup() -> Account:
        unique = uuid.uuid4().hex[:10]
        response = await api.post(
            "/v1/auth/signup",
            json={
                "company_name": f"Keys {unique}",
                "email": f"owner-{unique}@example.com",
                "password": PASSWORD,
                "first_name": "Ana",
                "last_name": "García",
            },
        )
        assert response.status_code == 201, response.text
        body = response.json()
        return Account(UUID(body["company_id"]), UUID(body["user_id"]), body["access_token"])

    return signup


@pytest.fixture
async def owner(signup: Callable[[], Awaitable[Account]]) -> Account:
    return await signup()


async def join(api: httpx.AsyncClient, owner: Account, role: str) -> Account:
    invited = await api.post(
        "/v1/users/invitations",
        json={"email": f"{role}-{uuid.uuid4().hex[:8]}@example.com", "role": role},
        headers=owner.headers,
    )
    assert invited.status_code == 201, invited.text
    accepted = await api.post(
        f"/v1/invitations/{invited.json()['token']}/accept",
        json={"first_name": "Rosa", "last_name": "Parks", "password": PASSWORD},
    )
    assert accepted.status_code == 201, accepted.text
    body = accepted.json()
    return Account(UUID(body["company_id"]), UUID(body["user_id"]), body["access_token"])


async def create_key(api: httpx.AsyncClient, owner: Account, **overrides: Any) -> dict[str, Any]:
    body = {"name": "integration", "scopes": ["company:read"]} | overrides
    response = await api.post(KEYS, json=body, headers=owner.headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def key_header(created: dict[str, Any]) -> dict[str, str]:
    return {"X-API-Key": created["key"]}


async def change_at_tenants(tenants_state: TenantsState, company_id: UUID, statement: Any) -> None:
    async with tenants_state.database.transaction(company_id) as session:
        await session.execute(statement)


# --- through the gateway's routes ------------------------------------------------------------


class TestManagingKeys:
    async def test_the_key_is_shown_once_and_never_listed(
        self, api: httpx.AsyncClient, owner: Account
    ) -> None:
        created = await create_key(api, owner, scopes=["documents:read", "questions:ask"])

        assert created["key"].startswith(created["prefix"] + "_")
        listed = await api.get(KEYS, headers=owner.headers)
        assert listed.status_code == 200, listed.text
        assert [item["id"] for item in listed.json()["items"]] == [created["id"]]
        assert created["key"] not in listed.text
        assert hashlib.sha256(created["key"].encode()).hexdigest() not in listed.text

    @pytest.mark.parametrize("role", ["supervisor", "operador"])
    async def test_supervisors_and_operadores_cannot_create_keys(
        self, api: httpx.AsyncClient, owner: Account, role: str
    ) -> None:
        member = await join(api, owner, role)

        response = await api.post(
            KEYS, json={"name": "mine", "scopes": ["documents:read"]}, headers=member.headers
        )

        assert_problem(response, 403, "forbidden")

    async def test_a_key_cannot_manage_keys(self, api: httpx.AsyncClient, owner: Account) -> None:
        created = await create_key(api, owner, scopes=sorted(["documents:read", "company:read"]))

        for method in ("GET", "POST"):
            response = await api.request(
                method,
                KEYS,
                json={"name": "x", "scopes": ["company:read"]},
                headers=key_header(created),
            )
            assert_problem(response, 403, "forbidden")

    async def test_another_companys_key_cannot_be_revoked(
        self, api: httpx.AsyncClient, owner: Account, signup: Callable[[], Awaitable[Account]]
    ) -> None:
        theirs = await create_key(api, await signup())

        response = await api.delete(f"{KEYS}/{theirs['id']}", headers=owner.headers)

        assert_problem(response, 404, "api-key-not-found")
        assert (await api.get("/v1/company", headers=key_header(theirs))).status_code == 200

    async def test_bad_scopes_are_a_422(self, api: httpx.AsyncClient, owner: Account) -> None:
        for scopes in ([], ["users:manage"], ["api_keys:manage"]):
            response = await api.post(
                KEYS, json={"name": "x", "scopes": scopes}, headers=owner.headers
            )
            assert_problem(response, 422, "validation-error")


class TestUsingAKey:
    @pytest.mark.parametrize("how", ["x-api-key", "bearer"])
    async def test_a_key_acts_for_its_company_within_its_scopes(
        self, api: httpx.AsyncClient, owner: Account, how: str
    ) -> None:
        created = await create_key(api, owner, scopes=["company:read"])
        headers = (
            key_header(created)
            if how == "x-api-key"
            else {"Authorization": f"Bearer {created['key']}"}
        )

        company = await api.get("/v1/company", headers=headers)
        assert company.status_code == 200, company.text
        assert company.json()["id"] == str(owner.company_id)

        # Refused at the gateway, by the key's scopes, before any service is asked.
        assert_problem(await api.get("/v1/documents", headers=headers), 403, "forbidden")
        assert_problem(await api.get("/v1/users", headers=headers), 403, "forbidden")

    async def test_a_key_that_may_only_ask_cannot_upload(
        self, api: httpx.AsyncClient, owner: Account
    ) -> None:
        created = await create_key(api, owner, scopes=["questions:ask"])

        response = await api.post(
            "/v1/documents",
            files={"file": ("a.txt", b"hola", "text/plain")},
            headers=key_header(created),
        )

        body = assert_problem(response, 403, "forbidden")
        assert body["permission"] == "documents:write"

    async def test_a_user_token_still_works_beside_keys(
        self, api: httpx.AsyncClient, owner: Account
    ) -> None:
        assert (await api.get("/v1/company", headers=owner.headers)).status_code == 200

    @pytest.mark.parametrize(
        ("headers", "status", "code"),
        [
            ({"X-API-Key": "kp_short"}, 401, "invalid-api-key"),
            ({"Authorization": "Bearer kp_0123abcd_" + "A" * 43}, 401, "invalid-api-key"),
            ({"X-API-Key": "kp_0123abcd_" + "A" * 43, "Authorization": "Bearer x"}, 400, None),
        ],
    )
    async def test_bad_keys_are_refused(
        self, api: httpx.AsyncClient, headers: dict[str, str], status: int, code: str | None
    ) -> None:
        response = await api.get("/v1/company", headers=headers)

        assert_problem(response, status, code)


class TestRefusals:
    async def test_a_key_revoked_through_this_gateway_is_refused_at_once(
        self, api: httpx.AsyncClient, owner: Account
    ) -> None:
        created = await create_key(api, owner)
        assert (await api.get("/v1/company", headers=key_header(created))).status_code == 200

        revoked = await api.delete(f"{KEYS}/{created['id']}", headers=owner.headers)

        assert revoked.status_code == 204, revoked.text
        response = await api.get("/v1/company", headers=key_header(created))
        assert_problem(response, 401, "invalid-api-key")
        assert response.headers["www-authenticate"] == "Bearer"

    async def test_a_key_revoked_elsewhere_is_refused_once_the_cache_is_stale(
        self,
        api: httpx.AsyncClient,
        owner: Account,
        tenants_state: TenantsState,
        clock: ManualClock,
    ) -> None:
        created = await create_key(api, owner)
        assert (await api.get("/v1/company", headers=key_header(created))).status_code == 200
        # Another gateway replica revoked it: this one has not heard.
        await change_at_tenants(
            tenants_state,
            owner.company_id,
            update(ApiKey)
            .where(ApiKey.id == UUID(created["id"]))
            .values(revoked_at=datetime.now(UTC)),
        )

        assert (await api.get("/v1/company", headers=key_header(created))).status_code == 200
        clock.advance(CACHE_SECONDS + 1)
        assert_problem(
            await api.get("/v1/company", headers=key_header(created)), 401, "invalid-api-key"
        )

    async def test_an_expired_key_is_refused(
        self,
        api: httpx.AsyncClient,
        owner: Account,
        tenants_state: TenantsState,
        clock: ManualClock,
    ) -> None:
        soon = datetime.now(UTC) + timedelta(minutes=10)
        created = await create_key(api, owner, expires_at=soon.isoformat())
        assert (await api.get("/v1/company", headers=key_header(created))).status_code == 200

        await change_at_tenants(
            tenants_state,
            owner.company_id,
            update(ApiKey)
            .where(ApiKey.id == UUID(created["id"]))
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1)),
        )
        clock.advance(CACHE_SECONDS + 1)

        assert_problem(
            await api.get("/v1/company", headers=key_header(created)), 401, "invalid-api-key"
        )

    async def test_a_suspended_companys_key_is_refused(
        self,
        api: httpx.AsyncClient,
        owner: Account,
        tenants_state: TenantsState,
        clock: ManualClock,
    ) -> None:
        created = await create_key(api, owner)
        await change_at_tenants(
            tenants_state,
            owner.company_id,
            update(Company).where(Company.id == owner.company_id).values(status="suspended"),
        )
        clock.advance(CACHE_SECONDS + 1)

        assert_problem(
            await api.get("/v1/company", headers=key_header(created)), 401, "invalid-api-key"
        )

    async def test_past_its_size_the_cache_forgets_the_least_recently_used_key(
        self,
        api: httpx.AsyncClient,
        owner: Account,
        gateway_state: Gateway,
        tenants_state: TenantsState,
        clock: ManualClock,
    ) -> None:
        gateway_state.api_keys = ApiKeys(
            gateway_state.tenants, gateway_state.verifier, clock=clock, max_cached_keys=1
        )
        first, second = await create_key(api, owner), await create_key(api, owner)
        for created in (first, second):
            assert (await api.get("/v1/company", headers=key_header(created))).status_code == 200
        await change_at_tenants(
            tenants_state,
            owner.company_id,
            update(ApiKey)
            .where(ApiKey.company_id == owner.company_id)
            .values(revoked_at=datetime.now(UTC)),
        )

        # The second is still cached; the first was pushed out, so tenants is asked again.
        assert (await api.get("/v1/company", headers=key_header(second))).status_code == 200
        assert_problem(await api.get("/v1/company", headers=key_header(first)), 401)


class TestRateLimit:
    async def test_past_the_limit_the_key_gets_429_with_retry_after(
        self, api: httpx.AsyncClient, owner: Account, clock: ManualClock
    ) -> None:
        created = await create_key(api, owner, rate_limit_per_minute=3)

        answers = [await api.get("/v1/company", headers=key_header(created)) for _ in range(4)]

        assert [a.status_code for a in answers[:3]] == [200, 200, 200]
        body = assert_problem(answers[3], 429, "rate-limited")
        assert body["limit_per_minute"] == 3
        assert answers[3].headers["retry-after"] == "20"  # one request every 20 seconds
        # The owner's own token is not held to the key's limit.
        assert (await api.get("/v1/company", headers=owner.headers)).status_code == 200

        clock.advance(20)
        assert (await api.get("/v1/company", headers=key_header(created))).status_code == 200
        assert_problem(await api.get("/v1/company", headers=key_header(created)), 429)

    async def test_each_key_has_its_own_limit(self, api: httpx.AsyncClient, owner: Account) -> None:
        first = await create_key(api, owner, rate_limit_per_minute=1)
        second = await create_key(api, owner, rate_limit_per_minute=1)

        assert (await api.get("/v1/company", headers=key_header(first))).status_code == 200
        assert_problem(await api.get("/v1/company", headers=key_header(first)), 429)
        assert (await api.get("/v1/company", headers=key_header(second))).status_code == 200


# --- the pieces on their own -----------------------------------------------------------------


class TestRateLimiter:
    def test_a_burst_of_the_limit_then_one_per_interval(self) -> None:
        clock = ManualClock()
        limiter = RateLimiter(clock)
        key = uuid.uuid4()

        assert [limiter.take(key, 60) for _ in range(60)] == [None] * 60
        assert limiter.take(key, 60) == pytest.approx(1.0)
        clock.advance(0.5)
        assert limiter.take(key, 60) == pytest.approx(0.5)
        clock.advance(0.5)
        assert limiter.take(key, 60) is None
        clock.advance(3600)
        assert [limiter.take(key, 60) for _ in range(61)].count(None) == 60  # never past full


def request_with(headers: dict[str, str]) -> Request:
    raw = [(name.lower().encode(), value.encode()) for name, value in headers.items()]
    return Request({"type": "http", "method": "GET", "path": "/", "headers": raw})


class TestPresentedKey:
    KEY = "kp_0123abcd_" + "b" * 43

    def test_where_a_key_may_come_from(self) -> None:
        assert presented_api_key(request_with({"X-API-Key": self.KEY})) == self.KEY
        assert presented_api_key(request_with({"Authorization": f"Bearer {self.KEY}"})) == self.KEY
        assert presented_api_key(request_with({"Authorization": "Bearer eyJhbGciOi"})) is None
        assert presented_api_key(request_with({})) is None

    def test_a_malformed_key_is_refused_without_asking_tenants(self) -> None:
        with pytest.raises(Problem) as refused:
            presented_api_key(request_with({"X-API-Key": "kp_0123abcd_short"}))
        assert (refused.value.status, refused.value.code) == (401, "invalid-api-key")
