"""Splitting an extracted document into chunks for the embedding model: they follow the
document's structure (headings, slides, table rows) and are bounded in the model's own tokens,
so nothing a chunk holds is cut off unseen."""

from ingest.chunking.chunker import MIN_MAX_TOKENS, Chunk, chunk_document
from ingest.chunking.tokenizer import HuggingFaceTokenizer, Tokenizer, TokenSpans

__all__ = [
    "MIN_MAX_TOKENS",
    "Chunk",
    "HuggingFaceTokenizer",
    "TokenSpans",
    "Tokenizer",
    "chunk_document",
]
