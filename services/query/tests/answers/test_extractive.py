import uuid

from common.embedding import Embedder
from query.answers import extractive
from query.index.store import RetrievedChunk


def chunk(text: str) -> RetrievedChunk:
    return RetrievedChunk(
        document_id=uuid.uuid4(), title="Manual", chunk_index=0, text=text, score=0.8
    )


class TestSplitSentences:
    def test_markdown_markers_are_dropped_and_short_pieces_skipped(self) -> None:
        sentences = extractive.split_sentences(
            [chunk("## Vacaciones\n\n- Veintitrés días al año. Sí.\n1. Se piden con antelación.")]
        )
        # "Vacaciones" and "Sí." are shorter than a sentence worth quoting.
        assert [s.text for s in sentences] == [
            "Veintitrés días al año.",
            "Se piden con antelación.",
        ]


class TestCompose:
    def test_the_best_supported_sentences_answer_verbatim(self, embedder: Embedder) -> None:
        text = (
            "La oficina abre a las nueve de la mañana. "
            "Los empleados tienen veintitrés días de vacaciones pagadas al año. "
            "El aparcamiento está en la planta baja."
        )
        sentences = extractive.split_sentences([chunk(text)])
        question = "¿Cuántos días de vacaciones tienen los empleados?"
        answer = extractive.compose(
            embedder.embed([question])[0],
            sentences,
            embedder.embed([s.text for s in sentences]),
            max_sentences=1,
            min_score=0.3,
        )
        assert answer is not None
        assert answer.text == "Los empleados tienen veintitrés días de vacaciones pagadas al año."
        assert answer.text in text

    def test_nothing_relevant_gives_no_answer(self, embedder: Embedder) -> None:
        sentences = extractive.split_sentences([chunk("El aparcamiento está en la planta baja.")])
        answer = extractive.compose(
            embedder.embed(["What is the capital of Australia?"])[0],
            sentences,
            embedder.embed([s.text for s in sentences]),
            max_sentences=2,
            min_score=0.5,
        )
        assert answer is None

    def test_sentences_repeated_by_chunk_overlap_are_quoted_once(self, embedder: Embedder) -> None:
        shared = "Los empleados tienen veintitrés días de vacaciones pagadas al año."
        sentences = extractive.split_sentences([chunk(shared), chunk(shared)])
        answer = extractive.compose(
            embedder.embed(["¿Cuántos días de vacaciones?"])[0],
            sentences,
            embedder.embed([s.text for s in sentences]),
            max_sentences=2,
            min_score=0.2,
        )
        assert answer is not None
        assert answer.text == shared
