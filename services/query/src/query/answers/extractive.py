"""The offline answerer: the answer is made of the retrieved chunks' sentences that best match
the question, quoted as they are. It never writes a word the documents do not contain."""

import re
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from query.index.store import RetrievedChunk

_SENTENCE_BREAK = re.compile(r"(?<=[.!?…])\s+|\n+")
_MARKDOWN_PREFIX = re.compile(r"^\s*(#{1,6}\s+|[-*+]\s+|\d+[.)]\s+|>\s*)")
MIN_SENTENCE_CHARS = 12


@dataclass(frozen=True)
class Sentence:
    chunk: RetrievedChunk
    position: int
    text: str


@dataclass(frozen=True)
class ExtractiveAnswer:
    text: str
    sentences: list[tuple[Sentence, float]]


def split_sentences(chunks: list[RetrievedChunk]) -> list[Sentence]:
    sentences = []
    for chunk in chunks:
        for position, piece in enumerate(_SENTENCE_BREAK.split(chunk.text)):
            text = _MARKDOWN_PREFIX.sub("", piece).strip()
            if len(text) >= MIN_SENTENCE_CHARS:
                sentences.append(Sentence(chunk=chunk, position=position, text=text))
    return sentences


def compose(
    question_vector: NDArray[np.float32],
    sentences: list[Sentence],
    sentence_vectors: NDArray[np.float32],
    *,
    max_sentences: int,
    min_score: float,
) -> ExtractiveAnswer | None:
    """Picks the best-supported sentences; None when none is relevant enough."""
    if not sentences:
        return None
    scores = sentence_vectors @ question_vector
    ranked = sorted(
        ((sentences[i], float(scores[i])) for i in range(len(sentences))),
        key=lambda pair: pair[1],
        reverse=True,
    )
    chosen: list[tuple[Sentence, float]] = []
    seen: set[str] = set()
    for sentence, score in ranked:
        if score < min_score or len(chosen) == max_sentences:
            break
        if sentence.text in seen:  # overlap between chunks repeats sentences
            continue
        seen.add(sentence.text)
        chosen.append((sentence, score))
    if not chosen:
        return None
    return ExtractiveAnswer(text=" ".join(s.text for s, _ in chosen), sentences=chosen)
