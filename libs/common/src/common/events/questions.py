"""Events of a question's way to its answer."""

from typing import ClassVar, Literal
from uuid import UUID

from pydantic import Field

from common.events.envelope import Event, Payload


class QuestionAskedV1(Payload):
    question_id: UUID
    question: str = Field(min_length=1)
    asked_by: UUID


class QuestionAsked(Event):
    topic: ClassVar[str] = "questions.asked"
    type: Literal["question.asked"] = "question.asked"
    version: Literal[1] = 1
    payload: QuestionAskedV1

    def key(self) -> str:
        return str(self.payload.question_id)


class Citation(Payload):
    document_id: UUID
    title: str
    page: int | None = None
    section: str | None = None
    snippet: str
    score: float


class QuestionAnsweredV1(Payload):
    question_id: UUID
    answer: str
    found: bool
    """False when nothing in the company's documents was relevant enough to answer from."""
    citations: list[Citation]
    needs_human: bool = False
    """True when the answer could not come from the documents: a person should follow it up."""
    error: str | None = None
    """Why no answer could be composed (the provider failed); the answer text then says so."""


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
