import asyncio
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select, update

from common.auth import Role
from common.contracts.accounts import SignupRequest
from common.db import Database
from common.events import CompanyCreated, decode_event
from tenants.accounts import passwords, service
from tenants.accounts.models import Company, User
from tenants.audit.models import AuditLog
from tenants.db import outbox
from tenants.plans import Plan

NewSignup = Callable[..., dict[str, Any]]
MakeOwner = Callable[..., Awaitable[User]]
MakeMember = Callable[..., Awaitable[User]]

PASSWORD = "a-good-long-password"
LOCKOUT = service.Lockout(max_failed_attempts=3, seconds=900)


async def sign_in(database: Database, email: str, password: str, **kwargs: Any) -> User:
    return await service.sign_in(database, email, password, lockout=LOCKOUT, **kwargs)


async def read_user(database: Database, user: User) -> User:
    async with database.transaction(user.company_id) as session:
        return await session.get_one(User, user.id)


async def set_user(database: Database, user: User, **values: Any) -> None:
    async with database.transaction(user.company_id) as session:
        await session.execute(update(User).where(User.id == user.id).values(**values))


async def audit_actions(database: Database, user: User) -> list[AuditLog]:
    async with database.transaction(user.company_id) as session:
        rows = await session.scalars(
            select(AuditLog).where(AuditLog.resource_id == str(user.id)).order_by(AuditLog.id)
        )
        return list(rows)


async def slug_of(database: Database, user: User) -> str:
    async with database.transaction(user.company_id) as session:
        return (await session.get_one(Company, user.company_id)).slug


def spy_on_verifications(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The hashes every password verification is made against, in order."""
    verified: list[str] = []
    real_verify = passwords.verify_password

    async def spy(password_hash: str, password: str) -> bool:
        verified.append(password_hash)
        return await real_verify(password_hash, password)

    monkeypatch.setattr(passwords, "verify_password", spy)
    return verified


class TestSlugify:
    @pytest.mark.parametrize(
        ("name", "slug"),
        [
            ("Acme", "acme"),
            ("Acme Widgets, Inc.", "acme-widgets-inc"),
            ("  --Café   Ñandú-- ", "cafe-nandu"),
            ("ACME_2024 / Norte", "acme-2024-norte"),
            ("日本語", "company"),
            ("!!!", "company"),
        ],
    )
    def test_derives_a_url_safe_slug(self, name: str, slug: str) -> None:
        assert service.slugify(name) == slug

    def test_keeps_long_slugs_short_without_a_trailing_dash(self) -> None:
        slug = service.slugify("a" * 59 + " b" * 100)

        assert len(slug) <= service.SLUG_MAX_LENGTH
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", slug)


class TestSignUp:
    async def test_announces_the_company_in_the_same_transaction(
        self, database: Database, make_owner: MakeOwner
    ) -> None:
        owner = await make_owner(company_name="Outbox Testers")

        async with database.transaction(owner.company_id) as session:
            company = await session.get_one(Company, owner.company_id)
            rows = (await session.execute(select(outbox))).all()

        assert len(rows) == 1
        row = rows[0]
        assert (row.company_id, row.topic, row.key) == (
            owner.company_id,
            CompanyCreated.topic,
            str(owner.company_id),
        )
        event = decode_event(row.body)
        assert isinstance(event, CompanyCreated)
        assert event.id == row.event_id
        assert event.company_id == owner.company_id
        assert event.payload.company_id == owner.company_id
        assert event.payload.name == "Outbox Testers"
        assert event.payload.slug == company.slug
        assert event.payload.owner_user_id == owner.id

    async def test_a_taken_slug_gets_a_random_suffix(
        self, database: Database, make_owner: MakeOwner, new_signup: NewSignup
    ) -> None:
        name = new_signup()["company_name"]
        first = await make_owner(company_name=name)
        second = await make_owner(company_name=name)

        slugs = []
        for owner in (first, second):
            async with database.transaction(owner.company_id) as session:
                slugs.append((await session.get_one(Company, owner.company_id)).slug)

        assert slugs[0] == service.slugify(name)
        assert re.fullmatch(re.escape(slugs[0]) + r"-[0-9a-f]{6}", slugs[1])

    async def test_a_taken_email_raises_and_writes_nothing(
        self, database: Database, make_owner: MakeOwner, new_signup: NewSignup
    ) -> None:
        owner = await make_owner()
        body = new_signup(email=owner.email.upper())

        with pytest.raises(service.EmailTaken):
            await service.sign_up(database, SignupRequest(**body), plan=Plan.STARTER)

        # The refused company's slug is still free, so nothing of it was committed.
        accepted = await make_owner(company_name=body["company_name"])
        async with database.transaction(accepted.company_id) as session:
            slug = await session.scalar(
                select(Company.slug).where(Company.id == accepted.company_id)
            )
        assert slug == service.slugify(body["company_name"])


class TestSignIn:
    async def test_an_unknown_email_costs_a_password_verification(
        self, database: Database, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        verified = spy_on_verifications(monkeypatch)

        with pytest.raises(service.InvalidCredentials):
            await sign_in(database, "nobody-at-all@example.com", "some password")

        assert len(verified) == 1
        assert verified[0].startswith("$argon2id$")

    async def test_records_the_sign_in(self, database: Database, make_owner: MakeOwner) -> None:
        owner = await make_owner(password=PASSWORD)

        user = await sign_in(database, owner.email, PASSWORD)

        assert user.id == owner.id
        assert user.last_login_at is not None

    async def test_upgrades_a_hash_made_with_weaker_parameters(
        self, database: Database, make_owner: MakeOwner
    ) -> None:
        owner = await make_owner(password=PASSWORD)
        weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)
        await set_user(database, owner, password_hash=weak)

        user = await sign_in(database, owner.email, PASSWORD)

        assert user.password_hash != weak
        assert not passwords.needs_rehash(user.password_hash)
        assert await passwords.verify_password(user.password_hash, PASSWORD)

    async def test_a_success_resets_the_failure_count(
        self, database: Database, make_owner: MakeOwner
    ) -> None:
        owner = await make_owner(password=PASSWORD)
        await set_user(database, owner, failed_login_attempts=LOCKOUT.max_failed_attempts - 1)

        user = await sign_in(database, owner.email, PASSWORD)

        assert (user.failed_login_attempts, user.locked_until) == (0, None)


class TestLockOut:
    async def test_the_last_allowed_failure_locks_the_account_and_is_audited(
        self, database: Database, make_owner: MakeOwner
    ) -> None:
        owner = await make_owner(password=PASSWORD)

        for attempt in range(1, LOCKOUT.max_failed_attempts + 1):
            with pytest.raises(service.InvalidCredentials):
                await sign_in(database, owner.email, "wrong password")
            assert (await read_user(database, owner)).failed_login_attempts == attempt

        locked = await read_user(database, owner)
        assert locked.locked_until is not None
        expected = datetime.now(UTC) + timedelta(seconds=LOCKOUT.seconds)
        assert abs((locked.locked_until - expected).total_seconds()) < 60
        (entry,) = await audit_actions(database, owner)
        assert (entry.action, entry.resource_type, entry.actor_type) == (
            "user.locked",
            "user",
            "system",
        )
        assert entry.new_values == {
            "failed_login_attempts": LOCKOUT.max_failed_attempts,
            "locked_until": locked.locked_until.isoformat(),
        }

    async def test_a_locked_account_refuses_the_right_password(
        self, database: Database, make_owner: MakeOwner, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        owner = await make_owner(password=PASSWORD)
        await set_user(database, owner, locked_until=datetime.now(UTC) + timedelta(minutes=5))
        verified = spy_on_verifications(monkeypatch)

        with pytest.raises(service.InvalidCredentials):
            await sign_in(database, owner.email, PASSWORD)

        # Verified all the same, so a locked account answers no faster than any other.
        assert verified == [owner.password_hash]
        assert (await read_user(database, owner)).last_login_at is None

    async def test_failures_while_locked_neither_count_nor_extend_the_lock(
        self, database: Database, make_owner: MakeOwner
    ) -> None:
        owner = await make_owner(password=PASSWORD)
        until = datetime.now(UTC) + timedelta(minutes=5)
        await set_user(database, owner, failed_login_attempts=3, locked_until=until)

        for _ in range(3):
            with pytest.raises(service.InvalidCredentials):
                await sign_in(database, owner.email, "wrong password")

        user = await read_user(database, owner)
        assert (user.failed_login_attempts, user.locked_until) == (3, until)
        assert await audit_actions(database, owner) == []

    async def test_once_the_lock_runs_out_the_right_password_signs_in(
        self, database: Database, make_owner: MakeOwner
    ) -> None:
        owner = await make_owner(password=PASSWORD)
        await set_user(
            database,
            owner,
            failed_login_attempts=3,
            locked_until=datetime.now(UTC) - timedelta(seconds=1),
        )

        user = await sign_in(database, owner.email, PASSWORD)

        assert (user.failed_login_attempts, user.locked_until) == (0, None)

    async def test_once_the_lock_runs_out_counting_starts_again(
        self, database: Database, make_owner: MakeOwner
    ) -> None:
        owner = await make_owner(password=PASSWORD)
        await set_user(
            database,
            owner,
            failed_login_attempts=3,
            locked_until=datetime.now(UTC) - timedelta(seconds=1),
        )

        with pytest.raises(service.InvalidCredentials):
            await sign_in(database, owner.email, "wrong password")

        user = await read_user(database, owner)
        assert (user.failed_login_attempts, user.locked_until) == (1, None)

    async def test_concurrent_failures_are_each_counted_once(
        self, database: Database, make_owner: MakeOwner
    ) -> None:
        owner = await make_owner(password=PASSWORD)
        lockout = service.Lockout(max_failed_attempts=100, seconds=900)

        await asyncio.gather(
            *(
                service.record_failed_attempt(database, owner, lockout, origin=None)
                for _ in range(12)
            )
        )

        user = await read_user(database, owner)
        assert (user.failed_login_attempts, user.locked_until) == (12, None)

    async def test_concurrent_failures_past_the_limit_lock_once(
        self, database: Database, make_owner: MakeOwner
    ) -> None:
        owner = await make_owner(password=PASSWORD)

        await asyncio.gather(
            *(
                service.record_failed_attempt(database, owner, LOCKOUT, origin=None)
                for _ in range(12)
            )
        )

        user = await read_user(database, owner)
        assert user.failed_login_attempts == LOCKOUT.max_failed_attempts
        assert user.locked_until is not None
        assert [entry.action for entry in await audit_actions(database, owner)] == ["user.locked"]

    async def test_concurrent_wrong_sign_ins_are_each_counted(
        self, database: Database, make_owner: MakeOwner
    ) -> None:
        owner = await make_owner(password=PASSWORD)
        lockout = service.Lockout(max_failed_attempts=10, seconds=900)

        results = await asyncio.gather(
            *(
                service.sign_in(database, owner.email, f"wrong {n}", lockout=lockout)
                for n in range(4)
            ),
            return_exceptions=True,
        )

        assert all(isinstance(result, service.InvalidCredentials) for result in results)
        assert (await read_user(database, owner)).failed_login_attempts == 4


class TestSeveralCompanies:
    """One email, an account in each of two companies."""

    async def two_accounts(
        self,
        make_owner: MakeOwner,
        make_member: MakeMember,
        *,
        second_password: str = PASSWORD,
    ) -> tuple[User, User]:
        first = await make_owner(password=PASSWORD)
        other_owner = await make_owner()
        second = await make_member(
            other_owner, Role.OPERADOR, email=first.email, password=second_password
        )
        return first, second

    async def test_one_password_for_both_needs_the_company(
        self, database: Database, make_owner: MakeOwner, make_member: MakeMember
    ) -> None:
        first, second = await self.two_accounts(make_owner, make_member)

        with pytest.raises(service.CompanyRequired):
            await sign_in(database, first.email, PASSWORD)

        for account in (first, second):
            user = await sign_in(
                database, first.email, PASSWORD, company=await slug_of(database, account)
            )
            assert user.id == account.id

    async def test_each_password_signs_in_to_its_own_company(
        self, database: Database, make_owner: MakeOwner, make_member: MakeMember
    ) -> None:
        first, second = await self.two_accounts(
            make_owner, make_member, second_password="another-long-password"
        )

        assert (await sign_in(database, first.email, PASSWORD)).id == first.id
        assert (await sign_in(database, first.email, "another-long-password")).id == second.id
        # A success in one company is no failure in the other.
        assert (await read_user(database, first)).failed_login_attempts == 0
        assert (await read_user(database, second)).failed_login_attempts == 0

    async def test_a_wrong_password_counts_against_every_account(
        self, database: Database, make_owner: MakeOwner, make_member: MakeMember
    ) -> None:
        first, second = await self.two_accounts(make_owner, make_member)

        with pytest.raises(service.InvalidCredentials):
            await sign_in(database, first.email, "wrong password")

        assert (await read_user(database, first)).failed_login_attempts == 1
        assert (await read_user(database, second)).failed_login_attempts == 1

    async def test_a_named_company_checks_only_its_account(
        self,
        database: Database,
        make_owner: MakeOwner,
        make_member: MakeMember,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        first, second = await self.two_accounts(
            make_owner, make_member, second_password="another-long-password"
        )
        verified = spy_on_verifications(monkeypatch)

        with pytest.raises(service.InvalidCredentials):
            await sign_in(
                database,
                first.email,
                "another-long-password",
                company=await slug_of(database, first),
            )

        assert verified == [first.password_hash]
        assert (await read_user(database, first)).failed_login_attempts == 1
        assert (await read_user(database, second)).failed_login_attempts == 0

    async def test_an_unknown_company_is_like_an_unknown_email(
        self,
        database: Database,
        make_owner: MakeOwner,
        make_member: MakeMember,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        first, _ = await self.two_accounts(make_owner, make_member)
        verified = spy_on_verifications(monkeypatch)

        with pytest.raises(service.InvalidCredentials):
            await sign_in(database, first.email, PASSWORD, company="no-such-company")

        assert len(verified) == 1
        assert verified[0] != first.password_hash

    async def test_a_suspended_company_does_not_count(
        self, database: Database, make_owner: MakeOwner, make_member: MakeMember
    ) -> None:
        first, second = await self.two_accounts(make_owner, make_member)
        async with database.transaction(first.company_id) as session:
            await session.execute(
                update(Company).where(Company.id == first.company_id).values(status="suspended")
            )

        assert (await sign_in(database, first.email, PASSWORD)).id == second.id

    async def test_a_locked_account_leaves_the_other_to_sign_in(
        self, database: Database, make_owner: MakeOwner, make_member: MakeMember
    ) -> None:
        first, second = await self.two_accounts(make_owner, make_member)
        await set_user(database, first, locked_until=datetime.now(UTC) + timedelta(minutes=5))

        assert (await sign_in(database, first.email, PASSWORD)).id == second.id
