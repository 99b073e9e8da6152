"""The account system: plan limits and usage on companies, sign-in protection and one owner on
users, and invitations, refresh tokens, API keys, audit logs and platform operators.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from common.db.migrations import (
    CURRENT_COMPANY,
    CURRENT_SCOPE,
    across_companies,
    allow_scope_read,
    enable_tenant_rls,
)

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "tenants"
# The scope of platform operators' work across companies (see tenants.scopes).
PLATFORM = "platform"


def _created_at() -> sa.Column[object]:
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    )


def _company_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["company_id"], [f"{SCHEMA}.companies.id"], name=f"fk_{table}_company_id_companies"
    )


def _user_fk(table: str, column: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{SCHEMA}.users.id"], name=f"fk_{table}_{column}_users"
    )


def upgrade() -> None:
    # Companies: the plan's limits are copied onto the row (an operator may tailor them for
    # one company); NULL is unlimited. Usage counts messages per calendar month.
    for column in (
        sa.Column("subscription_status", sa.Text, nullable=False, server_default="active"),
        sa.Column("monthly_message_limit", sa.Integer, nullable=True),
        sa.Column("user_limit", sa.Integer, nullable=True),
        sa.Column("assistant_limit", sa.Integer, nullable=True),
        sa.Column("document_character_limit", sa.BigInteger, nullable=True),
        sa.Column("storage_mb_limit", sa.Integer, nullable=True),
        sa.Column("messages_used", sa.Integer, nullable=False, server_default="0"),
        sa.Column(
            "usage_period_start",
            sa.Date,
            nullable=False,
            server_default=sa.text("date_trunc('month', now())::date"),
        ),
        sa.Column("document_characters_used", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("storage_bytes_used", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("suspended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
    ):
        op.add_column("companies", column, schema=SCHEMA)
    op.create_check_constraint(
        op.f("ck_companies_plan"),
        "companies",
        "plan IN ('free', 'starter', 'professional', 'business', 'enterprise')",
        schema=SCHEMA,
    )
    op.create_check_constraint(
        op.f("ck_companies_status"), "companies", "status IN ('active', 'suspended')", schema=SCHEMA
    )
    op.create_check_constraint(
        op.f("ck_companies_subscription_status"),
        "companies",
        "subscription_status IN ('trialing', 'active', 'past_due', 'cancelled')",
        schema=SCHEMA,
    )
    op.create_check_constraint(
        op.f("ck_companies_usage_within_limits"),
        "companies",
        "(monthly_message_limit IS NULL OR messages_used <= monthly_message_limit)"
        " AND (document_character_limit IS NULL"
        " OR document_characters_used <= document_character_limit)"
        " AND (storage_mb_limit IS NULL"
        " OR storage_bytes_used <= storage_mb_limit::bigint * 1048576)"
        " AND messages_used >= 0 AND document_characters_used >= 0 AND storage_bytes_used >= 0",
        schema=SCHEMA,
    )
    # Platform operators list and change every company; tenants still see only their own.
    op.execute(
        f"CREATE POLICY companies_{PLATFORM} ON {SCHEMA}.companies "
        f"USING ({CURRENT_SCOPE} = '{PLATFORM}') WITH CHECK ({CURRENT_SCOPE} = '{PLATFORM}')"
    )
    # Existing companies were all on the free plan: they get its limits (see tenants.plans).
    across_companies(
        f"UPDATE {SCHEMA}.companies SET monthly_message_limit = 500, user_limit = 2,"
        " assistant_limit = 1, document_character_limit = 0, storage_mb_limit = 0",
        f"{SCHEMA}.companies",
    )

    # Users: sign-in protection, soft deactivation, who invited whom, and one owner.
    for column in (
        sa.Column("failed_login_attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("password_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deactivated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("invited_by", sa.Uuid, nullable=True),
    ):
        op.add_column("users", column, schema=SCHEMA)
    op.create_foreign_key(
        "fk_users_invited_by_users",
        "users",
        "users",
        ["invited_by"],
        ["id"],
        source_schema=SCHEMA,
        referent_schema=SCHEMA,
    )
    # An email is unique within a company; a person may belong to several companies.
    op.drop_index("uq_users_lower_email", table_name="users", schema=SCHEMA)
    op.create_index(
        "uq_users_company_lower_email",
        "users",
        ["company_id", sa.text("lower(email)")],
        unique=True,
        schema=SCHEMA,
    )
    op.create_index("ix_users_lower_email", "users", [sa.text("lower(email)")], schema=SCHEMA)
    # At most one owner (this index) and at least one (the deferred trigger below, checked
    # at commit so ownership can pass from one user to another inside a transaction).
    op.create_index(
        "uq_users_one_owner",
        "users",
        ["company_id"],
        unique=True,
        schema=SCHEMA,
        postgresql_where=sa.text("role = 'owner'"),
    )
    op.execute(
        f"""
        CREATE FUNCTION {SCHEMA}.company_keeps_an_owner() RETURNS trigger
        LANGUAGE plpgsql AS $$
        DECLARE
            affected uuid := COALESCE(NEW.company_id, OLD.company_id);
        BEGIN
            IF NOT EXISTS (
                SELECT 1 FROM {SCHEMA}.users
                WHERE company_id = affected AND role = 'owner' AND is_active
            ) THEN
                RAISE EXCEPTION 'company % must have exactly one active owner', affected
                    USING ERRCODE = 'check_violation',
                          CONSTRAINT = 'company_has_one_owner';
            END IF;
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        f"CREATE CONSTRAINT TRIGGER company_has_one_owner "
        f"AFTER INSERT OR UPDATE OR DELETE ON {SCHEMA}.users "
        f"DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
        f"EXECUTE FUNCTION {SCHEMA}.company_keeps_an_owner()"
    )

    op.create_table(
        "invitations",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("company_id", sa.Uuid, nullable=False),
        sa.Column("email", sa.Text, nullable=False),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column("token_hash", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False, server_default="pending"),
        sa.Column("invited_by", sa.Uuid, nullable=True),
        sa.Column(
            "expires_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.text("now() + interval '7 days'"),
        ),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("accepted_user_id", sa.Uuid, nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        _created_at(),
        sa.PrimaryKeyConstraint("id", name="pk_invitations"),
        sa.UniqueConstraint("token_hash", name="uq_invitations_token_hash"),
        _company_fk("invitations"),
        _user_fk("invitations", "invited_by"),
        _user_fk("invitations", "accepted_user_id"),
        sa.CheckConstraint(
            "status IN ('pending', 'accepted', 'expired', 'cancelled')",
            name="ck_invitations_status",
        ),
        sa.CheckConstraint(
            "role IN ('owner', 'administrador', 'supervisor', 'operador')",
            name="ck_invitations_role",
        ),
        schema=SCHEMA,
    )
    op.create_index(
        "uq_invitations_pending_email",
        "invitations",
        ["company_id", sa.text("lower(email)")],
        unique=True,
        schema=SCHEMA,
        postgresql_where=sa.text("status = 'pending'"),
    )
    enable_tenant_rls(f"{SCHEMA}.invitations")
    allow_scope_read(f"{SCHEMA}.invitations", "invitation_accept")

    op.create_table(
        "refresh_tokens",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("company_id", sa.Uuid, nullable=False),
        sa.Column("user_id", sa.Uuid, nullable=False),
        sa.Column("family_id", sa.Uuid, nullable=False),
        sa.Column("token_hash", sa.Text, nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        _created_at(),
        sa.PrimaryKeyConstraint("id", name="pk_refresh_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_refresh_tokens_token_hash"),
        _company_fk("refresh_tokens"),
        _user_fk("refresh_tokens", "user_id"),
        schema=SCHEMA,
    )
    op.create_index("ix_refresh_tokens_user_id", "refresh_tokens", ["user_id"], schema=SCHEMA)
    op.create_index("ix_refresh_tokens_family_id", "refresh_tokens", ["family_id"], schema=SCHEMA)
    enable_tenant_rls(f"{SCHEMA}.refresh_tokens")
    allow_scope_read(f"{SCHEMA}.refresh_tokens", "token_refresh")

    op.create_table(
        "api_keys",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("company_id", sa.Uuid, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("prefix", sa.Text, nullable=False),
        sa.Column("key_hash", sa.Text, nullable=False),
        sa.Column("scopes", postgresql.ARRAY(sa.Text), nullable=False),
        sa.Column("rate_limit_per_minute", sa.Integer, nullable=False, server_default="60"),
        sa.Column("created_by", sa.Uuid, nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        _created_at(),
        sa.PrimaryKeyConstraint("id", name="pk_api_keys"),
        sa.UniqueConstraint("key_hash", name="uq_api_keys_key_hash"),
        _company_fk("api_keys"),
        _user_fk("api_keys", "created_by"),
        sa.CheckConstraint("rate_limit_per_minute > 0", name="ck_api_keys_rate_limit"),
        schema=SCHEMA,
    )
    op.create_index("ix_api_keys_company_id", "api_keys", ["company_id"], schema=SCHEMA)
    enable_tenant_rls(f"{SCHEMA}.api_keys")
    allow_scope_read(f"{SCHEMA}.api_keys", "api_key_auth")

    op.create_table(
        "audit_logs",
        sa.Column("id", sa.BigInteger, sa.Identity(), nullable=False),
        sa.Column("company_id", sa.Uuid, nullable=False),
        sa.Column("actor_type", sa.Text, nullable=False),
        sa.Column("actor_id", sa.Uuid, nullable=True),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("resource_type", sa.Text, nullable=False),
        sa.Column("resource_id", sa.Text, nullable=True),
        sa.Column("old_values", postgresql.JSONB, nullable=True),
        sa.Column("new_values", postgresql.JSONB, nullable=True),
        sa.Column("ip_address", postgresql.INET, nullable=True),
        sa.Column("user_agent", sa.Text, nullable=True),
        sa.Column("request_id", sa.Text, nullable=True),
        _created_at(),
        sa.PrimaryKeyConstraint("id", name="pk_audit_logs"),
        _company_fk("audit_logs"),
        sa.CheckConstraint(
            "actor_type IN ('user', 'api_key', 'operator', 'system')",
            name="ck_audit_logs_actor_type",
        ),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_audit_logs_company_created",
        "audit_logs",
        ["company_id", sa.text("created_at DESC"), sa.text("id DESC")],
        schema=SCHEMA,
    )
    # Written once and never changed, by anyone: a company reads and adds its own rows, and
    # no policy allows an update or a delete (FORCE binds the table's owner too).
    op.execute(f"ALTER TABLE {SCHEMA}.audit_logs ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {SCHEMA}.audit_logs FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY audit_logs_read ON {SCHEMA}.audit_logs FOR SELECT "
        f"USING (company_id = {CURRENT_COMPANY})"
    )
    op.execute(
        f"CREATE POLICY audit_logs_append ON {SCHEMA}.audit_logs FOR INSERT "
        f"WITH CHECK (company_id = {CURRENT_COMPANY})"
    )

    # Platform operators belong to no company: only the platform scope sees them.
    op.create_table(
        "operators",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("email", sa.Text, nullable=False),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        _created_at(),
        sa.PrimaryKeyConstraint("id", name="pk_operators"),
        schema=SCHEMA,
    )
    op.create_index(
        "uq_operators_lower_email",
        "operators",
        [sa.text("lower(email)")],
        unique=True,
        schema=SCHEMA,
    )
    op.execute(f"ALTER TABLE {SCHEMA}.operators ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {SCHEMA}.operators FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY operators_{PLATFORM} ON {SCHEMA}.operators "
        f"USING ({CURRENT_SCOPE} = '{PLATFORM}') WITH CHECK ({CURRENT_SCOPE} = '{PLATFORM}')"
    )


def downgrade() -> None:
    op.drop_table("operators", schema=SCHEMA)
    op.drop_table("audit_logs", schema=SCHEMA)
    op.drop_table("api_keys", schema=SCHEMA)
    op.drop_table("refresh_tokens", schema=SCHEMA)
    op.drop_table("invitations", schema=SCHEMA)
    op.execute(f"DROP TRIGGER company_has_one_owner ON {SCHEMA}.users")
    op.execute(f"DROP FUNCTION {SCHEMA}.company_keeps_an_owner()")
    op.drop_index("uq_users_one_owner", table_name="users", schema=SCHEMA)
    op.drop_index("ix_users_lower_email", table_name="users", schema=SCHEMA)
    op.drop_index("uq_users_company_lower_email", table_name="users", schema=SCHEMA)
    # Fails, as it should, where one email now belongs to people of several companies.
    op.create_index(
        "uq_users_lower_email", "users", [sa.text("lower(email)")], unique=True, schema=SCHEMA
    )
    op.drop_constraint("fk_users_invited_by_users", "users", schema=SCHEMA)
    for column in (
        "invited_by",
        "deactivated_at",
        "password_changed_at",
        "locked_until",
        "failed_login_attempts",
    ):
        op.drop_column("users", column, schema=SCHEMA)

    op.execute(f"DROP POLICY companies_{PLATFORM} ON {SCHEMA}.companies")
    for constraint in (
        op.f("ck_companies_usage_within_limits"),
        op.f("ck_companies_subscription_status"),
        op.f("ck_companies_status"),
        op.f("ck_companies_plan"),
    ):
        op.drop_constraint(constraint, "companies", schema=SCHEMA)
    for column in (
        "deleted_at",
        "suspended_at",
        "storage_bytes_used",
        "document_characters_used",
        "usage_period_start",
        "messages_used",
        "storage_mb_limit",
        "document_character_limit",
        "assistant_limit",
        "user_limit",
        "monthly_message_limit",
        "subscription_status",
    ):
        op.drop_column("companies", column, schema=SCHEMA)
