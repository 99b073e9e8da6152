"""Assistants and their operators; created by migration 0005."""

from datetime import datetime
from uuid import UUID

from sqlalchemy import DateTime, Float, ForeignKey, Text, Uuid, func
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from query.db import Base

NAME_UNIQUE = "uq_assistants_company_name"


class Assistant(Base):
    __tablename__ = "assistants"
    __mapper_args__ = {"eager_defaults": True}

    id: Mapped[UUID] = mapped_column(primary_key=True)
    company_id: Mapped[UUID]
    name: Mapped[str] = mapped_column(Text)
    system_prompt: Mapped[str] = mapped_column(Text)
    fallback_message: Mapped[str] = mapped_column(Text)
    document_scope: Mapped[str] = mapped_column(Text)
    document_ids: Mapped[list[UUID]] = mapped_column(ARRAY(Uuid))
    tags: Mapped[list[str]] = mapped_column(ARRAY(Text))
    history_messages: Mapped[int]
    handoff_keywords: Mapped[list[str]] = mapped_column(ARRAY(Text))
    handoff_on_low_confidence: Mapped[bool]
    handoff_min_confidence: Mapped[float] = mapped_column(Float)
    handoff_on_user_request: Mapped[bool]
    created_by: Mapped[UUID | None]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AssistantOperator(Base):
    __tablename__ = "assistant_operators"

    assistant_id: Mapped[UUID] = mapped_column(
        ForeignKey("query.assistants.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[UUID] = mapped_column(primary_key=True)
    company_id: Mapped[UUID]
    assigned_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
