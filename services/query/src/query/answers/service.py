"""Answering a question from the company's own documents, with citations."""

import time
from dataclasses import dataclass, field

from common.bus import add_to_outbox, already_processed, record_processed
from common.db import Database
from common.embedding import Embedder
from common.events import Citation, QuestionAnswered, QuestionAnsweredV1, QuestionAsked
from common.suspensions import Suspensions
from query.answers import extractive
from query.answers.models import Answer
from query.db import inbox, outbox
from query.index.service import search_active
from query.index.store import VectorStore
from query.settings import QuerySettings

QUESTIONS_CONSUMER = "query.questions-asked"
SNIPPET_CHARS = 300


@dataclass
class Answerer:
    database: Database
    store: VectorStore
    embedder: Embedder
    settings: QuerySettings
    suspensions: Suspensions = field(default_factory=Suspensions)

    async def answer(self, event: QuestionAsked) -> QuestionAnsweredV1:
        if self.suspensions.is_suspended(event.company_id):
            # Answered, so the asker's wait ends at once, but from nothing of the company's.
            return QuestionAnsweredV1(
                question_id=event.payload.question_id,
                answer="This company is suspended; its documents cannot be searched.",
                found=False,
                citations=[],
            )
        settings = self.settings
        question = event.payload.question
        question_vector = (await self.embedder.embed_async([question]))[0]
        chunks = await search_active(
            self.database,
            self.store,
            event.company_id,
            question_vector.tolist(),
            limit=settings.retrieval_limit,
            min_score=settings.min_relevance,
        )
        sentences = extractive.split_sentences(chunks)
        composed = None
        if sentences:
            sentence_vectors = await self.embedder.embed_async([s.text for s in sentences])
            composed = extractive.compose(
                question_vector,
                sentences,
                sentence_vectors,
                max_sentences=settings.answer_sentences,
                min_score=settings.min_relevance,
            )
        if composed is None:
            return QuestionAnsweredV1(
                question_id=event.payload.question_id,
                answer=settings.fallback_answer,
                found=False,
                citations=[],
            )
        citations: dict[tuple[str, int], Citation] = {}
        for sentence, _ in composed.sentences:
            chunk = sentence.chunk
            key = (str(chunk.document_id), chunk.chunk_index)
            if key not in citations:
                citations[key] = Citation(
                    document_id=chunk.document_id,
                    title=chunk.title,
                    page=chunk.page,
                    section=chunk.section,
                    snippet=_snippet(chunk.text, sentence.text),
                    score=round(chunk.score, 4),
                )
        return QuestionAnsweredV1(
            question_id=event.payload.question_id,
            answer=composed.text,
            found=True,
            citations=list(citations.values()),
        )

    async def handle(self, event: QuestionAsked) -> None:
        """Answers outside any transaction, then stores the answer and publishes it together."""
        async with self.database.transaction(event.company_id) as session:
            if await already_processed(session, inbox, QUESTIONS_CONSUMER, event.id):
                return
        started = time.perf_counter()
        answered = await self.answer(event)
        latency_ms = int((time.perf_counter() - started) * 1000)
        async with self.database.transaction(event.company_id) as session:
            if not await record_processed(session, inbox, QUESTIONS_CONSUMER, event):
                return
            session.add(
                Answer(
                    question_id=answered.question_id,
                    company_id=event.company_id,
                    asked_by=event.payload.asked_by,
                    question=event.payload.question,
                    answer=answered.answer,
                    found=answered.found,
                    citations=[c.model_dump(mode="json") for c in answered.citations],
                    latency_ms=latency_ms,
                )
            )
            await add_to_outbox(
                session, outbox, QuestionAnswered.new(event.company_id, answered, cause=event)
            )


def _snippet(chunk_text: str, sentence: str) -> str:
    """The chunk's text around the quoted sentence, at most SNIPPET_CHARS long."""
    if len(chunk_text) <= SNIPPET_CHARS:
        return chunk_text
    at = max(chunk_text.find(sentence), 0)
    start = max(0, min(at - SNIPPET_CHARS // 4, len(chunk_text) - SNIPPET_CHARS))
    snippet = chunk_text[start : start + SNIPPET_CHARS].strip()
    return (
        ("…" if start else "") + snippet + ("…" if start + SNIPPET_CHARS < len(chunk_text) else "")
    )
