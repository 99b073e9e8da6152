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
    "assistant_operators": True,
    "assistants": True,
    "company_limits": True,
    "conversations": True,
    "deleted_documents": True,
    "document_metadata": True,
    "inbox": True,
    "indexed_batches": True,
    "message_reactions": True,
    "messages": True,
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


def test_stored_answers_become_conversations_and_come_back(scratch_database: str) -> None:
    owner_url = service_database_urls("query", scratch_database)["MIGRATION_DATABASE_URL"]
    upgrade(migrations_dir("query"), owner_url, "0005")
    company, asker, other_asker = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    questions = [(uuid.uuid4(), asker), (uuid.uuid4(), asker), (uuid.uuid4(), other_asker)]
    for n, (question_id, asked_by) in enumerate(questions):
        run_sql(
            scratch_database,
            "INSERT INTO query.answers (question_id, company_id, asked_by, question, answer,"
            " found, citations, latency_ms, created_at)"
            " VALUES ($1, $2, $3, $4, 'answer', true, '[{\"title\": \"Manual\"}]', 40,"
            " now() - make_interval(mins => $5))",
            question_id,
            company,
            asked_by,
            f"question {n}",
            10 - n,
        )

    upgrade(migrations_dir("query"), owner_url)
    conversations = run_sql(
        scratch_database,
        "SELECT end_user_id, channel, status, message_count FROM query.conversations"
        " ORDER BY message_count DESC",
    )
    assert conversations == [
        {"end_user_id": str(asker), "channel": "api", "status": "bot", "message_count": 4},
        {"end_user_id": str(other_asker), "channel": "api", "status": "bot", "message_count": 2},
    ]
    messages = run_sql(
        scratch_database,
        "SELECT m.sender_type, m.content, m.knowledge_sources::text AS sources"
        " FROM query.messages m JOIN query.conversations c ON c.id = m.conversation_id"
        " WHERE c.end_user_id = $1 ORDER BY m.created_at",
        str(asker),
    )
    assert [(m["sender_type"], m["content"]) for m in messages] == [
        ("end_user", "question 0"),
        ("bot", "answer"),
        ("end_user", "question 1"),
        ("bot", "answer"),
    ]
    assert messages[1]["sources"] == '[{"title": "Manual"}]'

    downgrade(migrations_dir("query"), owner_url, "0005")
    back = run_sql(
        scratch_database,
        "SELECT question_id, asked_by, question, latency_ms FROM query.answers ORDER BY question",
    )
    assert back == [
        {"question_id": q, "asked_by": a, "question": f"question {n}", "latency_ms": 40}
        for n, (q, a) in enumerate(questions)
    ]
