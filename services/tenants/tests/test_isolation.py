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
from tenants.accounts.models import Company, User
from tenants.accounts.service import SIGN_IN_SCOPE
from tenants.db import outbox

MakeOwner = Callable[..., Awaitable[User]]
TABLES: dict[str, Table] = {
    "companies": Company.__table__,  # type: ignore[dict-item]
    "users": User.__table__,  # type: ignore[dict-item]
    "outbox": outbox,
}


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
async def owners(make_owner: MakeOwner) -> tuple[User, User]:
    return await make_owner(), await make_owner()


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
            if table != "outbox":
                update_b = update(target).where(of_b).values(updated_at=func.now())
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
