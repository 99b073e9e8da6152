"""Row Level Security on assistants, their operators, conversations, messages and reactions,
checked as the application role: a transaction set to one company can neither read, change,
delete nor add another company's rows, whatever SQL it runs."""

from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import (
    ColumnElement,
    CursorResult,
    Table,
    and_,
    delete,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from common.db import Database
from query.assistants.models import Assistant, AssistantOperator
from query.conversations.models import Conversation, Message, MessageReaction

TABLES: dict[str, Table] = {
    "assistants": Assistant.__table__,  # type: ignore[dict-item]
    "assistant_operators": AssistantOperator.__table__,  # type: ignore[dict-item]
    "conversations": Conversation.__table__,  # type: ignore[dict-item]
    "messages": Message.__table__,  # type: ignore[dict-item]
    "message_reactions": MessageReaction.__table__,  # type: ignore[dict-item]
}
# A harmless change per table, for the attempts to change another company's rows.
CHANGES: dict[str, dict[str, Any]] = {
    "assistants": {"name": "tampered", "deleted_at": func.now()},
    "assistant_operators": {"user_id": uuid4()},
    "conversations": {"status": "resolved", "resolved_at": func.now()},
    "messages": {"content": "tampered", "found": False},
    "message_reactions": {"reaction": "thumbs_down"},
}


@dataclass(frozen=True)
class Seeded:
    """One row of each table for one company, linked as the product links them."""

    company_id: UUID
    assistant_id: UUID
    operator_id: UUID
    conversation_id: UUID
    message_id: UUID
    reactor: str

    def row(self, table: str) -> dict[str, Any]:
        """The columns of this company's row of `table`, as an insert takes them."""
        rows: dict[str, dict[str, Any]] = {
            "assistants": {
                "id": self.assistant_id,
                "name": f"Ventas {self.assistant_id.hex[:6]}",
                "fallback_message": "No lo sé.",
            },
            "assistant_operators": {"assistant_id": self.assistant_id, "user_id": self.operator_id},
            "conversations": {
                "id": self.conversation_id,
                "assistant_id": self.assistant_id,
                "end_user_id": "cliente-1",
                "channel": "web",
            },
            "messages": {
                "id": self.message_id,
                "conversation_id": self.conversation_id,
                "sender_type": "bot",
                "content": "Tienen veintitrés días de vacaciones.",
                "found": True,
            },
            "message_reactions": {
                "message_id": self.message_id,
                "reacted_by": self.reactor,
                "reaction": "thumbs_up",
            },
        }
        return rows[table] | {"company_id": self.company_id}

    def key(self, table: str) -> ColumnElement[bool]:
        """This company's row of `table`, by its primary key."""
        keys: dict[str, dict[str, Any]] = {
            "assistants": {"id": self.assistant_id},
            "assistant_operators": {"assistant_id": self.assistant_id, "user_id": self.operator_id},
            "conversations": {"id": self.conversation_id},
            "messages": {"id": self.message_id},
            "message_reactions": {"message_id": self.message_id, "reacted_by": self.reactor},
        }
        columns = TABLES[table].c
        return and_(*(columns[name] == value for name, value in keys[table].items()))


async def seed(database: Database) -> Seeded:
    seeded = Seeded(uuid4(), uuid4(), uuid4(), uuid4(), uuid4(), str(uuid4()))
    async with database.transaction(seeded.company_id) as session:
        for table in TABLES:  # parents first
            await session.execute(insert(TABLES[table]).values(seeded.row(table)))
    return seeded


@pytest.fixture
async def companies(query_database: Database) -> tuple[Seeded, Seeded]:
    return await seed(query_database), await seed(query_database)


async def count(session: AsyncSession, table: str, company_id: UUID | None = None) -> int:
    statement = select(func.count()).select_from(TABLES[table])
    if company_id is not None:
        statement = statement.where(TABLES[table].c.company_id == company_id)
    return int(await session.scalar(statement) or 0)


async def rows_changed(session: AsyncSession, statement: Any) -> int:
    result = await session.execute(statement)
    assert isinstance(result, CursorResult)
    return result.rowcount


async def test_the_service_connects_as_its_own_role_without_bypassrls(
    query_database: Database,
) -> None:
    async with query_database.transaction(scope="inspection") as session:
        row = (
            await session.execute(
                text(
                    "SELECT current_user AS name, rolsuper, rolbypassrls FROM pg_roles"
                    " WHERE rolname = current_user"
                )
            )
        ).one()

    assert (row.name, row.rolsuper, row.rolbypassrls) == ("query_app", False, False)


async def test_every_table_forces_row_level_security(query_database: Database) -> None:
    async with query_database.transaction(scope="inspection") as session:
        rows = await session.execute(
            text(
                "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class"
                " WHERE relnamespace = 'query'::regnamespace AND relname = ANY(:names)"
            ),
            {"names": list(TABLES)},
        )
        forced = {row.relname: (row.relrowsecurity, row.relforcerowsecurity) for row in rows}

    assert forced == dict.fromkeys(TABLES, (True, True))


class TestCompanyTransaction:
    async def test_sees_only_its_own_rows(
        self, query_database: Database, companies: tuple[Seeded, Seeded]
    ) -> None:
        a, b = companies

        async with query_database.transaction(b.company_id) as session:
            for table in TABLES:
                assert await count(session, table, a.company_id) == 0, table
                assert await count(session, table, b.company_id) == 1, table
                assert await count(session, table) == 1, table
                by_key = select(func.count()).select_from(TABLES[table]).where(a.key(table))
                assert await session.scalar(by_key) == 0, table
            # The ORM's lookups by id find nothing of another company's either.
            assert await session.get(Assistant, a.assistant_id) is None
            assert await session.get(Conversation, a.conversation_id) is None
            assert await session.get(Message, a.message_id) is None
            assert await session.get(MessageReaction, (a.message_id, a.reactor)) is None
            assert await session.get(AssistantOperator, (a.assistant_id, a.operator_id)) is None

    async def test_a_transaction_without_a_company_sees_nothing(
        self, query_database: Database, companies: tuple[Seeded, Seeded]
    ) -> None:
        async with query_database.transaction(scope="inspection") as session:
            for table in TABLES:
                assert await count(session, table) == 0, table

    @pytest.mark.parametrize("table", TABLES)
    async def test_cannot_change_or_delete_another_companys_rows(
        self, query_database: Database, companies: tuple[Seeded, Seeded], table: str
    ) -> None:
        a, b = companies
        target = TABLES[table]

        async with query_database.transaction(b.company_id) as session:
            changed = update(target).where(a.key(table)).values(CHANGES[table])
            assert await rows_changed(session, changed) == 0
            everyone = update(target).where(target.c.company_id == a.company_id)
            assert await rows_changed(session, everyone.values(CHANGES[table])) == 0
            assert await rows_changed(session, delete(target).where(a.key(table))) == 0
            of_a = delete(target).where(target.c.company_id == a.company_id)
            assert await rows_changed(session, of_a) == 0

        async with query_database.transaction(a.company_id) as session:
            [row] = (await session.execute(select(target).where(a.key(table)))).mappings()
            expected = a.row(table)
            assert {column: row[column] for column in expected} == expected

    @pytest.mark.parametrize("table", TABLES)
    async def test_cannot_add_rows_carrying_another_companys_id(
        self, query_database: Database, companies: tuple[Seeded, Seeded], table: str
    ) -> None:
        a, b = companies
        # Its own parents, so nothing but the company id is wrong; a key of its own.
        fresh_key: dict[str, dict[str, Any]] = {
            "assistants": {"id": uuid4(), "name": "Intruso"},
            "assistant_operators": {"user_id": uuid4()},
            "conversations": {"id": uuid4(), "end_user_id": "intruso"},
            "messages": {"id": uuid4()},
            "message_reactions": {"reacted_by": "intruso"},
        }
        row = b.row(table) | fresh_key[table] | {"company_id": a.company_id}

        with pytest.raises(DBAPIError, match="row-level security"):
            async with query_database.transaction(b.company_id) as session:
                await session.execute(insert(TABLES[table]).values(row))

        async with query_database.transaction(a.company_id) as session:
            assert await count(session, table) == 1

    @pytest.mark.parametrize("table", TABLES)
    async def test_cannot_move_its_own_rows_to_another_company(
        self, query_database: Database, companies: tuple[Seeded, Seeded], table: str
    ) -> None:
        a, b = companies

        with pytest.raises(DBAPIError, match="row-level security"):
            async with query_database.transaction(b.company_id) as session:
                await session.execute(
                    update(TABLES[table]).where(b.key(table)).values(company_id=a.company_id)
                )

        async with query_database.transaction(a.company_id) as session:
            assert await count(session, table) == 1

    @pytest.mark.parametrize(
        ("table", "parent"),
        [
            ("assistant_operators", {"assistant_id": "assistant_id"}),
            ("conversations", {"assistant_id": "assistant_id"}),
            ("messages", {"conversation_id": "conversation_id"}),
            ("message_reactions", {"message_id": "message_id"}),
        ],
    )
    async def test_cannot_attach_its_rows_to_another_companys(
        self,
        query_database: Database,
        companies: tuple[Seeded, Seeded],
        table: str,
        parent: dict[str, str],
    ) -> None:
        """Foreign key checks ignore Row Level Security, so the keys name the company: a row
        of B's pointing at A's parent is refused exactly as one pointing at no parent."""
        a, b = companies
        fresh_key: dict[str, dict[str, Any]] = {
            "assistant_operators": {"user_id": uuid4()},
            "conversations": {"id": uuid4(), "end_user_id": "intruso"},
            "messages": {"id": uuid4()},
            "message_reactions": {"reacted_by": "intruso"},
        }
        for pointing_at in (getattr(a, field) for field in parent.values()), [uuid4()]:
            links = dict(zip(parent, pointing_at, strict=True))
            row = b.row(table) | fresh_key[table] | links
            with pytest.raises(DBAPIError, match="foreign key"):
                async with query_database.transaction(b.company_id) as session:
                    await session.execute(insert(TABLES[table]).values(row))

        async with query_database.transaction(a.company_id) as session:
            assert await count(session, table) == 1
