"""Decoding any message on the bus into its typed event, discriminated by (type, version)."""

import json
from typing import Any

from pydantic import ValidationError

from common.events.companies import (
    CompanyCreated,
    CompanyPlanChanged,
    CompanyReactivated,
    CompanySuspended,
)
from common.events.documents import (
    DocumentChunksEmbedded,
    DocumentDeleted,
    DocumentIndexed,
    DocumentMetadataChanged,
    DocumentPurged,
    DocumentStatusChanged,
    DocumentStorageReleased,
    DocumentUploaded,
)
from common.events.envelope import Event
from common.events.questions import QuestionAnswerDelta, QuestionAnswered, QuestionAsked
from common.events.users import UserDeactivated, UserInvited, UserJoined, UserRoleChanged

EVENT_TYPES: tuple[type[Event], ...] = (
    CompanyCreated,
    CompanyPlanChanged,
    CompanySuspended,
    CompanyReactivated,
    UserInvited,
    UserJoined,
    UserRoleChanged,
    UserDeactivated,
    DocumentUploaded,
    DocumentChunksEmbedded,
    DocumentIndexed,
    DocumentStatusChanged,
    DocumentMetadataChanged,
    DocumentDeleted,
    DocumentPurged,
    DocumentStorageReleased,
    QuestionAsked,
    QuestionAnswered,
    QuestionAnswerDelta,
)

_BY_TYPE_AND_VERSION: dict[tuple[str, int], type[Event]] = {
    (cls.model_fields["type"].default, cls.model_fields["version"].default): cls
    for cls in EVENT_TYPES
}

ALL_TOPICS: tuple[str, ...] = tuple(sorted({cls.topic for cls in EVENT_TYPES}))


class UndecodableEvent(ValueError):
    """The message is not an event this code knows: malformed, or an unknown type/version."""


def decode_event(raw: bytes) -> Event:
    try:
        data: Any = json.loads(raw)
    # RecursionError: nesting deeper than the parser allows (b"[" * 100_000).
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise UndecodableEvent(f"not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise UndecodableEvent("the envelope is not a JSON object")
    kind = (data.get("type"), data.get("version"))
    # A list or object there is unhashable: a lookup would raise TypeError, not UndecodableEvent.
    known = isinstance(kind[0], str) and isinstance(kind[1], int)
    event_type = _BY_TYPE_AND_VERSION.get(kind) if known else None  # type: ignore[arg-type]
    if event_type is None:
        raise UndecodableEvent(f"unknown event type/version {kind!r}")
    try:
        return event_type.model_validate(data)
    except ValidationError as exc:
        raise UndecodableEvent(f"invalid {kind[0]} v{kind[1]}: {exc}") from exc


def encode_event(event: Event) -> bytes:
    return event.model_dump_json().encode()
