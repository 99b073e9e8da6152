"""The one envelope every message on the bus travels in."""

from datetime import UTC, datetime
from typing import Any, ClassVar, Self
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Event(BaseModel):
    """Base of every event: subclasses fix `type`, `version`, the payload model and the topic.

    `key()` names the entity whose order matters; Kafka keeps one key's messages in order.
    """

    model_config = ConfigDict(frozen=True)

    topic: ClassVar[str]

    id: UUID = Field(default_factory=uuid4)
    type: str
    version: int
    occurred_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    company_id: UUID
    correlation_id: UUID
    causation_id: UUID | None = None
    payload: Any

    def key(self) -> str:
        raise NotImplementedError

    @classmethod
    def new(cls, company_id: UUID, payload: Any, *, cause: "Event | None" = None) -> Self:
        """A fresh event; one caused by another inherits its correlation id."""
        event_id = uuid4()
        return cls(  # type: ignore[call-arg]  # subclasses fix type and version
            id=event_id,
            company_id=company_id,
            correlation_id=cause.correlation_id if cause else event_id,
            causation_id=cause.id if cause else None,
            payload=payload,
        )
