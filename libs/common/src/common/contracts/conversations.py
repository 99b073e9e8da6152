"""Conversations, their messages and reactions: the gateway's public shapes are the query
service's internal ones."""

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from common.contracts.questions import EndUserId
from common.events import Citation, ConversationStatus, HandoffReason

SenderType = Literal["bot", "human", "end_user"]
Reaction = Literal["thumbs_up", "thumbs_down", "helpful", "not_helpful"]
MAX_REPLY_CHARS = 4000


class MessageOut(BaseModel):
    id: UUID
    conversation_id: UUID
    sender_type: SenderType
    sender_id: str | None
    """A person's user id for `human`; the end user's id for `end_user`; None for `bot`."""
    content: str
    question_id: UUID | None
    retrieval_query: str | None
    """For an end user's follow-up: the question as rewritten with the earlier turns."""
    tokens: int | None
    latency_ms: int | None
    model: str | None
    knowledge_sources: list[Citation]
    confidence: float | None
    found: bool | None
    handoff_reason: HandoffReason | None
    created_at: datetime
    reactions: dict[Reaction, int] = Field(default_factory=dict)
    """How many of each reaction the message has."""


class ConversationOut(BaseModel):
    id: UUID
    assistant_id: UUID | None
    end_user_id: str
    channel: str
    status: ConversationStatus
    handoff_reason: HandoffReason | None
    handoff_at: datetime | None
    assigned_to: UUID | None
    """The person holding it (status `human`)."""
    taken_at: datetime | None
    resolved_at: datetime | None
    resolved_by: UUID | None
    message_count: int
    created_at: datetime
    last_message_at: datetime


class ConversationWithMessages(ConversationOut):
    messages: list[MessageOut]
    """Oldest first."""


class ConversationPage(BaseModel):
    items: list[ConversationOut]
    limit: int
    offset: int
    total: int


class ReplyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_REPLY_CHARS)
    ]


class ReactionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reaction: Reaction
    end_user_id: EndUserId | None = None
    """An API key only: react for this end user of the conversation (your own id for them),
    who then has one reaction per message of their own."""


class ReactionOut(BaseModel):
    message_id: UUID
    reaction: Reaction
    reacted_by: str
    """The person's user id; for an API key, its id, or `end_user:<end_user_id>`."""
    created_at: datetime
