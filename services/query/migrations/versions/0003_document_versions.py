"""Document versions: indexed batches per version, and which version answers use.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

from common.db.migrations import across_companies, enable_tenant_rls

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE query.indexed_batches
            ADD COLUMN document_version integer NOT NULL DEFAULT 1,
            DROP CONSTRAINT pk_indexed_batches,
            ADD CONSTRAINT pk_indexed_batches
                PRIMARY KEY (document_id, document_version, batch_index)
        """
    )
    op.execute(
        """
        CREATE TABLE query.active_documents (
            document_id uuid PRIMARY KEY,
            company_id uuid NOT NULL,
            version integer NOT NULL CONSTRAINT ck_active_documents_version CHECK (version >= 1),
            activated_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    enable_tenant_rls("query.active_documents")
    # Documents indexed before versions existed are at their first version.
    across_companies(
        """
        INSERT INTO query.active_documents (document_id, company_id, version)
        SELECT document_id, company_id, 1 FROM query.indexed_batches
        GROUP BY document_id, company_id HAVING count(*) = max(batch_count)
        """,
        "query.indexed_batches",
        "query.active_documents",
    )


def downgrade() -> None:
    op.execute("DROP TABLE query.active_documents")
    across_companies(
        "DELETE FROM query.indexed_batches WHERE document_version > 1", "query.indexed_batches"
    )
    op.execute(
        """
        ALTER TABLE query.indexed_batches
            DROP CONSTRAINT pk_indexed_batches,
            DROP COLUMN document_version,
            ADD CONSTRAINT pk_indexed_batches PRIMARY KEY (document_id, batch_index)
        """
    )
