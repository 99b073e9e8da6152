from pathlib import Path

from pydantic import Field

from common.settings import ServiceSettings


class QuerySettings(ServiceSettings):
    service_name: str = "query"
    http_port: int = 8003
    database_url: str = "postgresql+asyncpg://query_app@127.0.0.1:5432/knowledge"
    migration_database_url: str = "postgresql+asyncpg://query_owner@127.0.0.1:5432/knowledge"

    qdrant_url: str = ""
    """A Qdrant server; empty runs Qdrant's local mode on `qdrant_path`, owned by this process."""
    qdrant_path: Path = Path(".dev/qdrant")
    qdrant_api_key: str = ""

    retrieval_limit: int = Field(default=5, ge=1, le=50)
    min_relevance: float = Field(default=0.3, ge=0.0, le=1.0)
    """Cosine similarity below which a chunk or sentence is not used to answer."""
    answer_sentences: int = Field(default=2, ge=1, le=10)
    fallback_answer: str = (
        "I could not find an answer to that in your company's documents. "
        "No encontré una respuesta a eso en los documentos de tu empresa."
    )
