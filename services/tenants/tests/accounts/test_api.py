from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

import httpx
import pytest
from sqlalchemy import select, update

from common.auth import Role, TokenVerifier
from common.db import Database
from common.problems import PROBLEM_JSON, PROBLEM_TYPE_BASE
from tenants.accounts.models import Company, User
from tenants.accounts.service import slugify
from tenants.audit.models import AuditLog
from tenants.plans import LIMITS
from tenants.settings import TenantsSettings

NewSignup = Callable[..., dict[str, Any]]
MakeOwner = Callable[..., Awaitable[User]]
MakeMember = Callable[..., Awaitable[User]]

TOKEN_PAIR_FIELDS = {
    "access_token",
    "token_type",
    "expires_in",
    "refresh_token",
    "refresh_expires_in",
}


async def verifier_from_jwks_route(
    client: httpx.AsyncClient, settings: TenantsSettings
) -> TokenVerifier:
    jwks = (await client.get("/internal/jwks.json")).json()
    return TokenVerifier(issuer=settings.token_issuer, audience=settings.token_audience, jwks=jwks)


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body: dict[str, Any] = response.json()
    assert body["type"] == PROBLEM_TYPE_BASE + code
    assert body["status"] == status
    assert body["detail"]
    return body


class TestSignup:
    async def test_creates_the_company_and_owner_and_signs_the_owner_in(
        self,
        client: httpx.AsyncClient,
        settings: TenantsSettings,
        database: Database,
        new_signup: NewSignup,
    ) -> None:
        body = new_signup(company_name="  Acme Widgets  ")

        response = await client.post("/internal/signup", json=body)

        assert response.status_code == 201, response.text
        answer = response.json()
        assert set(answer) == {"company_id", "user_id", *TOKEN_PAIR_FIELDS}
        assert answer["token_type"] == "bearer"
        assert answer["expires_in"] == settings.access_token_ttl_seconds
        assert answer["refresh_expires_in"] == settings.refresh_token_ttl_seconds
        verifier = await verifier_from_jwks_route(client, settings)
        identity = await verifier.verify(answer["access_token"])
        assert identity.user_id == UUID(answer["user_id"])
        assert identity.company_id == UUID(answer["company_id"])
        assert identity.role is Role.OWNER

        async with database.transaction(identity.company_id) as session:
            company = await session.get_one(Company, identity.company_id)
            owner = await session.get_one(User, identity.user_id)
        assert company.name == "Acme Widgets"
        assert company.slug.startswith("acme-widgets")
        assert (company.plan, company.status) == (settings.signup_plan, "active")
        assert company.monthly_message_limit == LIMITS[settings.signup_plan].monthly_message_limit
        assert owner.email == body["email"]
        assert owner.company_id == company.id
        assert owner.role == "owner"
        assert owner.password_hash.startswith("$argon2id$")

    async def test_stores_the_email_lower_cased(
        self, client: httpx.AsyncClient, database: Database, new_signup: NewSignup
    ) -> None:
        body = new_signup()
        mixed = body["email"].upper()

        response = await client.post("/internal/signup", json=body | {"email": f" {mixed} "})

        assert response.status_code == 201, response.text
        answer = response.json()
        async with database.transaction(UUID(answer["company_id"])) as session:
            owner = await session.get_one(User, UUID(answer["user_id"]))
        assert owner.email == body["email"]

    @pytest.mark.parametrize("change", [str, str.upper, str.title], ids=["same", "upper", "title"])
    async def test_an_email_already_signed_up_is_409(
        self, client: httpx.AsyncClient, new_signup: NewSignup, change: Callable[[str], str]
    ) -> None:
        first = new_signup()
        assert (await client.post("/internal/signup", json=first)).status_code == 201

        response = await client.post(
            "/internal/signup", json=new_signup(email=change(first["email"]))
        )

        assert_problem(response, 409, "email-taken")

    async def test_a_refused_signup_leaves_no_company_behind(
        self, client: httpx.AsyncClient, database: Database, new_signup: NewSignup
    ) -> None:
        taken = new_signup()
        assert (await client.post("/internal/signup", json=taken)).status_code == 201
        name = new_signup()["company_name"]
        refused = await client.post(
            "/internal/signup", json=new_signup(company_name=name, email=taken["email"])
        )
        assert refused.status_code == 409

        # Had the refused company been committed, this one's slug would need a suffix.
        accepted = await client.post("/internal/signup", json=new_signup(company_name=name))

        assert accepted.status_code == 201
        company_id = UUID(accepted.json()["company_id"])
        async with database.transaction(company_id) as session:
            company = await session.get_one(Company, company_id)
        assert company.slug == slugify(name)

    @pytest.mark.parametrize(
        ("change", "location"),
        [
            ({"email": "not-an-email"}, "body.email"),
            ({"email": "two@@example.com"}, "body.email"),
            ({"password": "short"}, "body.password"),
            ({"password": "x" * 129}, "body.password"),
            ({"company_name": ""}, "body.company_name"),
            ({"company_name": "   "}, "body.company_name"),
            ({"company_name": "x" * 201}, "body.company_name"),
            ({"first_name": ""}, "body.first_name"),
            ({"last_name": "y" * 101}, "body.last_name"),
            ({"email": None}, "body.email"),
        ],
    )
    async def test_an_invalid_body_is_422(
        self,
        client: httpx.AsyncClient,
        new_signup: NewSignup,
        change: dict[str, Any],
        location: str,
    ) -> None:
        response = await client.post("/internal/signup", json=new_signup(**change))

        body = assert_problem(response, 422, "validation-error")
        assert location in [error["location"] for error in body["errors"]]

    @pytest.mark.parametrize(
        "missing", ["company_name", "email", "password", "first_name", "last_name"]
    )
    async def test_a_missing_field_is_422(
        self, client: httpx.AsyncClient, new_signup: NewSignup, missing: str
    ) -> None:
        body = new_signup()
        del body[missing]

        response = await client.post("/internal/signup", json=body)

        problem = assert_problem(response, 422, "validation-error")
        assert f"body.{missing}" in [error["location"] for error in problem["errors"]]

    async def test_a_body_that_is_not_json_is_422(self, client: httpx.AsyncClient) -> None:
        response = await client.post(
            "/internal/signup", content=b"{", headers={"content-type": "application/json"}
        )

        assert_problem(response, 422, "validation-error")


class TestLogin:
    async def test_signs_the_user_in(
        self,
        client: httpx.AsyncClient,
        settings: TenantsSettings,
        database: Database,
        make_owner: MakeOwner,
    ) -> None:
        owner = await make_owner(password="a-good-long-password")

        response = await client.post(
            "/internal/login",
            json={"email": owner.email.upper(), "password": "a-good-long-password"},
        )

        assert response.status_code == 200, response.text
        answer = response.json()
        assert set(answer) == TOKEN_PAIR_FIELDS
        assert answer["token_type"] == "bearer"
        assert answer["expires_in"] == settings.access_token_ttl_seconds
        assert answer["refresh_expires_in"] == settings.refresh_token_ttl_seconds
        verifier = await verifier_from_jwks_route(client, settings)
        identity = await verifier.verify(answer["access_token"])
        assert (identity.user_id, identity.company_id) == (owner.id, owner.company_id)
        assert identity.role is Role.OWNER
        async with database.transaction(owner.company_id) as session:
            signed_in = await session.get_one(User, owner.id)
        assert signed_in.last_login_at is not None

    async def test_a_wrong_password_is_401(
        self, client: httpx.AsyncClient, make_owner: MakeOwner
    ) -> None:
        owner = await make_owner()

        response = await client.post(
            "/internal/login", json={"email": owner.email, "password": "not the password"}
        )

        assert_problem(response, 401, "invalid-credentials")

    async def test_an_unknown_email_is_answered_like_a_wrong_password(
        self, client: httpx.AsyncClient, make_owner: MakeOwner
    ) -> None:
        owner = await make_owner()
        wrong_password = await client.post(
            "/internal/login", json={"email": owner.email, "password": "not the password"}
        )

        unknown_email = await client.post(
            "/internal/login",
            json={"email": f"nobody-{owner.id.hex}@example.com", "password": "not the password"},
        )

        assert_problem(unknown_email, 401, "invalid-credentials")
        assert unknown_email.json() == wrong_password.json()
        assert unknown_email.headers["content-type"] == wrong_password.headers["content-type"]

    async def test_an_inactive_user_is_401(
        self,
        client: httpx.AsyncClient,
        database: Database,
        make_owner: MakeOwner,
        make_member: MakeMember,
    ) -> None:
        owner = await make_owner()
        member = await make_member(owner, Role.OPERADOR, password="a-good-long-password")
        async with database.transaction(owner.company_id) as session:
            await session.execute(update(User).where(User.id == member.id).values(is_active=False))

        response = await client.post(
            "/internal/login", json={"email": member.email, "password": "a-good-long-password"}
        )

        assert_problem(response, 401, "invalid-credentials")

    async def test_a_user_of_a_suspended_company_is_401(
        self, client: httpx.AsyncClient, database: Database, make_owner: MakeOwner
    ) -> None:
        owner = await make_owner(password="a-good-long-password")
        async with database.transaction(owner.company_id) as session:
            await session.execute(
                update(Company).where(Company.id == owner.company_id).values(status="suspended")
            )

        response = await client.post(
            "/internal/login", json={"email": owner.email, "password": "a-good-long-password"}
        )

        assert_problem(response, 401, "invalid-credentials")
        async with database.transaction(owner.company_id) as session:
            last_login = await session.scalar(select(User.last_login_at).where(User.id == owner.id))
        assert last_login is None

    async def test_a_malformed_email_is_answered_like_a_wrong_password(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.post(
            "/internal/login", json={"email": "not-an-email", "password": "whatever-it-is"}
        )

        assert_problem(response, 401, "invalid-credentials")

    @pytest.mark.parametrize(
        "body",
        [
            {},
            {"email": "someone@example.com"},
            {"password": "whatever-it-is"},
            {"email": "", "password": "whatever-it-is"},
            {"email": "someone@example.com", "password": ""},
        ],
        ids=["empty", "no-password", "no-email", "blank-email", "blank-password"],
    )
    async def test_an_invalid_body_is_422(
        self, client: httpx.AsyncClient, body: dict[str, Any]
    ) -> None:
        response = await client.post("/internal/login", json=body)

        assert_problem(response, 422, "validation-error")


class TestLoginLockOut:
    async def test_a_locked_account_answers_like_an_unknown_email_even_to_its_password(
        self,
        client: httpx.AsyncClient,
        database: Database,
        settings: TenantsSettings,
        make_owner: MakeOwner,
    ) -> None:
        owner = await make_owner(password="a-good-long-password")
        for _ in range(settings.login_max_failed_attempts):
            wrong = await client.post(
                "/internal/login",
                json={"email": owner.email, "password": "not the password"},
                headers={"x-client-ip": "203.0.113.7", "user-agent": "guesser/1.0"},
            )
            assert_problem(wrong, 401, "invalid-credentials")

        right_but_locked = await client.post(
            "/internal/login", json={"email": owner.email, "password": "a-good-long-password"}
        )
        unknown_email = await client.post(
            "/internal/login",
            json={"email": f"nobody-{owner.id.hex}@example.com", "password": "whatever-it-is"},
        )

        assert_problem(right_but_locked, 401, "invalid-credentials")
        assert right_but_locked.json() == unknown_email.json()
        assert right_but_locked.headers.get("retry-after") is None
        async with database.transaction(owner.company_id) as session:
            user = await session.get_one(User, owner.id)
            entry = (
                await session.scalars(select(AuditLog).where(AuditLog.resource_id == str(owner.id)))
            ).one()
        assert user.locked_until is not None
        assert user.last_login_at is None
        # Where the guesses came from, for whoever looks into the lock.
        assert (entry.action, str(entry.ip_address), entry.user_agent) == (
            "user.locked",
            "203.0.113.7",
            "guesser/1.0",
        )


class TestLoginWithSeveralCompanies:
    async def test_one_password_for_two_companies_needs_the_slug(
        self,
        client: httpx.AsyncClient,
        database: Database,
        settings: TenantsSettings,
        make_owner: MakeOwner,
        make_member: MakeMember,
    ) -> None:
        first = await make_owner(password="a-good-long-password")
        second = await make_member(
            await make_owner(), Role.OPERADOR, email=first.email, password="a-good-long-password"
        )
        credentials = {"email": first.email, "password": "a-good-long-password"}

        ambiguous = await client.post("/internal/login", json=credentials)

        body = assert_problem(ambiguous, 409, "company-required")
        async with database.transaction(second.company_id) as session:
            second_slug = (await session.get_one(Company, second.company_id)).slug
        assert second_slug not in ambiguous.text
        assert set(body) == {"type", "title", "status", "detail", "instance"}

        chosen = await client.post(
            "/internal/login", json=credentials | {"company": f" {second_slug.upper()} "}
        )

        assert chosen.status_code == 200, chosen.text
        verifier = await verifier_from_jwks_route(client, settings)
        identity = await verifier.verify(chosen.json()["access_token"])
        assert (identity.user_id, identity.role) == (second.id, Role.OPERADOR)

    async def test_a_blank_company_is_422(self, client: httpx.AsyncClient) -> None:
        response = await client.post(
            "/internal/login",
            json={"email": "someone@example.com", "password": "whatever-it-is", "company": " "},
        )

        assert_problem(response, 422, "validation-error")
