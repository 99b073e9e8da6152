"""Companies, their users, and the outbox, each under Row Level Security.

Revision ID: 0001
Revises:
Create Date: 2025-01-01

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from common.db.migrations import allow_scope_read, create_outbox_table, enable_tenant_rls

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "tenants"


def _timestamps() -> list[sa.Column[object]]:
    return [
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "companies",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("slug", sa.Text, nullable=False),
        sa.Column("plan", sa.Text, nullable=False, server_default="free"),
        sa.Column("status", sa.Text, nullable=False, server_default="active"),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name="pk_companies"),
        sa.UniqueConstraint("slug", name="uq_companies_slug"),
        sa.CheckConstraint("slug ~ '^[a-z0-9-]+$'", name="ck_companies_slug_format"),
        schema=SCHEMA,
    )
    enable_tenant_rls(f"{SCHEMA}.companies", column="id")

    op.create_table(
        "users",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("company_id", sa.Uuid, nullable=False),
        sa.Column("email", sa.Text, nullable=False),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("first_name", sa.Text, nullable=False),
        sa.Column("last_name", sa.Text, nullable=False),
        sa.Column("role", sa.Text, nullable=False, server_default="owner"),
        sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.ForeignKeyConstraint(
            ["company_id"],
            [f"{SCHEMA}.companies.id"],
            name="fk_users_company_id_companies",
        ),
        sa.CheckConstraint(
            "role IN ('owner', 'administrador', 'supervisor', 'operador')", name="ck_users_role"
        ),
        schema=SCHEMA,
    )
    op.create_index("ix_users_company_id", "users", ["company_id"], schema=SCHEMA)
    # Sign-in is by email alone for now, so an email is unique across all companies.
    op.create_index(
        "uq_users_lower_email", "users", [sa.text("lower(email)")], unique=True, schema=SCHEMA
    )
    enable_tenant_rls(f"{SCHEMA}.users")
    allow_scope_read(f"{SCHEMA}.users", "sign_in")

    create_outbox_table(SCHEMA)


def downgrade() -> None:
    op.drop_table("outbox", schema=SCHEMA)
    op.drop_table("users", schema=SCHEMA)
    op.drop_table("companies", schema=SCHEMA)
