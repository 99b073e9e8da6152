"""The caller's company and its usage against the plan's limits: the gateway's public shapes
are the tenants service's internal ones. An `allowed` of null is unlimited."""

from datetime import date, datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from common.contracts.accounts import CompanyName

# Larger than any file the platform takes, small enough for a bigint sum never to overflow.
MAX_RESERVATION_BYTES = 1 << 40


class MessageUsage(BaseModel):
    used: int
    allowed: int | None
    period_start: date
    """The first day (UTC) of the calendar month the count is for."""
    resets_at: datetime
    """When the count starts again from zero: the first instant of next month, UTC."""


class CountUsage(BaseModel):
    used: int
    allowed: int | None


class StorageUsage(BaseModel):
    used_bytes: int
    allowed_bytes: int | None


class AssistantAllowance(BaseModel):
    allowed: int | None


class DocumentUsage(BaseModel):
    """What the company's documents hold against the plan, as ingest (their owner) counts
    it; the gateway puts it into the company's usage, whose limits tenants keeps."""

    document_characters_used: int


class CompanyUsage(BaseModel):
    messages: MessageUsage
    users: CountUsage
    """Active users against the plan's seats."""
    storage: StorageUsage
    document_characters: CountUsage
    assistants: AssistantAllowance


class CompanyOut(BaseModel):
    id: UUID
    name: str
    slug: str
    plan: str
    status: str
    subscription_status: str
    created_at: datetime
    usage: CompanyUsage


class CompanyUpdate(BaseModel):
    """What a company's managers may change; the slug never changes once given."""

    model_config = ConfigDict(extra="forbid")

    name: CompanyName


class MessageReservation(BaseModel):
    """One message taken from this month's allowance."""

    used: int
    allowed: int | None
    period_start: date


class MessageRelease(BaseModel):
    """Gives back a message taken in `period_start`'s month (a later month's count is left
    alone: its allowance was never touched)."""

    model_config = ConfigDict(extra="forbid")

    period_start: date


class StorageRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    bytes: int = Field(ge=1, le=MAX_RESERVATION_BYTES)
