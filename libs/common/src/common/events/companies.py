"""Events of the tenants service about companies."""

from typing import ClassVar, Literal
from uuid import UUID

from common.events.envelope import Event, Payload


class PlanLimitsV1(Payload):
    """A company's limits as its plan (or an operator) set them; None is unlimited. Services
    that enforce one of them keep the latest they were told."""

    monthly_message_limit: int | None
    user_limit: int | None
    assistant_limit: int | None
    document_character_limit: int | None
    storage_mb_limit: int | None


class CompanyCreatedV1(Payload):
    company_id: UUID
    name: str
    slug: str
    owner_user_id: UUID | None = None
    """None when an operator created the company: its owner joins by invitation."""
    plan: str | None = None
    limits: PlanLimitsV1 | None = None


class CompanyCreated(Event):
    topic: ClassVar[str] = "companies.created"
    type: Literal["company.created"] = "company.created"
    version: Literal[1] = 1
    payload: CompanyCreatedV1

    def key(self) -> str:
        return str(self.payload.company_id)


class CompanyPlanChangedV1(Payload):
    company_id: UUID
    old_plan: str
    new_plan: str
    changed_by: UUID | None = None
    """The operator who changed it; None when the system did."""
    limits: PlanLimitsV1 | None = None


class CompanyPlanChanged(Event):
    topic: ClassVar[str] = "companies.plan_changed"
    type: Literal["company.plan_changed"] = "company.plan_changed"
    version: Literal[1] = 1
    payload: CompanyPlanChangedV1

    def key(self) -> str:
        return str(self.payload.company_id)


class CompanyStatusV1(Payload):
    company_id: UUID
    reason: str | None = None
    changed_by: UUID | None = None


class CompanySuspended(Event):
    """The company's tokens and API keys stop working; services refuse its work."""

    topic: ClassVar[str] = "companies.suspended"
    type: Literal["company.suspended"] = "company.suspended"
    version: Literal[1] = 1
    payload: CompanyStatusV1

    def key(self) -> str:
        return str(self.payload.company_id)


class CompanyReactivated(Event):
    # On the suspensions topic, keyed by company, so a consumer sees suspend and
    # reactivate of one company in the order they happened.
    topic: ClassVar[str] = "companies.suspended"
    type: Literal["company.reactivated"] = "company.reactivated"
    version: Literal[1] = 1
    payload: CompanyStatusV1

    def key(self) -> str:
        return str(self.payload.company_id)
