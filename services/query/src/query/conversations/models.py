"""Conversations, messages and reactions; created by migration 0006."""

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import DateTime, Float, ForeignKey, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from query.db import Base

OPEN_CONVERSATION_UNIQUE = "uq_conversations_open"
QUESTION_SENDER_UNIQUE = "uq_messages_question_sender"


class Conversation(Base):
    __tablename__ = "conversations"
    __mapper_args__ = {"eager_defaults": True}

    id: Mapped[UUID] = mapped_column(primary_key=True)
    company_id: Mapped[UUID]
    assistant_id: Mapped[UUID | None] = mapped_column(ForeignKey("query.assistants.id"))
    end_user_id: Mapped[str] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, default="bot")
    handoff_reason: Mapped[str | None] = mapped_column(Text)
    handoff_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    assigned_to: Mapped[UUID | None]
    taken_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_by: Mapped[UUID | None]
    message_count: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_message_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class Message(Base):
    __tablename__ = "messages"
    __mapper_args__ = {"eager_defaults": True}

    id: Mapped[UUID] = mapped_column(primary_key=True)
    company_id: Mapped[UUID]
    conversation_id: Mapped[UUID] = mapped_column(
        ForeignKey("query.conversations.id", ondelete="CASCADE")
    )
    sender_type: Mapped[str] = mapped_column(Text)
    sender_id: Mapped[str | None] = mapped_column(Text)
    """A person's user id for `human`, the end user's id for `end_user`, None for `bot`."""
    sent_by: Mapped[UUID | None]
    """The person or API key whose request wrote it (None for the bot)."""
    content: Mapped[str] = mapped_column(Text)
    question_id: Mapped[UUID | None]
    retrieval_query: Mapped[str | None] = mapped_column(Text)
    tokens: Mapped[int | None]
    latency_ms: Mapped[int | None]
    model: Mapped[str | None] = mapped_column(Text)
    knowledge_sources: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    confidence: Mapped[float | None] = mapped_column(Float)
    found: Mapped[bool | None]
    handoff_reason: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class MessageReaction(Base):
    __tablename__ = "message_reactions"
    __mapper_args__ = {"eager_defaults": True}

    message_id: Mapped[UUID] = mapped_column(
        ForeignKey("query.messages.id", ondelete="CASCADE"), primary_key=True
    )
    reacted_by: Mapped[str] = mapped_column(Text, primary_key=True)
    company_id: Mapped[UUID]
    reaction: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
