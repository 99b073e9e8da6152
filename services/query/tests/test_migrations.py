import uuid

from common.db.alembic import downgrade, upgrade
from devstack.pytest_plugin import (
    forced_rls_tables,
    migrations_dir,
    run_sql,
    service_database_urls,
)

TABLES = {
    "active_documents": True,
    "answers": True,
    "assistant_operators": True,
    "assistants": True,
    "company_limits": True,
    "deleted_documents": True,
    "document_metadata": True,
    "inbox": True,
    "indexed_batches": True,
    "outbox": True,
}


def test_fully_indexed_documents_arrive_active(scratch_database: str) -> None:
    owner_url = service_database_urls("query", scratch_database)["MIGRATION_DATABASE_URL"]
    upgrade(migrations_dir("query"), owner_url, "0002")
    company, complete, partial = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    for document_id, batch_index in ((complete, 0), (complete, 1), (partial, 0)):
        run_sql(
            scratch_database,
            "INSERT INTO query.indexed_batches"
            " (document_id, batch_index, company_id, batch_count, chunk_count)"
            " VALUES ($1, $2, $3, 2, 40)",
            document_id,
            batch_index,
            company,
        )

    upgrade(migrations_dir("query"), owner_url)
    rows = run_sql(scratch_database, "SELECT document_id, version FROM query.active_documents")
    assert rows == [{"document_id": complete, "version": 1}]
    assert forced_rls_tables(scratch_database, "query") == TABLES

    downgrade(migrations_dir("query"), owner_url, "0002")
    rows = run_sql(scratch_database, "SELECT count(*) AS n FROM query.indexed_batches")
    assert rows == [{"n": 3}]
    downgrade(migrations_dir("query"), owner_url, "base")
    assert forced_rls_tables(scratch_database, "query") == {}
    upgrade(migrations_dir("query"), owner_url)
    assert forced_rls_tables(scratch_database, "query") == TABLES
