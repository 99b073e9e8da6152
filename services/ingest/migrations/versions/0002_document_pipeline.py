"""The document pipeline's stages, progress and timings; language, pages, tags, category;
one live document per content hash and company; soft deletion.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

from common.db.migrations import across_companies

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

STATUSES = (
    "pending",
    "extracting",
    "chunking",
    "embedding",
    "indexing",
    "ready",
    "failed",
    "deleting",
    "deleted",
)


def upgrade() -> None:
    op.execute("ALTER TABLE ingest.documents DROP CONSTRAINT ck_documents_status")
    across_companies(
        "UPDATE ingest.documents SET status = 'extracting' WHERE status = 'processing'",
        "ingest.documents",
    )
    statuses = ", ".join(f"'{s}'" for s in STATUSES)
    op.execute(
        f"ALTER TABLE ingest.documents ADD CONSTRAINT ck_documents_status "
        f"CHECK (status IN ({statuses}))"
    )
    op.execute(
        """
        ALTER TABLE ingest.documents
            ADD COLUMN progress smallint NOT NULL DEFAULT 0
                CONSTRAINT ck_documents_progress CHECK (progress BETWEEN 0 AND 100),
            ADD COLUMN stage_timings jsonb NOT NULL DEFAULT '{}'::jsonb,
            ADD COLUMN detected_format text,
            ADD COLUMN language text,
            ADD COLUMN page_count integer,
            ADD COLUMN ocr_pages integer,
            ADD COLUMN tags text[] NOT NULL DEFAULT '{}',
            ADD COLUMN category text,
            ADD COLUMN duplicate_of uuid,
            ADD COLUMN deleted_at timestamptz
        """
    )
    # The same content is indexed once per company: a second live copy is refused.
    op.execute(
        "CREATE UNIQUE INDEX uq_documents_company_sha256_live ON ingest.documents "
        "(company_id, sha256) WHERE status NOT IN ('failed', 'deleting', 'deleted')"
    )


def downgrade() -> None:
    op.execute("DROP INDEX ingest.uq_documents_company_sha256_live")
    op.execute(
        """
        ALTER TABLE ingest.documents
            DROP COLUMN progress, DROP COLUMN stage_timings, DROP COLUMN detected_format,
            DROP COLUMN language, DROP COLUMN page_count, DROP COLUMN ocr_pages,
            DROP COLUMN tags, DROP COLUMN category, DROP COLUMN duplicate_of,
            DROP COLUMN deleted_at
        """
    )
    op.execute("ALTER TABLE ingest.documents DROP CONSTRAINT ck_documents_status")
    across_companies(
        "UPDATE ingest.documents SET status = 'processing' "
        "WHERE status IN ('extracting', 'chunking', 'embedding', 'indexing')",
        "ingest.documents",
    )
    across_companies(
        "UPDATE ingest.documents SET status = 'failed', failure_reason = 'deleted' "
        "WHERE status IN ('deleting', 'deleted')",
        "ingest.documents",
    )
    op.execute(
        "ALTER TABLE ingest.documents ADD CONSTRAINT ck_documents_status "
        "CHECK (status IN ('pending', 'processing', 'ready', 'failed'))"
    )
