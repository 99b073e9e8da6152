"""Daily usage analytics per assistant (the seed's daily analytics), computed by the query
service from its conversations and messages."""

from datetime import date
from uuid import UUID

from pydantic import BaseModel


class UsageDay(BaseModel):
    """One assistant's day (UTC); `assistant_id` None: questions asked without an assistant."""

    day: date
    assistant_id: UUID | None
    conversations: int
    """Conversations started that day."""
    messages: int
    """Messages written that day: the end users', the bot's and people's."""
    handoffs: int
    """The bot's replies that sent the conversation to a person (or asked for one again)."""
    average_latency_ms: float | None
    """Of the bot's replies; None when it wrote none that day."""
    unanswered_questions: int
    """The bot's replies that found nothing in the documents to answer with; not counting
    those where the end user asked for a person, nor those the answer provider failed on."""


class UsageReport(BaseModel):
    start: date
    end: date
    """Both inclusive."""
    days: list[UsageDay]
    """Only days with activity; by day, then assistant, questions without one last."""
