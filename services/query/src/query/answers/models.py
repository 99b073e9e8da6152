from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import DateTime, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from query.db import Base


class Answer(Base):
    """A question and the answer given, with what it cited. Conversations build on this."""

    __tablename__ = "answers"

    question_id: Mapped[UUID] = mapped_column(primary_key=True)
    company_id: Mapped[UUID]
    asked_by: Mapped[UUID]
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    found: Mapped[bool]
    citations: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    latency_ms: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
