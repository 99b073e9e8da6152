from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

MAX_TITLE_CHARS = 300


MAX_TAGS = 20
MAX_TAG_CHARS = 50
MAX_CATEGORY_CHARS = 100

Title = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TITLE_CHARS)
]
Tag = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TAG_CHARS)
]
Category = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_CATEGORY_CHARS)
]


class DocumentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    title: str
    status: str
    """pending → extracting → chunking → embedding → indexing → ready; or failed with
    `failure_reason`; deleting once deleted, until its vectors are gone."""
    progress: int = 0
    """Percent of the processing done."""
    filename: str
    content_type: str
    size_bytes: int
    sha256: str | None = None
    failure_reason: str | None = None
    duplicate_of: UUID | None = None
    detected_format: str | None = None
    language: str | None = None
    page_count: int | None = None
    ocr_pages: int | None = None
    char_count: int | None = None
    chunk_count: int | None = None
    tags: list[str] = Field(default_factory=list)
    category: str | None = None
    version: int = 1
    """The latest uploaded version: the one the status, progress and file fields describe."""
    active_version: int | None = None
    """The version answers use; it changes to `version` in one step once that is indexed."""
    stage_timings: dict[str, int] = Field(default_factory=dict)
    """Milliseconds spent in each stage: extracting_ms, chunking_ms, embedding_ms, indexing_ms."""
    created_at: datetime
    updated_at: datetime | None = None
    ready_at: datetime | None = None

    @field_validator("stage_timings", mode="before")
    @classmethod
    def durations_only(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: v for k, v in value.items() if k.endswith("_ms")}
        return value


class DocumentUpdate(BaseModel):
    """What a person may change after upload; absent fields stay as they are."""

    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    tags: list[Tag] | None = Field(default=None, max_length=MAX_TAGS)
    category: Category | None = None
    """null clears the category; a title and the tags cannot be null (use [] for no tags)."""

    @field_validator("title", "tags", mode="before")
    @classmethod
    def not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("may be left out, but not null")
        return value


class DocumentPage(BaseModel):
    items: list[DocumentOut]
    limit: int
    offset: int
    total: int


class DocumentAccepted(BaseModel):
    id: UUID
    status: str
    version: int = 1
