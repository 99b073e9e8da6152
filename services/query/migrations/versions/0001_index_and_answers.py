"""Indexed chunk batches, answers, the inbox and the outbox, under Row Level Security.

Revision ID: 0001
Revises:
"""

from alembic import op

from common.db.migrations import create_inbox_table, create_outbox_table, enable_tenant_rls

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE query.indexed_batches (
            document_id uuid NOT NULL,
            batch_index integer NOT NULL,
            company_id uuid NOT NULL,
            batch_count integer NOT NULL,
            chunk_count integer NOT NULL,
            indexed_at timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT pk_indexed_batches PRIMARY KEY (document_id, batch_index)
        )
        """
    )
    enable_tenant_rls("query.indexed_batches")
    op.execute(
        """
        CREATE TABLE query.answers (
            question_id uuid PRIMARY KEY,
            company_id uuid NOT NULL,
            asked_by uuid NOT NULL,
            question text NOT NULL,
            answer text NOT NULL,
            found boolean NOT NULL,
            citations jsonb NOT NULL,
            latency_ms integer NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute("CREATE INDEX ix_answers_company_created ON query.answers (company_id, created_at)")
    enable_tenant_rls("query.answers")
    create_inbox_table("query")
    create_outbox_table("query")


def downgrade() -> None:
    for table in ("outbox", "inbox", "answers", "indexed_batches"):
        op.execute(f"DROP TABLE query.{table}")
