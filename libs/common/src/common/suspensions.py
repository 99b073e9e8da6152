"""Which companies the platform operator has suspended, known to every process that must
refuse their work (gateway, ingest, query) without asking the tenants service each time.

Each process replays the suspensions topic from its start when it starts (the topic is keyed
by company; in production it is log-compacted, so the replay is one message per company),
then follows it. Suspend and reactivate of one company share a key, so they arrive in order.
The gateway that took the operator's change applies it at once, before its own event comes
back: an event older than the last change a process knows of is stale and ignored (else the
suspension's event, still on its way, would undo the reactivation that followed it).
"""

import logging
from datetime import UTC, datetime
from uuid import UUID

from faststream.kafka import KafkaBroker

from common.bus import subscribe_fanout
from common.events import CompanyReactivated, CompanySuspended, Event
from common.problems import Problem

logger = logging.getLogger(__name__)


def company_suspended() -> Problem:
    return Problem(403, "company-suspended", "This company is suspended; contact support.")


class Suspensions:
    def __init__(self) -> None:
        self._suspended: set[UUID] = set()
        self._changed_at: dict[UUID, datetime] = {}

    def register(self, broker: KafkaBroker) -> None:
        subscribe_fanout(
            broker,
            topic=CompanySuspended.topic,
            event_type=(CompanySuspended, CompanyReactivated),
            handler=self.apply,
            title="suspensions",
            from_beginning=True,
        )

    def apply(self, event: Event) -> None:
        """Follows one suspension or reactivation."""
        if isinstance(event, CompanySuspended):
            self.suspend(event.company_id, at=event.occurred_at)
        elif isinstance(event, CompanyReactivated):
            self.reactivate(event.company_id, at=event.occurred_at)

    def _is_news(self, company_id: UUID, at: datetime | None) -> bool:
        at = at or datetime.now(UTC)
        known = self._changed_at.get(company_id)
        if known is not None and at < known:
            return False
        self._changed_at[company_id] = at
        return True

    def suspend(self, company_id: UUID, *, at: datetime | None = None) -> None:
        """`at`: when the change was made (an event's time); None: now."""
        if not self._is_news(company_id, at):
            return
        if company_id not in self._suspended:
            logger.info("company suspended", extra={"company_id": str(company_id)})
        self._suspended.add(company_id)

    def reactivate(self, company_id: UUID, *, at: datetime | None = None) -> None:
        if self._is_news(company_id, at):
            self._suspended.discard(company_id)

    def is_suspended(self, company_id: UUID) -> bool:
        return company_id in self._suspended

    def check(self, company_id: UUID) -> None:
        """403 problem+json for a suspended company."""
        if company_id in self._suspended:
            raise company_suspended()
