"""A company's people, invitations and audit log: the gateway's public shapes are the tenants
service's internal ones."""

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, BeforeValidator, ConfigDict

from common.auth import Role
from common.contracts.accounts import AccessToken, EmailAddress, Password, PersonName

# An invitation or a role change never makes an owner: ownership is transferred.
AssignableRole = Literal["administrador", "supervisor", "operador"]


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    email: str
    first_name: str
    last_name: str
    role: Role
    is_active: bool
    last_login_at: datetime | None
    created_at: datetime
    deactivated_at: datetime | None


class UserPage(BaseModel):
    items: list[UserOut]
    limit: int
    offset: int
    total: int


class RoleChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: AssignableRole


class OwnershipTransfer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    new_owner_id: UUID


class InvitationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailAddress
    role: AssignableRole = "operador"


class InvitationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    email: str
    role: Role
    status: Literal["pending", "accepted", "expired", "cancelled"]
    invited_by: UUID | None
    expires_at: datetime
    accepted_at: datetime | None
    created_at: datetime


class InvitationCreated(InvitationOut):
    token: str
    """Shown once: the invitee accepts with it at POST /v1/invitations/{token}/accept."""


class InvitationPage(BaseModel):
    items: list[InvitationOut]
    limit: int
    offset: int
    total: int


class InvitationAcceptance(BaseModel):
    model_config = ConfigDict(extra="forbid")

    first_name: PersonName
    last_name: PersonName
    password: Password


class JoinedCompany(AccessToken):
    company_id: UUID
    user_id: UUID


class AuditLogOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    actor_type: str
    actor_id: UUID | None
    action: str
    resource_type: str
    resource_id: str | None
    old_values: dict[str, Any] | None
    new_values: dict[str, Any] | None
    # The database hands back an ipaddress object.
    ip_address: Annotated[str | None, BeforeValidator(lambda value: value and str(value))]
    user_agent: str | None
    request_id: str | None
    created_at: datetime


class AuditLogPage(BaseModel):
    items: list[AuditLogOut]
    limit: int
    offset: int
    total: int
