"""The platform operators' API (`/v1/admin/...`): companies seen from outside any of them."""

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, StringConstraints

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


class CompanyChange(BaseModel):
    """An operator's change to a company: its plan, or its status with a reason."""

    model_config = ConfigDict(extra="forbid")

    plan: PlanName | None = None
    status: Literal["active", "suspended"] | None = None
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None = None
