"""Assistants (the seed's chatbots): what each may answer from and when it hands over to a
person, and the operators assigned to each; and the plan limits tenants announces, for the
number of assistants.

Revision ID: 0005
Revises: 0004
"""

from alembic import op

from common.db.migrations import create_company_limits_table, enable_tenant_rls

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_company_limits_table("query")
    op.execute(
        """
        CREATE TABLE query.assistants (
            id uuid PRIMARY KEY,
            company_id uuid NOT NULL,
            name text NOT NULL,
            system_prompt text NOT NULL DEFAULT '',
            fallback_message text NOT NULL,
            document_scope text NOT NULL DEFAULT 'all'
                CONSTRAINT ck_assistants_document_scope
                CHECK (document_scope IN ('all', 'documents', 'tags')),
            document_ids uuid[] NOT NULL DEFAULT '{}',
            tags text[] NOT NULL DEFAULT '{}',
            history_messages integer NOT NULL DEFAULT 6
                CONSTRAINT ck_assistants_history_messages CHECK (history_messages BETWEEN 0 AND 50),
            handoff_keywords text[] NOT NULL DEFAULT '{}',
            handoff_on_low_confidence boolean NOT NULL DEFAULT true,
            handoff_min_confidence real NOT NULL DEFAULT 0.35,
            handoff_on_user_request boolean NOT NULL DEFAULT true,
            created_by uuid,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            deleted_at timestamptz
        )
        """
    )
    op.execute(
        "CREATE UNIQUE INDEX uq_assistants_company_name ON query.assistants"
        " (company_id, lower(name)) WHERE deleted_at IS NULL"
    )
    enable_tenant_rls("query.assistants")
    op.execute(
        """
        CREATE TABLE query.assistant_operators (
            assistant_id uuid NOT NULL REFERENCES query.assistants (id) ON DELETE CASCADE,
            user_id uuid NOT NULL,
            company_id uuid NOT NULL,
            assigned_at timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT pk_assistant_operators PRIMARY KEY (assistant_id, user_id)
        )
        """
    )
    op.execute("CREATE INDEX ix_assistant_operators_user ON query.assistant_operators (user_id)")
    enable_tenant_rls("query.assistant_operators")


def downgrade() -> None:
    op.execute("DROP TABLE query.assistant_operators")
    op.execute("DROP TABLE query.assistants")
    op.execute("DROP TABLE query.company_limits")
