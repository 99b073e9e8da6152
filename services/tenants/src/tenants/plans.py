"""The subscription plans and their limits, from the seed design (NeurAnt's getPlanLimits).

A plan's limits are copied onto the company when it is created or its plan changes, so an
operator can tailor one company's limits without a new plan. None means unlimited.
"""

from dataclasses import asdict, dataclass, fields
from enum import StrEnum
from typing import Any

from common.events import PlanLimitsV1


class Plan(StrEnum):
    FREE = "free"
    STARTER = "starter"
    PROFESSIONAL = "professional"
    BUSINESS = "business"
    ENTERPRISE = "enterprise"


@dataclass(frozen=True)
class PlanLimits:
    monthly_message_limit: int | None
    user_limit: int | None
    assistant_limit: int | None
    document_character_limit: int | None
    storage_mb_limit: int | None

    @classmethod
    def names(cls) -> list[str]:
        return [field.name for field in fields(cls)]

    def columns(self) -> dict[str, Any]:
        return asdict(self)

    def for_event(self) -> PlanLimitsV1:
        """As announced to the services that enforce some of them (ingest, query)."""
        return PlanLimitsV1(**asdict(self))


LIMITS: dict[Plan, PlanLimits] = {
    Plan.FREE: PlanLimits(500, 2, 1, 0, 0),
    Plan.STARTER: PlanLimits(3_000, 3, 2, 50_000, 5),
    Plan.PROFESSIONAL: PlanLimits(8_000, 8, 3, 250_000, 20),
    Plan.BUSINESS: PlanLimits(20_000, 15, 6, 750_000, 50),
    Plan.ENTERPRISE: PlanLimits(None, None, None, None, None),
}
