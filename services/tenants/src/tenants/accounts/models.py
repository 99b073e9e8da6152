"""Companies (the tenants) and their users; the tables are created by migrations 0001-0002."""

from datetime import date, datetime
from enum import StrEnum
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Text,
    func,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from common.auth import Role
from tenants.db import Base

# Named in the migration and matched when a write hits them.
COMPANY_SLUG_UNIQUE = "uq_companies_slug"
USER_EMAIL_UNIQUE = "uq_users_company_lower_email"
ONE_OWNER_UNIQUE = "uq_users_one_owner"


class CompanyStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"


class Company(Base):
    __tablename__ = "companies"
    __table_args__ = (CheckConstraint("slug ~ '^[a-z0-9-]+$'", name="slug_format"),)
    # Server-side defaults come back with the INSERT, so reading them later needs no I/O.
    __mapper_args__ = {"eager_defaults": True}

    id: Mapped[UUID] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    slug: Mapped[str] = mapped_column(Text, unique=True)
    plan: Mapped[str] = mapped_column(Text, server_default="free")
    status: Mapped[str] = mapped_column(Text, server_default=CompanyStatus.ACTIVE.value)
    subscription_status: Mapped[str] = mapped_column(Text, server_default="active")
    monthly_message_limit: Mapped[int | None] = mapped_column(Integer)
    user_limit: Mapped[int | None] = mapped_column(Integer)
    assistant_limit: Mapped[int | None] = mapped_column(Integer)
    document_character_limit: Mapped[int | None] = mapped_column(BigInteger)
    storage_mb_limit: Mapped[int | None] = mapped_column(Integer)
    messages_used: Mapped[int] = mapped_column(Integer, server_default="0")
    usage_period_start: Mapped[date] = mapped_column(
        Date, server_default=func.date_trunc("month", func.now())
    )
    document_characters_used: Mapped[int] = mapped_column(BigInteger, server_default="0")
    storage_bytes_used: Mapped[int] = mapped_column(BigInteger, server_default="0")
    suspended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(
            "role IN (" + ", ".join(f"'{role.value}'" for role in Role) + ")", name="role"
        ),
        Index("ix_users_company_id", "company_id"),
    )
    __mapper_args__ = {"eager_defaults": True}

    id: Mapped[UUID] = mapped_column(primary_key=True)
    company_id: Mapped[UUID] = mapped_column(ForeignKey(Company.id))
    email: Mapped[str] = mapped_column(Text)
    password_hash: Mapped[str] = mapped_column(Text)
    first_name: Mapped[str] = mapped_column(Text)
    last_name: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(Text, server_default=Role.OWNER.value)
    is_active: Mapped[bool] = mapped_column(Boolean, server_default=true())
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    failed_login_attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    password_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    deactivated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    invited_by: Mapped[UUID | None] = mapped_column(ForeignKey("tenants.users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


# An email is unique within a company; one person may belong to several companies.
Index(USER_EMAIL_UNIQUE, User.company_id, func.lower(User.email), unique=True)
