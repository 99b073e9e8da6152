from typing import Self

from pydantic import Field, model_validator

from common.settings import ServiceSettings
from ingest.extraction.model import ExtractionLimits


class IngestSettings(ServiceSettings):
    service_name: str = "ingest"
    http_port: int = 8002
    database_url: str = "postgresql+asyncpg://ingest_app@127.0.0.1:5432/knowledge"
    migration_database_url: str = "postgresql+asyncpg://ingest_owner@127.0.0.1:5432/knowledge"

    chunk_max_tokens: int = Field(default=200, ge=16, le=254)
    """Chunk size in the model's tokens: under its 256 less [CLS] and [SEP], with room to spare."""
    chunk_overlap_tokens: int = Field(default=32, ge=0)
    """Tail repeated from the previous chunk of a section, so a cut sentence is still found."""
    chunks_per_event: int = Field(default=32, ge=1)
    """Embedded chunks per `document.chunks_embedded` message: keeps messages well under 1 MB."""
    embedding_workers: int = Field(default=0, ge=0)
    """Replicas of the model embedding side by side, each on its share of the cores
    (`common.embedding.Embedder`); 0 picks one per core, at most four."""
    concurrent_uploads: int = Field(default=3, ge=1)
    """Uploads processed at once, each from its own partitions of `documents.uploaded` (so
    one document's versions still come one after another): one's extraction overlaps
    another's embedding. More than the topic's partitions leaves the rest idle. Each may run
    an extraction of up to `extraction_memory_mib`."""

    max_pages: int = Field(default=500, ge=1)
    """Pages (or slides, or image frames) a document may have; longer ones fail with a reason."""
    max_uncompressed_mib: int = Field(default=200, ge=1)
    """How far an Office file (a zip) may expand: past it, it is treated as a zip bomb."""
    ocr_languages: str = "spa+eng"
    """Tesseract languages for scans, '+'-joined; each needs its tesseract-ocr-<lang> package."""
    ocr_timeout_seconds: float = Field(default=120.0, gt=0)
    """Per page or image."""

    extraction_memory_mib: int = Field(default=2048, ge=256)
    """Address space the process that reads one document may take; past it, the document fails."""
    extraction_timeout_seconds: float = Field(default=900.0, gt=0)
    """Time to read one document, OCR included; past it, the document fails."""

    def extraction_limits(self) -> ExtractionLimits:
        return ExtractionLimits(
            max_pages=self.max_pages,
            max_uncompressed_bytes=self.max_uncompressed_mib * 1024 * 1024,
            ocr_languages=self.ocr_languages,
            ocr_timeout_seconds=self.ocr_timeout_seconds,
        )

    @model_validator(mode="after")
    def _overlap_fits_in_a_chunk(self) -> Self:
        if self.chunk_overlap_tokens >= self.chunk_max_tokens:
            raise ValueError("chunk_overlap_tokens must be smaller than chunk_max_tokens")
        return self
