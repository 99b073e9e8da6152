from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from sqlalchemy import BigInteger, DateTime, Integer, SmallInteger, Text, func
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from ingest.db import Base


class DocumentStatus(StrEnum):
    PENDING = "pending"
    EXTRACTING = "extracting"
    CHUNKING = "chunking"
    EMBEDDING = "embedding"
    INDEXING = "indexing"
    READY = "ready"
    FAILED = "failed"
    DELETING = "deleting"
    DELETED = "deleted"


# Statuses in which a document holds its content hash: a second upload of it is a duplicate.
LIVE_STATUSES = frozenset(DocumentStatus) - {
    DocumentStatus.FAILED,
    DocumentStatus.DELETING,
    DocumentStatus.DELETED,
}
# Statuses a person no longer sees the document in.
GONE_STATUSES = frozenset({DocumentStatus.DELETED})


class Document(Base):
    __tablename__ = "documents"
    # Fetch database-set columns (updated_at) on flush: the API serialises the row right after.
    __mapper_args__ = {"eager_defaults": True}

    id: Mapped[UUID] = mapped_column(primary_key=True)
    company_id: Mapped[UUID] = mapped_column(index=True)
    title: Mapped[str] = mapped_column(Text)
    filename: Mapped[str] = mapped_column(Text)
    content_type: Mapped[str] = mapped_column(Text)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(Text)
    blob_key: Mapped[str] = mapped_column(Text)
    uploaded_by: Mapped[UUID]
    status: Mapped[str] = mapped_column(Text, default=DocumentStatus.EXTRACTING)
    progress: Mapped[int] = mapped_column(SmallInteger, default=0)
    stage_timings: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    failure_reason: Mapped[str | None] = mapped_column(Text)
    detected_format: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(Text)
    page_count: Mapped[int | None] = mapped_column(Integer)
    ocr_pages: Mapped[int | None] = mapped_column(Integer)
    char_count: Mapped[int | None] = mapped_column(Integer)
    """The latest version's characters, once extracted."""
    active_char_count: Mapped[int | None] = mapped_column(Integer)
    """The active version's characters: what the document holds against the plan while a
    newer version is on its way or failed."""
    stored_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    """What the company's storage counts for the document's files: every version kept."""
    chunk_count: Mapped[int | None] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer, default=1)
    """The latest uploaded version: status, progress, file and counts describe it."""
    active_version: Mapped[int | None] = mapped_column(Integer)
    """The version answers use (None until the first one is indexed)."""
    tags: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    category: Mapped[str | None] = mapped_column(Text)
    duplicate_of: Mapped[UUID | None]
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
    ready_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
