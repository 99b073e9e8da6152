"""The embedder with replicas side by side gives what the single model gives, in order."""

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch

from common.embedding import Embedder

TEXTS = [
    "Las vacaciones se piden con dos semanas de antelación.",
    "El teletrabajo se acuerda con el equipo, dos días por semana como mucho, salvo excepciones "
    "que apruebe la dirección por escrito.",
    "Gastos de viaje",
    "Los justificantes se guardan cinco años.",
    "Every laptop is encrypted and locked when unattended.",
]


@pytest.fixture(scope="module")
def pooled() -> Iterator[Embedder]:
    """Replicas set torch's threads for the whole process: given back afterwards, so the rest
    of the session's tests run as before."""
    threads = torch.get_num_threads()
    try:
        yield Embedder(workers=2)
    finally:
        torch.set_num_threads(threads)


def test_replicas_give_the_single_models_vectors_in_order(
    pooled: Embedder, embedder: Embedder
) -> None:
    vectors = pooled.embed(TEXTS)
    assert vectors.shape == (len(TEXTS), embedder.dimension)
    assert np.allclose(vectors, embedder.embed(TEXTS), atol=1e-5)


def test_fewer_texts_than_replicas_and_none(pooled: Embedder, embedder: Embedder) -> None:
    assert np.allclose(pooled.embed(TEXTS[:1]), embedder.embed(TEXTS[:1]), atol=1e-5)
    assert pooled.embed([]).shape == (0, embedder.dimension)


def test_callers_in_several_threads_each_get_their_own(pooled: Embedder) -> None:
    alone = {text: pooled.embed([text])[0] for text in TEXTS}
    requests = [TEXTS[i:] + TEXTS[:i] for i in range(len(TEXTS))] * 3
    with ThreadPoolExecutor(4) as callers:
        answers = list(callers.map(pooled.embed, requests))
    for texts, vectors in zip(requests, answers, strict=True):
        assert np.allclose(vectors, [alone[text] for text in texts], atol=1e-5)


def test_workers_cannot_be_negative() -> None:
    with pytest.raises(ValueError, match="workers"):
        Embedder(workers=-1)
