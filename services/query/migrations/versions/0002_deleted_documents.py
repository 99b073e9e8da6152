"""Tombstones of deleted documents, so chunks that arrive after a deletion stay out.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

from common.db.migrations import enable_tenant_rls

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE query.deleted_documents (
            document_id uuid PRIMARY KEY,
            company_id uuid NOT NULL,
            deleted_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    enable_tenant_rls("query.deleted_documents")


def downgrade() -> None:
    op.execute("DROP TABLE query.deleted_documents")
