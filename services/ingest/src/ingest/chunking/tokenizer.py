"""What the chunker needs from the embedding model's tokenizer, and the adapter over the
Hugging Face fast tokenizer the model ships with."""

from collections.abc import Sequence
from typing import Any, Protocol

TokenSpans = Sequence[tuple[int, int]]
"""The (start, end) character offsets of a text's tokens, in order."""


class Tokenizer(Protocol):
    """Counts in the model's own tokens, without the special tokens it adds around an input.

    The chunker relies on tokens never spanning whitespace (true of WordPiece, which splits on
    whitespace before anything else), so a text's count is the sum of its whitespace-separated
    parts' counts and every text is tokenized once."""

    def token_spans(self, texts: Sequence[str]) -> list[TokenSpans]:
        """Each text's token offsets; one call for many texts, which is where the time goes."""
        ...

    def count_tokens(self, texts: Sequence[str]) -> list[int]: ...


class HuggingFaceTokenizer:
    """A Hugging Face fast tokenizer (`Embedder.tokenizer`) seen as the chunker's `Tokenizer`."""

    def __init__(self, tokenizer: Any) -> None:
        self._tokenizer = tokenizer

    def token_spans(self, texts: Sequence[str]) -> list[TokenSpans]:
        if not texts:
            return []
        spans: list[TokenSpans] = self._encode(texts, offsets=True)["offset_mapping"]
        return spans

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        return [len(ids) for ids in self._encode(texts, offsets=False)["input_ids"]]

    def _encode(self, texts: Sequence[str], *, offsets: bool) -> Any:
        # verbose=False: texts longer than the model's input are expected here, not a mistake.
        return self._tokenizer(
            list(texts),
            add_special_tokens=False,
            return_offsets_mapping=offsets,
            return_attention_mask=False,
            return_token_type_ids=False,
            verbose=False,
        )
