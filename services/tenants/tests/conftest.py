"""The tenants service against the real local Postgres, connected as `tenants_app` (never as a
superuser), migrated once per session; each test makes its own company."""

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI

from common.auth import Role
from common.contracts.accounts import SignupRequest
from common.db import Database
from common.db.alembic import upgrade
from devstack.keys import ensure_signing_key
from devstack.pytest_plugin import migrations_dir, service_database_urls
from tenants.accounts import passwords, service
from tenants.accounts.models import Company, User
from tenants.main import create_app
from tenants.plans import Plan
from tenants.settings import TenantsSettings
from tenants.state import TenantsState, attach_state, build_state

PASSWORD = "correct horse battery staple"


def signup_body(**overrides: Any) -> dict[str, Any]:
    unique = uuid4().hex[:12]
    return {
        "company_name": f"Acme {unique}",
        "email": f"owner-{unique}@example.com",
        "password": PASSWORD,
        "first_name": "Ada",
        "last_name": "Lovelace",
    } | overrides


@pytest.fixture(scope="session")
def database_urls(test_database: str) -> dict[str, str]:
    return service_database_urls("tenants", test_database)


@pytest.fixture(scope="session")
def migrated(database_urls: dict[str, str]) -> None:
    upgrade(migrations_dir("tenants"), database_urls["MIGRATION_DATABASE_URL"])


@pytest.fixture(scope="session")
def signing_key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ensure_signing_key(tmp_path_factory.mktemp("keys") / "token-signing.pem")


@pytest.fixture(scope="session")
def settings(database_urls: dict[str, str], signing_key_file: Path) -> TenantsSettings:
    return TenantsSettings(
        database_url=database_urls["DATABASE_URL"],
        migration_database_url=database_urls["MIGRATION_DATABASE_URL"],
        token_signing_key_file=signing_key_file,
    )


@pytest.fixture(scope="session")
async def state(settings: TenantsSettings, migrated: None) -> AsyncIterator[TenantsState]:
    state = build_state(settings)
    yield state
    await state.close()


@pytest.fixture(scope="session")
def app(settings: TenantsSettings, state: TenantsState) -> FastAPI:
    # The lifespan (broker, outbox relay) is not run: the routes get the state directly.
    app = create_app(settings)
    attach_state(app, state)
    return app


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://tenants") as client:
        yield client


@pytest.fixture
def database(state: TenantsState) -> Database:
    return state.database


@pytest.fixture
def new_signup() -> Callable[..., dict[str, Any]]:
    """Builds a sign-up body for a company of its own; keyword arguments override fields."""
    return signup_body


@pytest.fixture
def make_owner(database: Database) -> Callable[..., Awaitable[User]]:
    """Signs up a company of its own through the service and returns its owner."""

    async def make_owner(**overrides: Any) -> User:
        return await service.sign_up(
            database, SignupRequest(**signup_body(**overrides)), plan=Plan.STARTER
        )

    return make_owner


@pytest.fixture
def make_member(database: Database) -> Callable[..., Awaitable[User]]:
    """Adds a user with `role` to the owner's company, straight through the service (no
    invitation); keyword arguments override the email and password."""

    async def make_member(
        owner: User, role: Role, *, email: str | None = None, password: str = PASSWORD
    ) -> User:
        password_hash = await passwords.hash_password(password)
        async with database.transaction(owner.company_id) as session:
            company = await session.get_one(Company, owner.company_id)
            return await service.create_user(
                session,
                company,
                email=email or f"{role.value}-{uuid4().hex[:12]}@example.com",
                password_hash=password_hash,
                first_name="Grace",
                last_name="Hopper",
                role=role,
            )

    return make_member


@pytest.fixture
def bearer(state: TenantsState) -> Callable[[User], dict[str, str]]:
    """Authorization headers for a user, as the gateway forwards them."""

    def bearer(user: User) -> dict[str, str]:
        token = state.tokens.access_token(
            user_id=user.id, company_id=user.company_id, role=Role(user.role)
        )
        return {"Authorization": f"Bearer {token}"}

    return bearer
