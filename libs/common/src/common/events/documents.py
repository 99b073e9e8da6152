"""Events of a document's way from upload to the index. File bytes never travel: the blob
store holds them and `document.uploaded` carries the reference, size and hash.

A document keeps its id across versions; `document_version` (1 for the first upload) tells
which version's content an event is about, so a new version's chunks never mix with the old."""

import base64
from typing import ClassVar, Literal, Self
from uuid import UUID

import numpy as np
from numpy.typing import NDArray
from pydantic import Field, model_validator

from common.events.envelope import Event, Payload


class DocumentUploadedV1(Payload):
    document_id: UUID
    title: str
    filename: str
    content_type: str
    size_bytes: int = Field(gt=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    blob_key: str
    uploaded_by: UUID
    tags: list[str] = Field(default_factory=list)
    category: str | None = None
    document_version: int = Field(default=1, ge=1)
    """Above 1, the upload replaces the content of the existing document `document_id`."""


class DocumentUploaded(Event):
    topic: ClassVar[str] = "documents.uploaded"
    type: Literal["document.uploaded"] = "document.uploaded"
    version: Literal[1] = 1
    payload: DocumentUploadedV1

    def key(self) -> str:
        return str(self.payload.document_id)


class EmbeddedChunk(Payload):
    """A chunk and its vector: `packed_vector` (what ingest sends), or, from producers that
    predate it, `vector` as a JSON list. Read it with `dense()`, whichever came."""

    index: int = Field(ge=0)
    text: str
    char_start: int = Field(ge=0)
    char_end: int = Field(ge=0)
    page: int | None = None
    section: str | None = None
    vector: list[float] | None = None
    packed_vector: str | None = None
    """Base64 of the vector's float32 values, little-endian: a quarter of the JSON list's
    size, and no float formatting or parsing on either side."""

    @model_validator(mode="after")
    def _one_vector(self) -> Self:
        if (self.vector is None) == (self.packed_vector is None):
            raise ValueError("a chunk carries exactly one of vector and packed_vector")
        if self.packed_vector is not None:
            values = _unpack(self.packed_vector)
            if values.size == 0 or not np.isfinite(values).all():
                raise ValueError("packed_vector must hold finite float32 values")
        return self

    @staticmethod
    def pack(vector: NDArray[np.float32]) -> str:
        return base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode("ascii")

    def dense(self) -> list[float]:
        if self.packed_vector is not None:
            values: list[float] = _unpack(self.packed_vector).tolist()
            return values
        assert self.vector is not None  # one of the two, by validation
        return self.vector


def _unpack(packed: str) -> NDArray[np.float32]:
    raw = base64.b64decode(packed, validate=True)
    if len(raw) % 4:
        raise ValueError("packed_vector is not a whole number of float32 values")
    return np.frombuffer(raw, dtype="<f4")


class DocumentChunksEmbeddedV1(Payload):
    """One batch of a document's chunks; a document's batches share its key, so they
    arrive in order, and `batch_count` tells the indexer when it has them all."""

    document_id: UUID
    title: str
    embedding_model: str
    batch_index: int = Field(ge=0)
    batch_count: int = Field(gt=0)
    chunk_count: int = Field(gt=0)
    tags: list[str] = Field(default_factory=list)
    category: str | None = None
    document_version: int = Field(default=1, ge=1)
    chunks: list[EmbeddedChunk] = Field(min_length=1)


class DocumentChunksEmbedded(Event):
    topic: ClassVar[str] = "documents.chunks"
    type: Literal["document.chunks_embedded"] = "document.chunks_embedded"
    version: Literal[1] = 1
    payload: DocumentChunksEmbeddedV1

    def key(self) -> str:
        return str(self.payload.document_id)


class DocumentIndexedV1(Payload):
    """All chunks of this version are indexed, and it is the version answers now use."""

    document_id: UUID
    chunk_count: int = Field(ge=0)
    document_version: int = Field(default=1, ge=1)


class DocumentIndexed(Event):
    topic: ClassVar[str] = "documents.indexed"
    type: Literal["document.indexed"] = "document.indexed"
    version: Literal[1] = 1
    payload: DocumentIndexedV1

    def key(self) -> str:
        return str(self.payload.document_id)


class DocumentStatusChangedV1(Payload):
    """Each step of a document's processing, for whoever follows it live."""

    document_id: UUID
    status: str
    progress: int = Field(ge=0, le=100)
    failure_reason: str | None = None


class DocumentStatusChanged(Event):
    topic: ClassVar[str] = "documents.status"
    type: Literal["document.status_changed"] = "document.status_changed"
    version: Literal[1] = 1
    payload: DocumentStatusChangedV1

    def key(self) -> str:
        return str(self.payload.document_id)


class DocumentMetadataChangedV1(Payload):
    """The whole of what people call the document and how they file it, as of the change:
    the latest change alone is the truth, whatever came before it."""

    document_id: UUID
    title: str
    tags: list[str] = Field(default_factory=list)
    category: str | None = None


class DocumentMetadataChanged(Event):
    """A document's title, tags or category changed: what its citations show and filters use.
    `occurred_at` orders the changes, so a late older one never overwrites a newer one."""

    topic: ClassVar[str] = "documents.metadata"
    type: Literal["document.metadata_changed"] = "document.metadata_changed"
    version: Literal[1] = 1
    payload: DocumentMetadataChangedV1

    def key(self) -> str:
        return str(self.payload.document_id)


class DocumentDeletedV1(Payload):
    document_id: UUID
    blob_prefix: str


class DocumentDeleted(Event):
    """A document was deleted: its vectors and its file are to be removed."""

    topic: ClassVar[str] = "documents.deleted"
    type: Literal["document.deleted"] = "document.deleted"
    version: Literal[1] = 1
    payload: DocumentDeletedV1

    def key(self) -> str:
        return str(self.payload.document_id)


class DocumentPurgedV1(Payload):
    document_id: UUID


class DocumentPurged(Event):
    """The index holds nothing of the document any more: no answer can cite it."""

    topic: ClassVar[str] = "documents.purged"
    type: Literal["document.purged"] = "document.purged"
    version: Literal[1] = 1
    payload: DocumentPurgedV1

    def key(self) -> str:
        return str(self.payload.document_id)


class DocumentStorageReleasedV1(Payload):
    document_id: UUID
    bytes: int = Field(gt=0)
    """What the gateway counted against the plan's storage for these files: every version's
    for a deleted document, the one upload's for a duplicate."""
    reason: Literal["deleted", "duplicate"]


class DocumentStorageReleased(Event):
    """Files the company's storage no longer holds (a deleted document, or an upload ingest
    ended as a duplicate): tenants gives their bytes back. Published by ingest, once per
    release, in the transaction that decides it."""

    topic: ClassVar[str] = "documents.storage_released"
    type: Literal["document.storage_released"] = "document.storage_released"
    version: Literal[1] = 1
    payload: DocumentStorageReleasedV1

    def key(self) -> str:
        return str(self.payload.document_id)
