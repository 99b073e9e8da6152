from datetime import datetime
from uuid import UUID

from sqlalchemy import DateTime, Text, func
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from query.db import Base


class IndexedBatch(Base):
    """Which of a document version's chunk batches are in the index; all of them makes that
    version indexed."""

    __tablename__ = "indexed_batches"

    document_id: Mapped[UUID] = mapped_column(primary_key=True)
    document_version: Mapped[int] = mapped_column(primary_key=True, default=1)
    batch_index: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[UUID]
    batch_count: Mapped[int]
    chunk_count: Mapped[int]
    indexed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class DeletedDocument(Base):
    """A deleted document: its chunks are purged and never indexed again."""

    __tablename__ = "deleted_documents"

    document_id: Mapped[UUID] = mapped_column(primary_key=True)
    company_id: Mapped[UUID]
    deleted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ActiveDocument(Base):
    """The version of a document that answers use. Searches keep only hits of this version,
    so switching to a new one is this row's update: no answer sees both versions, or neither.
    No row: nothing of the document may be cited (not yet fully indexed, or deleted)."""

    __tablename__ = "active_documents"

    document_id: Mapped[UUID] = mapped_column(primary_key=True)
    company_id: Mapped[UUID]
    version: Mapped[int]
    activated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class DocumentMetadata(Base):
    """A document's title, tags and category as of its latest change in ingest: they win over
    what its chunks were embedded with, which may be older. `changed_at` is the change's own
    time (its event's), so a change that arrives late never overwrites a newer one."""

    __tablename__ = "document_metadata"

    document_id: Mapped[UUID] = mapped_column(primary_key=True)
    company_id: Mapped[UUID]
    title: Mapped[str] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(ARRAY(Text))
    category: Mapped[str | None] = mapped_column(Text)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    recorded_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
