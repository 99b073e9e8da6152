"""Answering a question from the company's own documents, with citations."""

import asyncio
import itertools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from uuid import UUID

from common.bus import add_to_outbox, already_processed, record_processed
from common.db import Database
from common.embedding import Embedder
from common.events import (
    Citation,
    QuestionAnswerDelta,
    QuestionAnswerDeltaV1,
    QuestionAnswered,
    QuestionAnsweredV1,
    QuestionAsked,
)
from common.suspensions import Suspensions
from query.answers.models import Answer
from query.answers.providers import (
    AnswerProvider,
    ProviderFailed,
    Support,
    provider_from_settings,
)
from query.db import inbox, outbox
from query.index.store import RetrievedChunk, VectorStore
from query.retrieval import service as retrieval
from query.settings import QuerySettings

QUESTIONS_CONSUMER = "query.questions-asked"
SNIPPET_CHARS = 300
DELTA_PUBLISH_SECONDS = 2.0
PROVIDER_FAILED = "provider-failed"
PROVIDER_FAILED_ANSWER = (
    "The answer could not be written right now; please ask again in a moment. "
    "No se pudo redactar la respuesta en este momento; vuelve a preguntar en un rato."
)

logger = logging.getLogger(__name__)

PieceListener = Callable[[str], Awaitable[None]]


@dataclass
class Answerer:
    database: Database
    store: VectorStore
    embedder: Embedder
    settings: QuerySettings
    suspensions: Suspensions = field(default_factory=Suspensions)
    provider: AnswerProvider | None = None
    """Who writes the answers; None: the one the settings name."""
    publish_delta: Callable[[QuestionAnswerDelta], Awaitable[None]] | None = None
    """Sends an answer's pieces to clients following it live; None sends none."""
    writer: AnswerProvider = field(init=False)

    def __post_init__(self) -> None:
        self.writer = self.provider or provider_from_settings(self.settings, self.embedder)

    async def answer(
        self, event: QuestionAsked, on_piece: PieceListener | None = None
    ) -> QuestionAnsweredV1:
        """`on_piece` hears the answer's text as the provider writes it."""
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
        chunks = await retrieval.search(
            self.database,
            self.store,
            self.embedder,
            event.company_id,
            question,
            mode=settings.retrieval_mode,
            limit=settings.retrieval_limit,
            min_score=settings.min_relevance,
            question_vector=question_vector.tolist(),
        )
        return await self.compose(event, chunks, on_piece)

    async def compose(
        self,
        event: QuestionAsked,
        passages: list[RetrievedChunk],
        on_piece: PieceListener | None = None,
    ) -> QuestionAnsweredV1:
        """The provider's answer from the retrieved passages, cited from those passages."""
        question_id = event.payload.question_id
        if not passages or max(p.score for p in passages) < self.settings.answer_min_score:
            return self._fallback(question_id)  # the provider is not asked to guess
        draft = self.writer.write(event.payload.question, passages)
        pieces: list[str] = []
        try:
            async for piece in draft.pieces:
                pieces.append(piece)
                if on_piece is not None:
                    await on_piece(piece)
        except ProviderFailed as exc:
            logger.error(
                "the answer provider failed",
                extra={
                    "question_id": str(question_id),
                    "provider": draft.metadata.provider,
                    "model": draft.metadata.model,
                    "error": str(exc),
                },
            )
            return QuestionAnsweredV1(
                question_id=question_id,
                answer=PROVIDER_FAILED_ANSWER,
                found=False,
                citations=[],
                error=PROVIDER_FAILED,
            )
        metadata = draft.metadata
        if not metadata.found or not pieces:
            return self._fallback(question_id)
        logger.info(
            "answered",
            extra={
                "question_id": str(question_id),
                "provider": metadata.provider,
                "model": metadata.model,
                "prompt_tokens": metadata.prompt_tokens,
                "completion_tokens": metadata.completion_tokens,
            },
        )
        return QuestionAnsweredV1(
            question_id=question_id,
            answer="".join(pieces),
            found=True,
            citations=_citations(metadata.support),
        )

    def _fallback(self, question_id: UUID) -> QuestionAnsweredV1:
        """Nothing relevant enough: say so instead of guessing, and flag it for a person."""
        return QuestionAnsweredV1(
            question_id=question_id,
            answer=self.settings.fallback_answer,
            found=False,
            citations=[],
            needs_human=True,
        )

    async def handle(self, event: QuestionAsked) -> None:
        """Answers outside any transaction, then stores the answer and publishes it together."""
        async with self.database.transaction(event.company_id) as session:
            if await already_processed(session, inbox, QUESTIONS_CONSUMER, event.id):
                return
        started = time.perf_counter()
        answered = await self.answer(event, self._live_pieces(event))
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

    def _live_pieces(self, event: QuestionAsked) -> PieceListener | None:
        """Publishes each piece as a numbered `question.answer_delta`, straight to the bus.

        Not through the outbox: a piece is worth something only while the asker is still
        reading, and the outbox would hold it until the answer's transaction commits, when the
        whole answer goes out anyway. So pieces are best effort: one that cannot be published
        in time is skipped, and so are the rest of that answer's, never the answer itself.
        """
        publish = self.publish_delta
        if publish is None:
            return None
        sequence = itertools.count()
        broken = False

        async def on_piece(text: str) -> None:
            nonlocal broken
            delta = QuestionAnswerDelta.new(
                event.company_id,
                QuestionAnswerDeltaV1(
                    question_id=event.payload.question_id, sequence=next(sequence), text=text
                ),
                cause=event,
            )
            if broken:
                return
            try:
                await asyncio.wait_for(publish(delta), DELTA_PUBLISH_SECONDS)
            except Exception:
                broken = True
                logger.warning(
                    "could not publish an answer delta; the rest of this answer's are skipped",
                    extra={"question_id": str(event.payload.question_id)},
                    exc_info=True,
                )

        return on_piece


def _citations(support: list[Support]) -> list[Citation]:
    """One citation per passage the answer rests on, in the order the provider gave them."""
    citations: dict[tuple[str, int], Citation] = {}
    for supported in support:
        chunk = supported.passage
        key = (str(chunk.document_id), chunk.chunk_index)
        if key not in citations:
            citations[key] = Citation(
                document_id=chunk.document_id,
                title=chunk.title,
                page=chunk.page,
                section=chunk.section,
                snippet=_snippet(chunk.text, supported.quote),
                score=round(chunk.score, 4),
            )
    return list(citations.values())


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
