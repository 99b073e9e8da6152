"""Row Level Security, checked as the application role: one company's transaction cannot see
or change another's rows, whatever SQL it runs."""

from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import (
    ColumnElement,
    CursorResult,
    Executable,
    Table,
    delete,
    func,
    select,
    text,
    update,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from common.db import Database
from tenants import scopes
from tenants.accounts.models import Company, User
from tenants.accounts.service import SIGN_IN_SCOPE
from tenants.api_keys.models import ApiKey
from tenants.audit.models import AuditLog
from tenants.db import inbox, outbox
from tenants.invitations.models import Invitation
from tenants.tokens.models import RefreshToken

MakeOwner = Callable[..., Awaitable[User]]
# Every company-owned table of the schema (operators belong to no company: see
# TestPlatformScope), each holding exactly one row per company in the `owners` fixture.
TABLES: dict[str, Table] = {
    "companies": Company.__table__,  # type: ignore[dict-item]
    "users": User.__table__,  # type: ignore[dict-item]
    "outbox": outbox,
    "inbox": inbox,
    "invitations": Invitation.__table__,  # type: ignore[dict-item]
    "refresh_tokens": RefreshToken.__table__,  # type: ignore[dict-item]
    "api_keys": ApiKey.__table__,  # type: ignore[dict-item]
    "audit_logs": AuditLog.__table__,  # type: ignore[dict-item]
}
# A harmless change per table, for the attempts to change another company's rows.
CHANGES: dict[str, dict[str, Any]] = {
    "companies": {"updated_at": func.now()},
    "users": {"updated_at": func.now()},
    "invitations": {"status": "cancelled"},
    "refresh_tokens": {"revoked_at": func.now()},
    "api_keys": {"revoked_at": func.now()},
    "audit_logs": {"action": "tampered"},
    "inbox": {"processed_at": func.now()},
}
ONE_ROW_OF_EACH = """
    INSERT INTO tenants.invitations (id, company_id, email, role, token_hash)
        VALUES (gen_random_uuid(), :company, 'x@example.com', 'operador', md5(random()::text));
    INSERT INTO tenants.refresh_tokens (id, company_id, user_id, family_id, token_hash, expires_at)
        VALUES (gen_random_uuid(), :company, :user, gen_random_uuid(), md5(random()::text),
                now() + interval '1 day');
    INSERT INTO tenants.api_keys (id, company_id, name, prefix, key_hash, scopes)
        VALUES (gen_random_uuid(), :company, 'k', 'kp_x', md5(random()::text),
                ARRAY['questions:ask']);
    INSERT INTO tenants.audit_logs (company_id, actor_type, action, resource_type)
        VALUES (:company, 'system', 'test.seeded', 'test');
    INSERT INTO tenants.inbox (consumer, event_id, company_id)
        VALUES ('test.seeded', gen_random_uuid(), :company);
"""


def company_column(table: Table) -> ColumnElement[UUID]:
    return table.c.id if table.name == "companies" else table.c.company_id


async def count(session: AsyncSession, table: str, company_id: UUID | None = None) -> int:
    statement = select(func.count()).select_from(TABLES[table])
    if company_id is not None:
        statement = statement.where(company_column(TABLES[table]) == company_id)
    return int(await session.scalar(statement) or 0)


async def rows_changed(
    session: AsyncSession, statement: Executable, params: dict[str, Any] | None = None
) -> int:
    result = await session.execute(statement, params)
    assert isinstance(result, CursorResult)
    return result.rowcount


def insert_user_sql() -> str:
    return (
        "INSERT INTO tenants.users (id, company_id, email, password_hash, first_name, last_name)"
        " VALUES (:id, :company_id, :email, 'x', 'Eve', 'Intruder')"
    )


@pytest.fixture
async def owners(make_owner: MakeOwner, database: Database) -> tuple[User, User]:
    a, b = await make_owner(), await make_owner()
    for owner in (a, b):
        async with database.transaction(owner.company_id) as session:
            for statement in filter(str.strip, ONE_ROW_OF_EACH.split(";")):
                await session.execute(
                    text(statement), {"company": owner.company_id, "user": owner.id}
                )
    return a, b


async def test_the_service_connects_as_its_own_role_without_bypassrls(database: Database) -> None:
    async with database.transaction(scope="inspection") as session:
        row = (
            await session.execute(
                text(
                    "SELECT current_user AS name, rolsuper, rolbypassrls FROM pg_roles"
                    " WHERE rolname = current_user"
                )
            )
        ).one()

    assert (row.name, row.rolsuper, row.rolbypassrls) == ("tenants_app", False, False)


class TestCompanyTransaction:
    async def test_sees_only_its_own_rows(
        self, database: Database, owners: tuple[User, User]
    ) -> None:
        a, b = owners

        async with database.transaction(a.company_id) as session:
            for table in TABLES:
                assert await count(session, table, b.company_id) == 0, table
                assert await count(session, table, a.company_id) == 1, table
                assert await count(session, table) == 1, table

    @pytest.mark.parametrize("table", TABLES)
    async def test_cannot_change_another_companys_rows(
        self, database: Database, owners: tuple[User, User], table: str
    ) -> None:
        a, b = owners
        target = TABLES[table]
        of_b = company_column(target) == b.company_id

        async with database.transaction(a.company_id) as session:
            if table in CHANGES:
                update_b = update(target).where(of_b).values(CHANGES[table])
                assert await rows_changed(session, update_b) == 0
            assert await rows_changed(session, delete(target).where(of_b)) == 0

        async with database.transaction(b.company_id) as session:
            assert await count(session, table, b.company_id) == 1

    async def test_cannot_add_a_user_to_another_company(
        self, database: Database, owners: tuple[User, User]
    ) -> None:
        a, b = owners

        with pytest.raises(DBAPIError, match="row-level security"):
            async with database.transaction(a.company_id) as session:
                await session.execute(
                    text(insert_user_sql()),
                    {"id": uuid4(), "company_id": b.company_id, "email": f"{uuid4()}@x.example"},
                )

    async def test_cannot_move_its_own_user_to_another_company(
        self, database: Database, owners: tuple[User, User]
    ) -> None:
        a, b = owners

        with pytest.raises(DBAPIError, match="row-level security"):
            async with database.transaction(a.company_id) as session:
                await session.execute(
                    text("UPDATE tenants.users SET company_id = :b WHERE id = :a"),
                    {"a": a.id, "b": b.company_id},
                )

    async def test_cannot_create_another_company_or_its_events(
        self, database: Database, owners: tuple[User, User]
    ) -> None:
        a, b = owners

        with pytest.raises(DBAPIError, match="row-level security"):
            async with database.transaction(a.company_id) as session:
                await session.execute(
                    text("INSERT INTO tenants.companies (id, name, slug) VALUES (:id, 'X', :slug)"),
                    {"id": uuid4(), "slug": f"x-{uuid4().hex}"},
                )
        with pytest.raises(DBAPIError, match="row-level security"):
            async with database.transaction(a.company_id) as session:
                await session.execute(
                    text(
                        "INSERT INTO tenants.outbox (event_id, company_id, topic, key, body)"
                        " VALUES (:id, :b, 'companies.created', 'k', 'x')"
                    ),
                    {"id": uuid4(), "b": b.company_id},
                )


class TestAuditLog:
    async def test_is_append_only_even_for_its_own_company(
        self, database: Database, owners: tuple[User, User]
    ) -> None:
        a, _ = owners

        async with database.transaction(a.company_id) as session:
            mine = AuditLog.__table__.c.company_id == a.company_id  # type: ignore[attr-defined]
            changed = await rows_changed(
                session, update(AuditLog.__table__).where(mine).values(action="tampered")
            )
            deleted = await rows_changed(session, delete(AuditLog.__table__).where(mine))
            actions = list(await session.scalars(select(AuditLog.action)))

        assert (changed, deleted, actions) == (0, 0, ["test.seeded"])


# Each lookup scope reads one table of every company, and changes nothing.
LOOKUP_SCOPES = {
    scopes.SIGN_IN: "users",
    scopes.INVITATION_ACCEPT: "invitations",
    scopes.TOKEN_REFRESH: "refresh_tokens",
    scopes.API_KEY_AUTH: "api_keys",
}


class TestLookupScopes:
    @pytest.mark.parametrize(("scope", "readable"), LOOKUP_SCOPES.items())
    async def test_read_one_table_of_every_company_and_change_nothing(
        self, database: Database, owners: tuple[User, User], scope: str, readable: str
    ) -> None:
        async with database.transaction(scope=scope) as session:
            for owner in owners:
                for table in TABLES:
                    expected = 1 if table == readable else 0
                    assert await count(session, table, owner.company_id) == expected, table
            target = TABLES[readable]
            of_both = company_column(target).in_([owner.company_id for owner in owners])
            assert await rows_changed(session, delete(target).where(of_both)) == 0

    async def test_the_platform_scope_sees_companies_not_their_contents(
        self, database: Database, owners: tuple[User, User]
    ) -> None:
        async with database.transaction(scope=scopes.PLATFORM) as session:
            for owner in owners:
                for table in TABLES:
                    expected = 1 if table == "companies" else 0
                    assert await count(session, table, owner.company_id) == expected, table

    async def test_operators_are_seen_only_by_the_platform_scope(
        self, database: Database, owners: tuple[User, User]
    ) -> None:
        a, _ = owners
        async with database.transaction(scope=scopes.PLATFORM) as session:
            await session.execute(
                text(
                    "INSERT INTO tenants.operators (id, email, password_hash)"
                    " VALUES (gen_random_uuid(), :email, 'x')"
                ),
                {"email": f"{uuid4().hex}@ops.example"},
            )
        for scope in (*LOOKUP_SCOPES, "outbox_relay"):
            async with database.transaction(scope=scope) as session:
                assert await session.scalar(text("SELECT count(*) FROM tenants.operators")) == 0
        async with database.transaction(a.company_id) as session:
            assert await session.scalar(text("SELECT count(*) FROM tenants.operators")) == 0
            with pytest.raises(DBAPIError, match="row-level security"):
                async with session.begin_nested():
                    await session.execute(
                        text(
                            "INSERT INTO tenants.operators (id, email, password_hash)"
                            " VALUES (gen_random_uuid(), 'me@evil.example', 'x')"
                        )
                    )


class TestSignInScope:
    async def test_reads_every_companys_users_and_nothing_else(
        self, database: Database, owners: tuple[User, User]
    ) -> None:
        a, b = owners

        async with database.transaction(scope=SIGN_IN_SCOPE) as session:
            for owner in (a, b):
                assert await count(session, "users", owner.company_id) == 1
                assert await count(session, "companies", owner.company_id) == 0
                assert await count(session, "outbox", owner.company_id) == 0

    async def test_cannot_change_users(self, database: Database, owners: tuple[User, User]) -> None:
        a, _ = owners

        async with database.transaction(scope=SIGN_IN_SCOPE) as session:
            updated = await rows_changed(
                session,
                text("UPDATE tenants.users SET first_name = 'Mallory' WHERE id = :a"),
                {"a": a.id},
            )
            deleted = await rows_changed(
                session, text("DELETE FROM tenants.users WHERE id = :a"), {"a": a.id}
            )
        assert (updated, deleted) == (0, 0)

        with pytest.raises(DBAPIError, match="row-level security"):
            async with database.transaction(scope=SIGN_IN_SCOPE) as session:
                await session.execute(
                    text(insert_user_sql()),
                    {"id": uuid4(), "company_id": a.company_id, "email": f"{uuid4()}@x.example"},
                )

        async with database.transaction(a.company_id) as session:
            assert (
                await session.scalar(
                    text("SELECT first_name FROM tenants.users WHERE id = :a"), {"a": a.id}
                )
                == a.first_name
            )


class TestNoTenant:
    async def test_a_transaction_without_a_company_sees_nothing(
        self, database: Database, owners: tuple[User, User]
    ) -> None:
        a, _ = owners
        # The pool's connections have carried companies before; none of it may linger.
        async with database.transaction(a.company_id) as session:
            assert await count(session, "users") == 1

        async with database.sessions() as session, session.begin():
            for table in TABLES:
                assert await count(session, table) == 0, table

    async def test_an_unknown_scope_sees_nothing(
        self, database: Database, owners: tuple[User, User]
    ) -> None:
        async with database.transaction(scope="someone_else") as session:
            for table in TABLES:
                assert await count(session, table) == 0, table
