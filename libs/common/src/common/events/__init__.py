"""Event models, one module per domain, read through `decode_event`."""

from common.events.companies import CompanyCreated, CompanyCreatedV1
from common.events.documents import (
    DocumentChunksEmbedded,
    DocumentChunksEmbeddedV1,
    DocumentDeleted,
    DocumentDeletedV1,
    DocumentIndexed,
    DocumentIndexedV1,
    DocumentMetadataChanged,
    DocumentMetadataChangedV1,
    DocumentPurged,
    DocumentPurgedV1,
    DocumentStatusChanged,
    DocumentStatusChangedV1,
    DocumentUploaded,
    DocumentUploadedV1,
    EmbeddedChunk,
)
from common.events.envelope import Event, Payload
from common.events.questions import (
    Citation,
    QuestionAnswered,
    QuestionAnsweredV1,
    QuestionAsked,
    QuestionAskedV1,
)
from common.events.registry import (
    ALL_TOPICS,
    EVENT_TYPES,
    UndecodableEvent,
    decode_event,
    encode_event,
)

__all__ = [
    "ALL_TOPICS",
    "EVENT_TYPES",
    "Citation",
    "CompanyCreated",
    "CompanyCreatedV1",
    "DocumentChunksEmbedded",
    "DocumentChunksEmbeddedV1",
    "DocumentDeleted",
    "DocumentDeletedV1",
    "DocumentIndexed",
    "DocumentIndexedV1",
    "DocumentMetadataChanged",
    "DocumentMetadataChangedV1",
    "DocumentPurged",
    "DocumentPurgedV1",
    "DocumentStatusChanged",
    "DocumentStatusChangedV1",
    "DocumentUploaded",
    "DocumentUploadedV1",
    "EmbeddedChunk",
    "Event",
    "Payload",
    "QuestionAnswered",
    "QuestionAnsweredV1",
    "QuestionAsked",
    "QuestionAskedV1",
    "UndecodableEvent",
    "decode_event",
    "encode_event",
]
