"""Helpers for the services' Alembic migrations, so every schema gets the same tenancy rules.

Each `*_sql` function returns the statements (testable without Alembic); the plain-named
function runs them inside a migration.
"""

from alembic import op

from common.db.session import COMPANY_SETTING, SCOPE_SETTING

CURRENT_COMPANY = f"NULLIF(current_setting('{COMPANY_SETTING}', true), '')::uuid"
CURRENT_SCOPE = f"current_setting('{SCOPE_SETTING}', true)"


def _short(table: str) -> str:
    return table.split(".")[-1]


def tenant_rls_sql(
    table: str, *, column: str = "company_id", also_scope: str | None = None
) -> list[str]:
    """Forces Row Level Security on `table` (schema-qualified): only the current company's rows.

    FORCE makes the policy bind the table's owner too. `also_scope` lets a named system
    scope use every row (the outbox relay).
    """
    condition = f"{column} = {CURRENT_COMPANY}"
    if also_scope:
        condition = f"({condition} OR {CURRENT_SCOPE} = '{also_scope}')"
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"CREATE POLICY {_short(table)}_tenant_isolation ON {table} "
        f"USING ({condition}) WITH CHECK ({condition})",
    ]


def scope_read_sql(table: str, scope: str) -> list[str]:
    """Lets a named system scope read (never change) every company's rows, e.g. sign-in by email."""
    return [
        f"CREATE POLICY {_short(table)}_{scope}_read ON {table} FOR SELECT "
        f"USING ({CURRENT_SCOPE} = '{scope}')"
    ]


def outbox_table_sql(schema: str) -> list[str]:
    """The transactional outbox (see common.bus.outbox); the relay's scope sees every row."""
    return [
        f"""
        CREATE TABLE {schema}.outbox (
            sequence bigserial PRIMARY KEY,
            event_id uuid NOT NULL CONSTRAINT uq_outbox_event_id UNIQUE,
            company_id uuid NOT NULL,
            topic text NOT NULL,
            key text NOT NULL,
            body bytea NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now()
        )
        """,
        *tenant_rls_sql(f"{schema}.outbox", also_scope="outbox_relay"),
    ]


def inbox_table_sql(schema: str) -> list[str]:
    """Processed event ids, per consumer, written in the same transaction as the effects."""
    return [
        f"""
        CREATE TABLE {schema}.inbox (
            consumer text NOT NULL,
            event_id uuid NOT NULL,
            company_id uuid NOT NULL,
            processed_at timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT pk_inbox PRIMARY KEY (consumer, event_id)
        )
        """,
        *tenant_rls_sql(f"{schema}.inbox"),
    ]


def company_limits_table_sql(schema: str) -> list[str]:
    """The plan limits tenants last announced for each company (see common.plan_limits)."""
    return [
        f"""
        CREATE TABLE {schema}.company_limits (
            company_id uuid NOT NULL CONSTRAINT pk_company_limits PRIMARY KEY,
            monthly_message_limit bigint,
            user_limit bigint,
            assistant_limit bigint,
            document_character_limit bigint,
            storage_mb_limit bigint,
            announced_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL DEFAULT now()
        )
        """,
        *tenant_rls_sql(f"{schema}.company_limits"),
    ]


def _run(statements: list[str]) -> None:
    for statement in statements:
        op.execute(statement)


def across_companies_sql(statement: str, *tables: str) -> list[str]:
    """`statement` run over every company's rows of `tables`, for a data migration: forced RLS
    would show the owner none. The tables are forced again right after, in the same
    transaction, so nothing else ever runs without it."""
    return [
        *(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY" for table in tables),
        statement,
        *(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY" for table in tables),
    ]


def across_companies(statement: str, *tables: str) -> None:
    _run(across_companies_sql(statement, *tables))


def enable_tenant_rls(
    table: str, *, column: str = "company_id", also_scope: str | None = None
) -> None:
    _run(tenant_rls_sql(table, column=column, also_scope=also_scope))


def allow_scope_read(table: str, scope: str) -> None:
    _run(scope_read_sql(table, scope))


def create_outbox_table(schema: str) -> None:
    _run(outbox_table_sql(schema))


def create_inbox_table(schema: str) -> None:
    _run(inbox_table_sql(schema))


def create_company_limits_table(schema: str) -> None:
    _run(company_limits_table_sql(schema))
