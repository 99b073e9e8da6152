from typing import Annotated
from uuid import UUID

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from common.events import Citation, ConversationStatus, HandoffReason

MAX_QUESTION_CHARS = 2000

EndUserId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Channel = Annotated[
    str,
    # Folded before the pattern is checked, so " Web " is the channel "web".
    BeforeValidator(lambda value: value.strip().lower() if isinstance(value, str) else value),
    StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]{0,49}$"),
]


class QuestionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(max_length=MAX_QUESTION_CHARS)
    assistant_id: UUID | None = None
    """Answer as this assistant: its documents, instructions and hand-off rules."""
    conversation_id: UUID | None = None
    """Continue this conversation: earlier turns give the question its context."""
    end_user_id: EndUserId | None = None
    """Who your product is asking for (your own id for them); default: the caller. Each end
    user has one open conversation per channel and assistant."""
    channel: Channel | None = None
    """Where the end user writes from (`web`, `whatsapp`, ...); default `api`."""

    @field_validator("question")
    @classmethod
    def not_blank(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("the question is empty")
        return value


class AnswerOut(BaseModel):
    question_id: UUID
    answer: str | None
    """None (with status 202) when a person holds the conversation: the person replies."""
    found: bool
    """False when the company's documents hold nothing relevant: the answer then says so."""
    citations: list[Citation]
    needs_human: bool = False
    """True when the documents could not answer it: a person should follow the question up."""
    conversation_id: UUID | None = None
    message_id: UUID | None = None
    """The bot's reply, for reactions; None when the bot did not reply."""
    conversation_status: ConversationStatus | None = None
    handoff_reason: HandoffReason | None = None
