"""Documents, the inbox and the outbox, under Row Level Security.

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
        CREATE TABLE ingest.documents (
            id uuid PRIMARY KEY,
            company_id uuid NOT NULL,
            title text NOT NULL,
            filename text NOT NULL,
            content_type text NOT NULL,
            size_bytes bigint NOT NULL CHECK (size_bytes > 0),
            sha256 text NOT NULL,
            blob_key text NOT NULL,
            uploaded_by uuid NOT NULL,
            status text NOT NULL
                CONSTRAINT ck_documents_status
                CHECK (status IN ('pending', 'processing', 'ready', 'failed')),
            failure_reason text,
            char_count integer,
            chunk_count integer,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            ready_at timestamptz
        )
        """
    )
    op.execute(
        "CREATE INDEX ix_documents_company_created "
        "ON ingest.documents (company_id, created_at DESC)"
    )
    enable_tenant_rls("ingest.documents")
    create_inbox_table("ingest")
    create_outbox_table("ingest")


def downgrade() -> None:
    op.execute("DROP TABLE ingest.outbox")
    op.execute("DROP TABLE ingest.inbox")
    op.execute("DROP TABLE ingest.documents")
