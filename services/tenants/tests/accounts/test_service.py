import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select, update

from common.contracts.accounts import SignupRequest
from common.db import Database
from common.events import CompanyCreated, decode_event
from tenants.accounts import passwords, service
from tenants.accounts.models import Company, User
from tenants.db import outbox
from tenants.plans import Plan

NewSignup = Callable[..., dict[str, Any]]
MakeOwner = Callable[..., Awaitable[User]]


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
        verified: list[str] = []
        real_verify = passwords.verify_password

        async def spy(password_hash: str, password: str) -> bool:
            verified.append(password_hash)
            return await real_verify(password_hash, password)

        monkeypatch.setattr(passwords, "verify_password", spy)

        with pytest.raises(service.InvalidCredentials):
            await service.sign_in(database, "nobody-at-all@example.com", "some password")

        assert len(verified) == 1
        assert verified[0].startswith("$argon2id$")

    async def test_records_the_sign_in(self, database: Database, make_owner: MakeOwner) -> None:
        owner = await make_owner(password="a-good-long-password")

        user = await service.sign_in(database, owner.email, "a-good-long-password")

        assert user.id == owner.id
        assert user.last_login_at is not None

    async def test_upgrades_a_hash_made_with_weaker_parameters(
        self, database: Database, make_owner: MakeOwner
    ) -> None:
        owner = await make_owner(password="a-good-long-password")
        weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(
            "a-good-long-password"
        )
        async with database.transaction(owner.company_id) as session:
            await session.execute(
                update(User).where(User.id == owner.id).values(password_hash=weak)
            )

        user = await service.sign_in(database, owner.email, "a-good-long-password")

        assert user.password_hash != weak
        assert not passwords.needs_rehash(user.password_hash)
        assert await passwords.verify_password(user.password_hash, "a-good-long-password")
