"""Row Level Security as the services get it: the table made by its owner with
`tenant_rls_sql`, the rows touched through `Database` as the application role."""

from collections.abc import AsyncIterator
from uuid import UUID, uuid4

import asyncpg
import pytest
from sqlalchemy import (
    Column,
    Delete,
    MetaData,
    Table,
    Text,
    Update,
    Uuid,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from common.db import Database, TenantScopeError
from common.db.migrations import scope_read_sql, tenant_rls_sql

COMPANY_A = UUID("00000000-0000-4000-8000-0000000000aa")
COMPANY_B = UUID("00000000-0000-4000-8000-0000000000bb")
READER_SCOPE = "probe_reader"
RLS_REFUSED = "row-level security policy"


@pytest.fixture
async def probe(owner_connection: asyncpg.Connection) -> AsyncIterator[Table]:
    """`ingest.rls_probe_<hex>`, made by `ingest_owner` as a migration would make it."""
    name = f"rls_probe_{uuid4().hex[:8]}"
    qualified = f"ingest.{name}"
    await owner_connection.execute(
        f"CREATE TABLE {qualified} (id uuid PRIMARY KEY, company_id uuid NOT NULL, note text)"
    )
    try:
        for statement in tenant_rls_sql(qualified):
            await owner_connection.execute(statement)
        yield Table(
            name,
            MetaData(schema="ingest"),
            Column("id", Uuid, primary_key=True),
            Column("company_id", Uuid, nullable=False),
            Column("note", Text),
        )
    finally:
        await owner_connection.execute(f"DROP TABLE {qualified}")


@pytest.fixture
async def database(app_database_url: str) -> AsyncIterator[Database]:
    # One pooled connection: consecutive transactions share it, which is what could leak.
    database = Database(app_database_url, pool_size=1)
    yield database
    await database.dispose()


async def add_row(database: Database, probe: Table, company_id: UUID, note: str) -> UUID:
    row_id = uuid4()
    async with database.transaction(company_id=company_id) as session:
        await session.execute(insert(probe).values(id=row_id, company_id=company_id, note=note))
    return row_id


async def touched(session: AsyncSession, statement: Update | Delete, **values: str) -> int:
    """How many rows an UPDATE (with `values`) or DELETE changed."""
    if values:
        assert isinstance(statement, Update)
        statement = statement.values(**values)
    table = statement.table
    assert isinstance(table, Table)
    return len((await session.execute(statement.returning(table.c.id))).all())


async def notes(session: AsyncSession, probe: Table) -> list[str]:
    return sorted((await session.scalars(select(probe.c.note))).all())


async def test_the_app_role_is_not_privileged(database: Database, probe: Table) -> None:
    """Isolation proven as a superuser or a BYPASSRLS role would prove nothing."""
    async with database.engine.connect() as connection:
        role = (
            await connection.execute(
                text(
                    "SELECT rolname, rolsuper, rolbypassrls FROM pg_roles "
                    "WHERE rolname = current_user"
                )
            )
        ).one()
        owner = await connection.scalar(
            text("SELECT tableowner FROM pg_tables WHERE schemaname = 'ingest' AND tablename = :t"),
            {"t": probe.name},
        )

    assert tuple(role) == ("ingest_app", False, False)
    assert owner == "ingest_owner"


async def test_a_company_sees_only_its_own_rows(database: Database, probe: Table) -> None:
    await add_row(database, probe, COMPANY_A, "a-1")
    await add_row(database, probe, COMPANY_A, "a-2")
    await add_row(database, probe, COMPANY_B, "b-1")

    async with database.transaction(company_id=COMPANY_A) as session:
        assert await notes(session, probe) == ["a-1", "a-2"]
    async with database.transaction(company_id=COMPANY_B) as session:
        assert await notes(session, probe) == ["b-1"]


async def test_another_company_cannot_change_or_delete_a_row(
    database: Database, probe: Table
) -> None:
    row_a = await add_row(database, probe, COMPANY_A, "a's note")
    await add_row(database, probe, COMPANY_B, "b's note")

    async with database.transaction(company_id=COMPANY_B) as session:
        assert await session.scalar(select(probe.c.note).where(probe.c.id == row_a)) is None
        assert await touched(session, update(probe).where(probe.c.id == row_a), note="x") == 0
        assert await touched(session, probe.delete().where(probe.c.id == row_a)) == 0
        assert await touched(session, update(probe), note="b was here") == 1

    async with database.transaction(company_id=COMPANY_A) as session:
        assert await notes(session, probe) == ["a's note"]


async def test_writing_a_row_of_another_company_is_refused(
    database: Database, probe: Table
) -> None:
    row_a = await add_row(database, probe, COMPANY_A, "a's note")

    with pytest.raises(DBAPIError, match=RLS_REFUSED):
        async with database.transaction(company_id=COMPANY_A) as session:
            await session.execute(
                insert(probe).values(id=uuid4(), company_id=COMPANY_B, note="planted")
            )
    with pytest.raises(DBAPIError, match=RLS_REFUSED):
        async with database.transaction(company_id=COMPANY_A) as session:
            await session.execute(
                update(probe).where(probe.c.id == row_a).values(company_id=COMPANY_B)
            )

    async with database.transaction(company_id=COMPANY_B) as session:
        assert await notes(session, probe) == []
    async with database.transaction(company_id=COMPANY_A) as session:
        assert await notes(session, probe) == ["a's note"]


async def test_with_no_tenant_set_nothing_is_visible_or_writable(
    database: Database, probe: Table
) -> None:
    await add_row(database, probe, COMPANY_A, "a's note")

    async with database.engine.connect() as connection:
        assert await connection.scalar(select(func.count()).select_from(probe)) == 0
        with pytest.raises(DBAPIError, match=RLS_REFUSED):
            await connection.execute(
                insert(probe).values(id=uuid4(), company_id=COMPANY_A, note="no tenant")
            )
    async with database.transaction(scope="some_other_scope") as session:
        assert await notes(session, probe) == []


async def test_the_tenant_does_not_leak_into_the_next_transaction(
    database: Database, probe: Table
) -> None:
    await add_row(database, probe, COMPANY_A, "a's note")
    backend = select(func.pg_backend_pid())
    company_setting = select(func.current_setting("app.company_id", True))

    async with database.transaction(company_id=COMPANY_A) as session:
        first_backend = await session.scalar(backend)
        assert await notes(session, probe) == ["a's note"]
    async with database.transaction(scope="some_other_scope") as session:
        assert await session.scalar(backend) == first_backend
        assert await session.scalar(company_setting) in ("", None)
        assert await notes(session, probe) == []

    async def abandoned() -> None:
        async with database.transaction(company_id=COMPANY_A) as session:
            assert await session.scalar(backend) == first_backend
            raise RuntimeError("abandoned")

    with pytest.raises(RuntimeError, match="abandoned"):
        await abandoned()
    async with database.engine.connect() as connection:
        assert await connection.scalar(backend) == first_backend
        assert await connection.scalar(company_setting) in ("", None)
        assert await connection.scalar(select(func.count()).select_from(probe)) == 0


@pytest.mark.parametrize(
    ("company_id", "scope"),
    [(COMPANY_A, "outbox_relay"), (None, None)],
    ids=["both", "neither"],
)
async def test_a_transaction_must_name_exactly_one_company_or_scope(
    database: Database, company_id: UUID | None, scope: str | None
) -> None:
    with pytest.raises(TenantScopeError):
        async with database.transaction(company_id, scope=scope):
            pass


async def test_a_read_scope_reads_every_company_but_changes_nothing(
    database: Database, probe: Table, owner_connection: asyncpg.Connection
) -> None:
    qualified = f"ingest.{probe.name}"
    for statement in scope_read_sql(qualified, READER_SCOPE):
        await owner_connection.execute(statement)
    row_a = await add_row(database, probe, COMPANY_A, "a's note")
    await add_row(database, probe, COMPANY_B, "b's note")

    async with database.transaction(scope=READER_SCOPE) as session:
        assert await notes(session, probe) == ["a's note", "b's note"]
        assert await touched(session, update(probe), note="changed by the reader") == 0
        assert await touched(session, probe.delete().where(probe.c.id == row_a)) == 0
    with pytest.raises(DBAPIError, match=RLS_REFUSED):
        async with database.transaction(scope=READER_SCOPE) as session:
            await session.execute(
                insert(probe).values(id=uuid4(), company_id=COMPANY_A, note="from the reader")
            )

    async with database.transaction(company_id=COMPANY_A) as session:
        assert await notes(session, probe) == ["a's note"]


async def test_force_binds_the_owner_too(
    database: Database, probe: Table, owner_connection: asyncpg.Connection
) -> None:
    await add_row(database, probe, COMPANY_A, "a's note")
    await add_row(database, probe, COMPANY_B, "b's note")
    qualified = f"ingest.{probe.name}"
    count = f"SELECT count(*) FROM {qualified}"  # noqa: S608  # our own table name

    assert await owner_connection.fetchval(count) == 0
    async with owner_connection.transaction():
        await owner_connection.execute(
            "SELECT set_config('app.company_id', $1, true)", str(COMPANY_A)
        )
        assert await owner_connection.fetchval(count) == 1
