"""Events of a question's way to its answer."""

from typing import ClassVar, Literal
from uuid import UUID

from pydantic import Field

from common.events.envelope import Event, Payload

ConversationStatus = Literal["bot", "waiting_human", "human", "resolved"]
"""`bot` answers; `waiting_human`: flagged for a person, the bot still answers; `human`: a
person holds it and the bot is silent; `resolved`: closed (a new message reopens it)."""

HandoffReason = Literal["keyword", "user_request", "low_confidence", "no_answer"]
"""Why a conversation went to a person: a trigger keyword of its assistant, the end user
asked for a person, the answer's confidence was low, or the documents held no answer."""


class QuestionAskedV1(Payload):
    question_id: UUID
    question: str = Field(min_length=1)
    asked_by: UUID
    """The person or API key that sent it."""
    assistant_id: UUID | None = None
    """The assistant that answers (its documents, prompt and hand-off rules); None: the
    company's documents, no assistant."""
    conversation_id: UUID | None = None
    """Continue this conversation; None: the open conversation of this end user on this
    channel (with this assistant), or a new one."""
    end_user_id: str | None = None
    """Who the company's product is asking for; None: the sender itself."""
    channel: str = "api"

    def end_user(self) -> str:
        return self.end_user_id or str(self.asked_by)


class QuestionAsked(Event):
    topic: ClassVar[str] = "questions.asked"
    type: Literal["question.asked"] = "question.asked"
    version: Literal[1] = 1
    payload: QuestionAskedV1

    def key(self) -> str:
        """The conversation's, so one conversation's turns are answered in order."""
        asked = self.payload
        if asked.conversation_id is not None:
            return str(asked.conversation_id)
        return f"{self.company_id}:{asked.assistant_id}:{asked.channel}:{asked.end_user()}"


class Citation(Payload):
    document_id: UUID
    title: str
    page: int | None = None
    section: str | None = None
    snippet: str
    score: float


class QuestionAnsweredV1(Payload):
    question_id: UUID
    answer: str | None
    """None when a person holds the conversation: the bot stays silent and the person replies."""
    found: bool
    """False when nothing in the company's documents was relevant enough to answer from."""
    citations: list[Citation]
    needs_human: bool = False
    """True when the answer could not come from the documents: a person should follow it up."""
    error: str | None = None
    """Why no answer could be composed: `provider-failed` (the answer text then says so), or
    `assistant-not-found` / `conversation-not-found` / `conversation-mismatch` when the
    question named something that is not (or no longer) there."""
    conversation_id: UUID | None = None
    message_id: UUID | None = None
    """The bot's reply in the conversation (reactions go to it); None when it did not reply."""
    conversation_status: ConversationStatus | None = None
    handoff_reason: HandoffReason | None = None
    """Set when this question sent the conversation to a person."""


class QuestionAnswered(Event):
    topic: ClassVar[str] = "questions.answered"
    type: Literal["question.answered"] = "question.answered"
    version: Literal[1] = 1
    payload: QuestionAnsweredV1

    def key(self) -> str:
        return str(self.payload.question_id)


class QuestionAnswerDeltaV1(Payload):
    question_id: UUID
    sequence: int = Field(ge=0)
    """The piece's place in its answer, from 0: a listener can tell a gap or a repeat."""
    text: str


class QuestionAnswerDelta(Event):
    """A piece of an answer being written, for clients that follow it live. Best effort:
    `question.answered` carries the whole answer and is what counts."""

    topic: ClassVar[str] = "questions.answer_deltas"
    type: Literal["question.answer_delta"] = "question.answer_delta"
    version: Literal[1] = 1
    payload: QuestionAnswerDeltaV1

    def key(self) -> str:
        return str(self.payload.question_id)
