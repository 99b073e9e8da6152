"""Conversations, their messages and reactions (the seed's design), replacing the answers
table: each stored answer becomes an end user's message and the bot's reply, in one
conversation per asker on the `api` channel.

Revision ID: 0006
Revises: 0005
"""

from alembic import op

from common.db.migrations import across_companies, enable_tenant_rls

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

NO_ASSISTANT = "'00000000-0000-0000-0000-000000000000'::uuid"


def upgrade() -> None:
    # Foreign keys name the company too. Row Level Security does not apply to the checks a
    # foreign key makes, so a bare id would let one company attach rows to another's (and
    # learn that an id exists); with the company in the key, only its own rows match.
    op.execute(
        "ALTER TABLE query.assistants ADD CONSTRAINT uq_assistants_company_id"
        " UNIQUE (company_id, id)"
    )
    op.execute(
        "ALTER TABLE query.assistant_operators"
        " DROP CONSTRAINT assistant_operators_assistant_id_fkey,"
        " ADD CONSTRAINT fk_assistant_operators_assistant FOREIGN KEY (company_id, assistant_id)"
        " REFERENCES query.assistants (company_id, id) ON DELETE CASCADE"
    )
    op.execute(
        """
        CREATE TABLE query.conversations (
            id uuid PRIMARY KEY,
            company_id uuid NOT NULL,
            assistant_id uuid,
            end_user_id text NOT NULL,
            channel text NOT NULL,
            status text NOT NULL DEFAULT 'bot'
                CONSTRAINT ck_conversations_status
                CHECK (status IN ('bot', 'waiting_human', 'human', 'resolved')),
            handoff_reason text
                CONSTRAINT ck_conversations_handoff_reason
                CHECK (handoff_reason IN
                       ('keyword', 'user_request', 'low_confidence', 'no_answer')),
            handoff_at timestamptz,
            assigned_to uuid,
            taken_at timestamptz,
            resolved_at timestamptz,
            resolved_by uuid,
            message_count integer NOT NULL DEFAULT 0,
            created_at timestamptz NOT NULL DEFAULT now(),
            last_message_at timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT ck_conversations_held CHECK ((status = 'human') = (assigned_to IS NOT NULL)),
            CONSTRAINT uq_conversations_company_id UNIQUE (company_id, id),
            CONSTRAINT fk_conversations_assistant FOREIGN KEY (company_id, assistant_id)
                REFERENCES query.assistants (company_id, id)
        )
        """
    )
    # One open conversation per end user, channel and assistant: a second question finds it.
    op.execute(
        "CREATE UNIQUE INDEX uq_conversations_open ON query.conversations"
        f" (company_id, coalesce(assistant_id, {NO_ASSISTANT}), channel, end_user_id)"
        " WHERE status <> 'resolved'"
    )
    op.execute(
        "CREATE INDEX ix_conversations_company_last ON query.conversations"
        " (company_id, last_message_at DESC)"
    )
    op.execute(
        "CREATE INDEX ix_conversations_company_created ON query.conversations"
        " (company_id, created_at)"
    )
    enable_tenant_rls("query.conversations")
    op.execute(
        """
        CREATE TABLE query.messages (
            id uuid PRIMARY KEY,
            company_id uuid NOT NULL,
            conversation_id uuid NOT NULL,
            sender_type text NOT NULL
                CONSTRAINT ck_messages_sender_type
                CHECK (sender_type IN ('bot', 'human', 'end_user')),
            sender_id text,
            sent_by uuid,
            content text NOT NULL,
            question_id uuid,
            retrieval_query text,
            tokens integer,
            latency_ms integer,
            model text,
            knowledge_sources jsonb NOT NULL DEFAULT '[]',
            confidence real,
            found boolean,
            handoff_reason text,
            error text,
            created_at timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT uq_messages_company_id UNIQUE (company_id, id),
            CONSTRAINT fk_messages_conversation FOREIGN KEY (company_id, conversation_id)
                REFERENCES query.conversations (company_id, id) ON DELETE CASCADE
        )
        """
    )
    op.execute(
        "CREATE INDEX ix_messages_conversation ON query.messages (conversation_id, created_at)"
    )
    op.execute(
        "CREATE INDEX ix_messages_company_created ON query.messages (company_id, created_at)"
    )
    op.execute(
        "CREATE UNIQUE INDEX uq_messages_question_sender ON query.messages"
        " (question_id, sender_type) WHERE question_id IS NOT NULL"
    )
    enable_tenant_rls("query.messages")
    op.execute(
        """
        CREATE TABLE query.message_reactions (
            message_id uuid NOT NULL,
            company_id uuid NOT NULL,
            reacted_by text NOT NULL,
            reaction text NOT NULL
                CONSTRAINT ck_message_reactions_reaction
                CHECK (reaction IN ('thumbs_up', 'thumbs_down', 'helpful', 'not_helpful')),
            created_at timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT pk_message_reactions PRIMARY KEY (message_id, reacted_by),
            CONSTRAINT fk_message_reactions_message FOREIGN KEY (company_id, message_id)
                REFERENCES query.messages (company_id, id) ON DELETE CASCADE
        )
        """
    )
    enable_tenant_rls("query.message_reactions")
    across_companies(
        """
        INSERT INTO query.conversations
            (id, company_id, end_user_id, channel, message_count, created_at, last_message_at)
        SELECT gen_random_uuid(), company_id, asked_by::text, 'api', 2 * count(*),
               min(created_at), max(created_at)
        FROM query.answers GROUP BY company_id, asked_by
        """,
        "query.answers",
        "query.conversations",
    )
    across_companies(
        """
        INSERT INTO query.messages
            (id, company_id, conversation_id, sender_type, sender_id, sent_by, content,
             question_id, latency_ms, knowledge_sources, found, created_at)
        SELECT gen_random_uuid(), a.company_id, c.id, s.sender_type,
               CASE WHEN s.sender_type = 'end_user' THEN a.asked_by::text END,
               CASE WHEN s.sender_type = 'end_user' THEN a.asked_by END,
               CASE WHEN s.sender_type = 'end_user' THEN a.question ELSE a.answer END,
               a.question_id,
               CASE WHEN s.sender_type = 'bot' THEN a.latency_ms END,
               CASE WHEN s.sender_type = 'bot' THEN a.citations ELSE '[]'::jsonb END,
               CASE WHEN s.sender_type = 'bot' THEN a.found END,
               a.created_at + CASE WHEN s.sender_type = 'bot'
                                   THEN a.latency_ms * interval '1 millisecond'
                                   ELSE interval '0' END
        FROM query.answers a
        JOIN query.conversations c
          ON c.company_id = a.company_id AND c.end_user_id = a.asked_by::text
         AND c.channel = 'api' AND c.assistant_id IS NULL
        CROSS JOIN (VALUES ('end_user'), ('bot')) AS s (sender_type)
        """,
        "query.answers",
        "query.conversations",
        "query.messages",
    )
    op.execute("DROP TABLE query.answers")


def downgrade() -> None:
    op.execute(
        """
        CREATE TABLE query.answers (
            question_id uuid PRIMARY KEY,
            company_id uuid NOT NULL,
            asked_by uuid NOT NULL,
            question text NOT NULL,
            answer text NOT NULL,
            found boolean NOT NULL,
            citations jsonb NOT NULL,
            latency_ms integer NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute("CREATE INDEX ix_answers_company_created ON query.answers (company_id, created_at)")
    enable_tenant_rls("query.answers")
    # Each question the bot answered goes back; people's replies have no place there.
    across_companies(
        """
        INSERT INTO query.answers
            (question_id, company_id, asked_by, question, answer, found, citations,
             latency_ms, created_at)
        SELECT q.question_id, q.company_id, q.sent_by, q.content, b.content,
               coalesce(b.found, false), b.knowledge_sources, coalesce(b.latency_ms, 0),
               q.created_at
        FROM query.messages q
        JOIN query.messages b ON b.question_id = q.question_id AND b.sender_type = 'bot'
        WHERE q.sender_type = 'end_user' AND q.sent_by IS NOT NULL
        """,
        "query.answers",
        "query.messages",
    )
    op.execute("DROP TABLE query.message_reactions")
    op.execute("DROP TABLE query.messages")
    op.execute("DROP TABLE query.conversations")
    op.execute(
        "ALTER TABLE query.assistant_operators"
        " DROP CONSTRAINT fk_assistant_operators_assistant,"
        " ADD CONSTRAINT assistant_operators_assistant_id_fkey FOREIGN KEY (assistant_id)"
        " REFERENCES query.assistants (id) ON DELETE CASCADE"
    )
    op.execute("ALTER TABLE query.assistants DROP CONSTRAINT uq_assistants_company_id")
