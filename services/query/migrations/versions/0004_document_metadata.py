"""Each document's latest title, tags and category, which win over what its chunks carried.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

from common.db.migrations import enable_tenant_rls

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE query.document_metadata (
            document_id uuid PRIMARY KEY,
            company_id uuid NOT NULL,
            title text NOT NULL,
            tags text[] NOT NULL DEFAULT '{}',
            category text,
            changed_at timestamptz NOT NULL,
            recorded_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    enable_tenant_rls("query.document_metadata")


def downgrade() -> None:
    op.execute("DROP TABLE query.document_metadata")
