"""The platform operators' API (`/v1/admin/...`): companies seen from outside any of them."""

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from common.contracts.accounts import CompanyName, EmailAddress, LoginRequest

PlanName = Literal["free", "starter", "professional", "business", "enterprise"]


class OperatorLogin(LoginRequest):
    pass


class OperatorToken(BaseModel):
    """No refresh token: an operator signs in again when the access token expires."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


class CompanySummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    name: str
    slug: str
    plan: PlanName
    status: Literal["active", "suspended"]
    subscription_status: str
    monthly_message_limit: int | None
    user_limit: int | None
    assistant_limit: int | None
    document_character_limit: int | None
    storage_mb_limit: int | None
    messages_used: int
    storage_bytes_used: int
    suspended_at: datetime | None
    created_at: datetime


class CompanyList(BaseModel):
    items: list[CompanySummary]
    limit: int
    offset: int
    total: int


class CompanyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: CompanyName
    plan: PlanName = "starter"
    owner_email: EmailAddress


class CompanyCreated(CompanySummary):
    owner_invitation_token: str
    """Shown once: the owner accepts it at POST /v1/invitations/{token}/accept."""


Limit = Annotated[int, Field(ge=0)] | None


class LimitsChange(BaseModel):
    """An operator's tailoring of one company's limits; only the fields given change, and
    null makes that limit unlimited. A later change of plan resets them to the plan's."""

    model_config = ConfigDict(extra="forbid")

    monthly_message_limit: Limit = None
    user_limit: Limit = None
    assistant_limit: Limit = None
    document_character_limit: Limit = None
    storage_mb_limit: Limit = None


class CompanyChange(BaseModel):
    """An operator's change to a company: its plan and/or limits, or its status with a
    reason."""

    model_config = ConfigDict(extra="forbid")

    plan: PlanName | None = None
    limits: LimitsChange | None = None
    status: Literal["active", "suspended"] | None = None
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None = None
