import uuid

from common.db.alembic import downgrade, upgrade
from devstack.pytest_plugin import (
    forced_rls_tables,
    migrations_dir,
    run_sql,
    service_database_urls,
)

TABLES = {"documents": True, "inbox": True, "outbox": True}


def test_documents_of_every_company_are_carried_forward(scratch_database: str) -> None:
    owner_url = service_database_urls("ingest", scratch_database)["MIGRATION_DATABASE_URL"]
    upgrade(migrations_dir("ingest"), owner_url, "0001")
    ready, failed, processing = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    for document_id, status in ((ready, "ready"), (failed, "failed"), (processing, "processing")):
        run_sql(
            scratch_database,
            "INSERT INTO ingest.documents (id, company_id, title, filename, content_type,"
            " size_bytes, sha256, blob_key, uploaded_by, status)"
            " VALUES ($1, $2, 't', 't.md', 'text/markdown', 1, $3, 'k', $2, $4)",
            document_id,
            uuid.uuid4(),
            document_id.hex * 2,
            status,
        )

    upgrade(migrations_dir("ingest"), owner_url)
    rows = run_sql(
        scratch_database, "SELECT id, status, version, active_version FROM ingest.documents"
    )
    assert {row["id"]: (row["status"], row["version"], row["active_version"]) for row in rows} == {
        ready: ("ready", 1, 1),
        failed: ("failed", 1, None),
        processing: ("extracting", 1, None),
    }

    downgrade(migrations_dir("ingest"), owner_url, "base")
    assert forced_rls_tables(scratch_database, "ingest") == {}
    upgrade(migrations_dir("ingest"), owner_url)
    assert forced_rls_tables(scratch_database, "ingest") == TABLES
