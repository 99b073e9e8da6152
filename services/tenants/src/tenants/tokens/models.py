"""Refresh tokens; created by migration 0002. Only the hash is kept. Each use rotates the
token (the old one is marked used); tokens descended from one sign-in share a family, so
a reused token revokes its whole family."""

from datetime import datetime
from uuid import UUID

from sqlalchemy import DateTime, ForeignKey, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from tenants.db import Base


class RefreshToken(Base):
    __tablename__ = "refresh_tokens"
    __mapper_args__ = {"eager_defaults": True}

    id: Mapped[UUID] = mapped_column(primary_key=True)
    company_id: Mapped[UUID] = mapped_column(ForeignKey("tenants.companies.id"))
    user_id: Mapped[UUID] = mapped_column(ForeignKey("tenants.users.id"))
    family_id: Mapped[UUID]
    token_hash: Mapped[str] = mapped_column(Text, unique=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
