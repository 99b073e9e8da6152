import uuid

from common.db.alembic import downgrade, upgrade
from devstack.pytest_plugin import (
    forced_rls_tables,
    migrations_dir,
    run_sql,
    service_database_urls,
)

TABLES = {"company_limits": True, "documents": True, "inbox": True, "outbox": True}


def test_documents_of_every_company_are_carried_forward(scratch_database: str) -> None:
    owner_url = service_database_urls("ingest", scratch_database)["MIGRATION_DATABASE_URL"]
    upgrade(migrations_dir("ingest"), owner_url, "0001")
    ready, failed, processing = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    for document_id, status in ((ready, "ready"), (failed, "failed"), (processing, "processing")):
        run_sql(
            scratch_database,
            "INSERT INTO ingest.documents (id, company_id, title, filename, content_type,"
            " size_bytes, sha256, blob_key, uploaded_by, status, char_count)"
            " VALUES ($1, $2, 't', 't.md', 'text/markdown', 7, $3, 'k', $2, $4, 40)",
            document_id,
            uuid.uuid4(),
            document_id.hex * 2,
            status,
        )

    upgrade(migrations_dir("ingest"), owner_url)
    rows = run_sql(
        scratch_database,
        "SELECT id, status, version, active_version, active_char_count, stored_bytes"
        " FROM ingest.documents",
    )
    assert {row["id"]: tuple(row.values())[1:] for row in rows} == {
        ready: ("ready", 1, 1, 40, 7),
        failed: ("failed", 1, None, None, 7),
        processing: ("extracting", 1, None, None, 7),
    }

    downgrade(migrations_dir("ingest"), owner_url, "base")
    assert forced_rls_tables(scratch_database, "ingest") == {}
    upgrade(migrations_dir("ingest"), owner_url)
    assert forced_rls_tables(scratch_database, "ingest") == TABLES
