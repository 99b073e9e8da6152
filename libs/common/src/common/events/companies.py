"""Events of the tenants service about companies."""

from typing import ClassVar, Literal
from uuid import UUID

from common.events.envelope import Event, Payload


class CompanyCreatedV1(Payload):
    company_id: UUID
    name: str
    slug: str
    owner_user_id: UUID


class CompanyCreated(Event):
    topic: ClassVar[str] = "companies.created"
    type: Literal["company.created"] = "company.created"
    version: Literal[1] = 1
    payload: CompanyCreatedV1

    def key(self) -> str:
        return str(self.payload.company_id)
