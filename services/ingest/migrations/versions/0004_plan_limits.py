"""The plan's limits as tenants announces them; what each document counts against them (its
active version's characters, every kept version's bytes).

Revision ID: 0004
Revises: 0003
"""

from alembic import op

from common.db.migrations import across_companies, create_company_limits_table

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_company_limits_table("ingest")
    op.execute(
        """
        ALTER TABLE ingest.documents
            ADD COLUMN active_char_count integer
                CONSTRAINT ck_documents_active_char_count CHECK (active_char_count >= 0),
            ADD COLUMN stored_bytes bigint NOT NULL DEFAULT 0
                CONSTRAINT ck_documents_stored_bytes CHECK (stored_bytes >= 0)
        """
    )
    # Earlier versions' sizes were not kept: the latest stands for them. A duplicate was never
    # kept, and a deleted document's storage is past giving back.
    across_companies(
        "UPDATE ingest.documents SET"
        " active_char_count = CASE WHEN active_version IS NOT NULL THEN char_count END,"
        " stored_bytes = CASE WHEN duplicate_of IS NULL AND status <> 'deleted'"
        " THEN size_bytes ELSE 0 END",
        "ingest.documents",
    )


def downgrade() -> None:
    op.execute(
        "ALTER TABLE ingest.documents DROP COLUMN stored_bytes, DROP COLUMN active_char_count"
    )
    op.execute("DROP TABLE ingest.company_limits")
