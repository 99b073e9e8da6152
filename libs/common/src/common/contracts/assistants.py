"""Assistants (the seed's chatbots): the public shapes of the gateway are the query
service's internal ones."""

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Keyword = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
DEFAULT_FALLBACK = (
    "No encuentro esa información en los documentos de la empresa. "
    "Te pongo en contacto con una persona del equipo."
)


class DocumentScope(BaseModel):
    """Which documents the assistant answers from: all of the company's, a list, or those
    carrying any of some tags."""

    model_config = ConfigDict(extra="forbid")

    scope: Literal["all", "documents", "tags"] = "all"
    document_ids: Annotated[list[UUID], Field(max_length=500)] = []
    tags: Annotated[list[Tag], Field(max_length=50)] = []

    @model_validator(mode="after")
    def _fits_the_scope(self) -> "DocumentScope":
        if self.scope == "documents" and not self.document_ids:
            raise ValueError("scope 'documents' needs document_ids")
        if self.scope == "tags" and not self.tags:
            raise ValueError("scope 'tags' needs tags")
        if self.scope == "all" and (self.document_ids or self.tags):
            raise ValueError("scope 'all' takes no document_ids or tags")
        if (self.scope == "documents" and self.tags) or (
            self.scope == "tags" and self.document_ids
        ):
            raise ValueError("give document_ids for 'documents' or tags for 'tags', not both")
        return self


class Handoff(BaseModel):
    """When a conversation goes to a person."""

    model_config = ConfigDict(extra="forbid")

    keywords: Annotated[list[Keyword], Field(max_length=50)] = []
    on_low_confidence: bool = True
    min_confidence: Annotated[float, Field(ge=0.0, le=1.0)] = 0.35
    on_user_request: bool = True


class AssistantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    system_prompt: Annotated[str, StringConstraints(max_length=8000)] = ""
    fallback_message: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)
    ] = DEFAULT_FALLBACK
    documents: DocumentScope = DocumentScope()
    history_messages: Annotated[int, Field(ge=0, le=50)] = 6
    handoff: Handoff = Handoff()
    operator_ids: Annotated[list[UUID], Field(max_length=200)] = []


class AssistantUpdate(BaseModel):
    """Only the fields given change."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    system_prompt: Annotated[str, StringConstraints(max_length=8000)] | None = None
    fallback_message: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
        | None
    ) = None
    documents: DocumentScope | None = None
    history_messages: Annotated[int, Field(ge=0, le=50)] | None = None
    handoff: Handoff | None = None
    operator_ids: Annotated[list[UUID], Field(max_length=200)] | None = None


class AssistantOut(BaseModel):
    id: UUID
    name: str
    system_prompt: str
    fallback_message: str
    documents: DocumentScope
    history_messages: int
    handoff: Handoff
    operator_ids: list[UUID]
    created_by: UUID | None
    created_at: datetime
    updated_at: datetime


class AssistantPage(BaseModel):
    items: list[AssistantOut]
    limit: int
    offset: int
    total: int
