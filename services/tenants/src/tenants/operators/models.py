"""Platform operators: the SaaS operator's staff, outside every company; created by
migration 0002 and seen only under the platform scope."""

from datetime import datetime
from uuid import UUID

from sqlalchemy import Boolean, DateTime, Text, func, true
from sqlalchemy.orm import Mapped, mapped_column

from tenants.db import Base


class Operator(Base):
    __tablename__ = "operators"
    __mapper_args__ = {"eager_defaults": True}

    id: Mapped[UUID] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(Text)
    password_hash: Mapped[str] = mapped_column(Text)
    is_active: Mapped[bool] = mapped_column(Boolean, server_default=true())
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
