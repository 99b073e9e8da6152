"""Refresh tokens through the internal routes: rotation, reuse detection, logout, and the end of
every session when the password changes."""

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from common.auth import Role, TokenVerifier
from common.db import Database
from devstack.client import assert_problem
from tenants.accounts.models import Company, User
from tenants.audit.models import AuditLog
from tenants.settings import TenantsSettings
from tenants.state import TenantsState
from tenants.tokens.models import RefreshToken

MakeOwner = Callable[..., Awaitable[User]]
MakeMember = Callable[..., Awaitable[User]]

PASSWORD = "a-good-long-password"


async def log_in(client: httpx.AsyncClient, user: User, password: str = PASSWORD) -> dict[str, Any]:
    response = await client.post(
        "/internal/login", json={"email": user.email, "password": password}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def use(client: httpx.AsyncClient, refresh_token: str) -> httpx.Response:
    return await client.post("/internal/refresh", json={"refresh_token": refresh_token})


async def stored(database: Database, user: User, refresh_token: str) -> RefreshToken:
    token_hash = hashlib.sha256(refresh_token.encode()).hexdigest()
    async with database.transaction(user.company_id) as session:
        rows = await session.scalars(
            select(RefreshToken).where(RefreshToken.token_hash == token_hash)
        )
        return rows.one()


async def user_tokens(database: Database, user: User) -> list[RefreshToken]:
    async with database.transaction(user.company_id) as session:
        rows = await session.scalars(
            select(RefreshToken)
            .where(RefreshToken.user_id == user.id)
            .order_by(RefreshToken.created_at)
        )
        return list(rows)


async def audit_actions(database: Database, user: User) -> list[str]:
    async with database.transaction(user.company_id) as session:
        rows = await session.scalars(
            select(AuditLog.action)
            .where(AuditLog.resource_id == str(user.id))
            .order_by(AuditLog.id)
        )
        return list(rows)


def verifier(state: TenantsState) -> TokenVerifier:
    return TokenVerifier(
        issuer=state.tokens.issuer,
        audience=state.tokens.audience,
        jwks=state.tokens.jwks().model_dump(),
    )


class TestSignInStartsASession:
    async def test_only_the_hash_of_the_refresh_token_is_kept(
        self, client: httpx.AsyncClient, database: Database, make_owner: MakeOwner
    ) -> None:
        owner = await make_owner(password=PASSWORD)

        pair = await log_in(client, owner)

        # 32 random bytes, base64url: 43 characters.
        assert len(pair["refresh_token"]) >= 43
        (row,) = await user_tokens(database, owner)
        assert row.token_hash == hashlib.sha256(pair["refresh_token"].encode()).hexdigest()
        assert pair["refresh_token"] not in row.token_hash
        assert (row.used_at, row.revoked_at) == (None, None)

    async def test_the_refresh_token_lives_as_long_as_configured(
        self,
        client: httpx.AsyncClient,
        database: Database,
        make_owner: MakeOwner,
        settings: TenantsSettings,
    ) -> None:
        owner = await make_owner(password=PASSWORD)

        pair = await log_in(client, owner)

        assert pair["refresh_expires_in"] == settings.refresh_token_ttl_seconds
        row = await stored(database, owner, pair["refresh_token"])
        lifetime = (row.expires_at - row.created_at).total_seconds()
        assert lifetime == pytest.approx(settings.refresh_token_ttl_seconds, abs=5)

    async def test_each_sign_in_is_a_family_of_its_own(
        self, client: httpx.AsyncClient, database: Database, make_owner: MakeOwner
    ) -> None:
        owner = await make_owner(password=PASSWORD)

        first, second = await log_in(client, owner), await log_in(client, owner)

        rows = [await stored(database, owner, p["refresh_token"]) for p in (first, second)]
        assert rows[0].family_id != rows[1].family_id

    async def test_signup_answers_a_working_refresh_token(
        self, client: httpx.AsyncClient, new_signup: Callable[..., dict[str, Any]]
    ) -> None:
        signed_up = (await client.post("/internal/signup", json=new_signup())).json()

        response = await use(client, signed_up["refresh_token"])

        assert response.status_code == 200, response.text


class TestRefresh:
    async def test_rotates_within_the_family(
        self,
        client: httpx.AsyncClient,
        database: Database,
        state: TenantsState,
        make_owner: MakeOwner,
    ) -> None:
        owner = await make_owner(password=PASSWORD)
        pair = await log_in(client, owner)

        response = await use(client, pair["refresh_token"])

        assert response.status_code == 200, response.text
        renewed = response.json()
        assert renewed["refresh_token"] != pair["refresh_token"]
        assert renewed["access_token"] != pair["access_token"]
        identity = await verifier(state).verify(renewed["access_token"])
        assert (identity.user_id, identity.company_id, identity.role) == (
            owner.id,
            owner.company_id,
            Role.OWNER,
        )
        old = await stored(database, owner, pair["refresh_token"])
        new = await stored(database, owner, renewed["refresh_token"])
        assert old.used_at is not None
        assert old.revoked_at is None
        assert (new.used_at, new.revoked_at) == (None, None)
        assert new.family_id == old.family_id
        # And the new one rotates in turn.
        assert (await use(client, renewed["refresh_token"])).status_code == 200

    async def test_the_new_access_token_carries_the_current_role(
        self,
        client: httpx.AsyncClient,
        database: Database,
        state: TenantsState,
        make_owner: MakeOwner,
        make_member: MakeMember,
    ) -> None:
        member = await make_member(await make_owner(), Role.OPERADOR, password=PASSWORD)
        pair = await log_in(client, member)
        async with database.transaction(member.company_id) as session:
            await session.execute(
                update(User).where(User.id == member.id).values(role=Role.SUPERVISOR.value)
            )

        renewed = (await use(client, pair["refresh_token"])).json()

        assert (await verifier(state).verify(renewed["access_token"])).role is Role.SUPERVISOR

    async def test_a_reused_token_revokes_its_whole_family(
        self, client: httpx.AsyncClient, database: Database, make_owner: MakeOwner
    ) -> None:
        owner = await make_owner(password=PASSWORD)
        pair = await log_in(client, owner)
        other_session = await log_in(client, owner)
        renewed = (await use(client, pair["refresh_token"])).json()

        replayed = await use(client, pair["refresh_token"])

        assert_problem(replayed, 401, "invalid-refresh-token")
        # The thief's or the owner's: nobody can tell, so the descendant dies too.
        assert_problem(await use(client, renewed["refresh_token"]), 401, "invalid-refresh-token")
        family = (await stored(database, owner, pair["refresh_token"])).family_id
        rows = await user_tokens(database, owner)
        assert all(row.revoked_at is not None for row in rows if row.family_id == family)
        assert await audit_actions(database, owner) == ["user.refresh_token_reused"]
        # Another sign-in of the same user is another family, untouched.
        assert (await use(client, other_session["refresh_token"])).status_code == 200

    async def test_concurrent_uses_of_one_token_let_exactly_one_win(
        self, client: httpx.AsyncClient, database: Database, make_owner: MakeOwner
    ) -> None:
        owner = await make_owner(password=PASSWORD)
        pair = await log_in(client, owner)

        responses = await asyncio.gather(*(use(client, pair["refresh_token"]) for _ in range(5)))

        assert sorted(response.status_code for response in responses) == [200, 401, 401, 401, 401]
        # Exactly one new token was issued; the losers count as reuse and end the family.
        rows = await user_tokens(database, owner)
        assert len(rows) == 2
        assert all(row.revoked_at is not None for row in rows)

    async def test_an_expired_token_is_refused(
        self, client: httpx.AsyncClient, database: Database, make_owner: MakeOwner
    ) -> None:
        owner = await make_owner(password=PASSWORD)
        pair = await log_in(client, owner)
        async with database.transaction(owner.company_id) as session:
            await session.execute(
                update(RefreshToken)
                .where(RefreshToken.user_id == owner.id)
                .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
            )

        assert_problem(await use(client, pair["refresh_token"]), 401, "invalid-refresh-token")
        assert (await stored(database, owner, pair["refresh_token"])).used_at is None

    async def test_an_unknown_token_is_refused(self, client: httpx.AsyncClient) -> None:
        assert_problem(await use(client, "not-a-token-we-issued"), 401, "invalid-refresh-token")

    async def test_an_inactive_user_cannot_refresh(
        self,
        client: httpx.AsyncClient,
        database: Database,
        make_owner: MakeOwner,
        make_member: MakeMember,
    ) -> None:
        member = await make_member(await make_owner(), Role.OPERADOR, password=PASSWORD)
        pair = await log_in(client, member)
        async with database.transaction(member.company_id) as session:
            await session.execute(update(User).where(User.id == member.id).values(is_active=False))

        assert_problem(await use(client, pair["refresh_token"]), 401, "invalid-refresh-token")

    async def test_a_suspended_company_cannot_refresh(
        self, client: httpx.AsyncClient, database: Database, make_owner: MakeOwner
    ) -> None:
        owner = await make_owner(password=PASSWORD)
        pair = await log_in(client, owner)
        async with database.transaction(owner.company_id) as session:
            await session.execute(
                update(Company).where(Company.id == owner.company_id).values(status="suspended")
            )

        assert_problem(await use(client, pair["refresh_token"]), 401, "invalid-refresh-token")

    @pytest.mark.parametrize("body", [{}, {"refresh_token": ""}, {"refresh_token": "x" * 257}])
    async def test_an_invalid_body_is_422(
        self, client: httpx.AsyncClient, body: dict[str, Any]
    ) -> None:
        assert_problem(await client.post("/internal/refresh", json=body), 422, "validation-error")


class TestLogout:
    async def test_ends_the_session_and_only_that_one(
        self, client: httpx.AsyncClient, make_owner: MakeOwner
    ) -> None:
        owner = await make_owner(password=PASSWORD)
        pair = await log_in(client, owner)
        renewed = (await use(client, pair["refresh_token"])).json()
        other_session = await log_in(client, owner)

        response = await client.post(
            "/internal/logout", json={"refresh_token": renewed["refresh_token"]}
        )

        assert response.status_code == 204
        assert response.content == b""
        assert_problem(await use(client, renewed["refresh_token"]), 401, "invalid-refresh-token")
        assert (await use(client, other_session["refresh_token"])).status_code == 200

    async def test_is_idempotent_and_says_nothing_of_unknown_tokens(
        self, client: httpx.AsyncClient, make_owner: MakeOwner
    ) -> None:
        owner = await make_owner(password=PASSWORD)
        pair = await log_in(client, owner)

        for refresh_token in (pair["refresh_token"], pair["refresh_token"], "never-issued"):
            response = await client.post("/internal/logout", json={"refresh_token": refresh_token})
            assert response.status_code == 204


class TestPasswordChange:
    async def change(
        self, client: httpx.AsyncClient, access_token: str, current: str, new: str
    ) -> httpx.Response:
        return await client.post(
            "/internal/password",
            json={"current_password": current, "new_password": new},
            headers={"Authorization": f"Bearer {access_token}"},
        )

    async def test_changes_the_password_and_ends_every_session(
        self, client: httpx.AsyncClient, database: Database, make_owner: MakeOwner
    ) -> None:
        owner = await make_owner(password=PASSWORD)
        sessions = [await log_in(client, owner) for _ in range(2)]

        response = await self.change(
            client, sessions[0]["access_token"], PASSWORD, "a-brand-new-password"
        )

        assert response.status_code == 204, response.text
        for pair in sessions:
            assert_problem(await use(client, pair["refresh_token"]), 401, "invalid-refresh-token")
        refused = await client.post(
            "/internal/login", json={"email": owner.email, "password": PASSWORD}
        )
        assert_problem(refused, 401, "invalid-credentials")
        await log_in(client, owner, "a-brand-new-password")
        async with database.transaction(owner.company_id) as session:
            user = await session.get_one(User, owner.id)
            entries = await session.scalars(
                select(AuditLog).where(
                    AuditLog.resource_id == str(owner.id),
                    AuditLog.action == "user.password_changed",
                )
            )
            entry = entries.one()
        assert user.password_changed_at is not None
        assert (entry.actor_type, entry.actor_id) == ("user", owner.id)
        # Never a password hash in the log.
        assert (entry.old_values, entry.new_values) == (None, None)

    async def test_any_role_may_change_its_own_password(
        self, client: httpx.AsyncClient, make_owner: MakeOwner, make_member: MakeMember
    ) -> None:
        member = await make_member(await make_owner(), Role.OPERADOR, password=PASSWORD)
        pair = await log_in(client, member)

        response = await self.change(client, pair["access_token"], PASSWORD, "operador-password")

        assert response.status_code == 204, response.text
        await log_in(client, member, "operador-password")

    async def test_a_wrong_current_password_is_403_and_counts_as_a_failure(
        self, client: httpx.AsyncClient, database: Database, make_owner: MakeOwner
    ) -> None:
        owner = await make_owner(password=PASSWORD)
        pair = await log_in(client, owner)

        response = await self.change(
            client, pair["access_token"], "not the password", "a-brand-new-password"
        )

        assert_problem(response, 403, "wrong-password")
        async with database.transaction(owner.company_id) as session:
            user = await session.get_one(User, owner.id)
        assert user.failed_login_attempts == 1
        assert user.password_changed_at is None
        assert (await use(client, pair["refresh_token"])).status_code == 200

    async def test_a_locked_account_is_429_whatever_the_password(
        self, client: httpx.AsyncClient, database: Database, make_owner: MakeOwner
    ) -> None:
        owner = await make_owner(password=PASSWORD)
        pair = await log_in(client, owner)
        async with database.transaction(owner.company_id) as session:
            await session.execute(
                update(User)
                .where(User.id == owner.id)
                .values(locked_until=datetime.now(UTC) + timedelta(minutes=10))
            )

        for current in (PASSWORD, "not the password"):
            response = await self.change(client, pair["access_token"], current, "a-new-password")
            body = assert_problem(response, 429, "account-locked")
            assert 590 <= int(response.headers["retry-after"]) <= 600
            assert body["retry_after"] == int(response.headers["retry-after"])

    async def test_needs_a_bearer_token(self, client: httpx.AsyncClient) -> None:
        response = await client.post(
            "/internal/password",
            json={"current_password": PASSWORD, "new_password": "a-brand-new-password"},
        )

        assert_problem(response, 401, "unauthorized")

    @pytest.mark.parametrize(
        "body",
        [
            {"current_password": PASSWORD, "new_password": "short"},
            {"current_password": PASSWORD},
            {"current_password": "", "new_password": "a-brand-new-password"},
        ],
        ids=["short-new", "no-new", "blank-current"],
    )
    async def test_an_invalid_body_is_422(
        self,
        client: httpx.AsyncClient,
        make_owner: MakeOwner,
        body: dict[str, Any],
    ) -> None:
        owner = await make_owner(password=PASSWORD)
        pair = await log_in(client, owner)

        response = await client.post(
            "/internal/password",
            json=body,
            headers={"Authorization": f"Bearer {pair['access_token']}"},
        )

        assert_problem(response, 422, "validation-error")
