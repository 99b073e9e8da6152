from uuid import UUID

from pydantic import BaseModel, Field, field_validator

from common.events import Citation

MAX_QUESTION_CHARS = 2000


class QuestionIn(BaseModel):
    question: str = Field(max_length=MAX_QUESTION_CHARS)

    @field_validator("question")
    @classmethod
    def not_blank(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("the question is empty")
        return value


class AnswerOut(BaseModel):
    question_id: UUID
    answer: str
    found: bool
    """False when the company's documents hold nothing relevant: the answer then says so."""
    citations: list[Citation]
    needs_human: bool = False
    """True when the documents could not answer it: a person should follow the question up."""
