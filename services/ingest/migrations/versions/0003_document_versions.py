"""Document versions: the latest uploaded version, and the one answers use.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

from common.db.migrations import across_companies

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE ingest.documents
            ADD COLUMN version integer NOT NULL DEFAULT 1
                CONSTRAINT ck_documents_version CHECK (version >= 1),
            ADD COLUMN active_version integer
                CONSTRAINT ck_documents_active_version
                CHECK (active_version BETWEEN 1 AND version)
        """
    )
    across_companies(
        "UPDATE ingest.documents SET active_version = 1 WHERE status = 'ready'",
        "ingest.documents",
    )


def downgrade() -> None:
    op.execute("ALTER TABLE ingest.documents DROP COLUMN active_version, DROP COLUMN version")
