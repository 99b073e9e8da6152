from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr

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
    retrieval_mode: Literal["hybrid", "dense", "sparse"] = "hybrid"
    """How answers find chunks: by meaning (dense), by words (sparse), or both fused (hybrid)."""
    min_relevance: float = Field(default=0.3, ge=0.0, le=1.0)
    """Cosine similarity below which a chunk or sentence is not used to answer."""
    answer_sentences: int = Field(default=2, ge=1, le=10)
    fallback_answer: str = (
        "I could not find an answer to that in your company's documents. "
        "No encontré una respuesta a eso en los documentos de tu empresa."
    )

    history_messages: int = Field(default=6, ge=0, le=50)
    """Earlier messages of a conversation a question without an assistant is answered with."""
    handoff_message: str = (
        "Te pongo en contacto con una persona del equipo; te responderá en esta conversación. "
        "I am passing you to a person on the team; they will reply in this conversation."
    )
    """The bot's reply when a conversation goes to a person before any answer is tried."""

    answer_provider: Literal["extractive", "openai"] = "extractive"
    """Who writes answers: `extractive` quotes the documents offline; `openai` asks any
    OpenAI-compatible chat-completions endpoint, streamed."""
    answer_min_score: float = Field(default=0.3, ge=0.0, le=1.0)
    """The best retrieved passage must score at least this for an answer to be attempted;
    below it the fallback answer is given and the question flagged for a human."""
    openai_base_url: str = "https://api.openai.com/v1"
    openai_api_key: SecretStr = SecretStr("")
    openai_model: str = "gpt-4o-mini"
    openai_timeout_seconds: float = Field(default=20.0, gt=0)
    """The whole answer's deadline; below the gateway's wait, so a slow model is reported."""
