"""Answering a question from the company's own documents, with citations."""

import asyncio
import itertools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

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
from query.answers.providers import (
    AnswerProvider,
    ProviderFailed,
    Support,
    provider_from_settings,
)
from query.conversations import followups, handoff, turns
from query.conversations.handoff import HandoffRules
from query.conversations.turns import BotReply, Recorded, Turn, TurnRefused
from query.db import inbox, outbox
from query.index.store import RetrievedChunk, VectorStore
from query.retrieval import service as retrieval
from query.settings import QuerySettings

QUESTIONS_CONSUMER = "query.questions-asked"
SNIPPET_CHARS = 300
DELTA_PUBLISH_SECONDS = 2.0
PROVIDER_FAILED = "provider-failed"
SUSPENDED_ANSWER = "This company is suspended; its documents cannot be searched."
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
        self, event: QuestionAsked, turn: Turn, on_piece: PieceListener | None = None
    ) -> BotReply:
        """The bot's reply to the question in its turn. `on_piece` hears the answer's text as
        the provider writes it."""
        settings = self.settings
        assistant = turn.assistant
        rules = assistant.rules if assistant else HandoffRules()
        question = event.payload.question
        asked_for = handoff.asked_for_handoff(question, rules)
        if asked_for is not None:
            # A person was asked for (or a trigger word said): the bot does not try to answer.
            return BotReply(content=settings.handoff_message, found=False, handoff_reason=asked_for)
        search_with = followups.standalone_question(question, turn.earlier_questions)
        question_vector = (await self.embedder.embed_async([search_with]))[0]
        chunks = await retrieval.search(
            self.database,
            self.store,
            self.embedder,
            event.company_id,
            search_with,
            mode=settings.retrieval_mode,
            limit=settings.retrieval_limit,
            min_score=settings.min_relevance,
            question_vector=question_vector.tolist(),
            document_ids=assistant.document_ids if assistant else None,
            tags=assistant.tags if assistant else None,
        )
        reply = await self.compose(event, chunks, turn, on_piece, standalone=search_with)
        if search_with != question:
            reply.retrieval_query = search_with
        if reply.error is None and reply.handoff_reason is None:
            reply.handoff_reason = handoff.answer_needs_handoff(
                found=reply.found, confidence=reply.confidence, rules=rules
            )
        return reply

    async def compose(
        self,
        event: QuestionAsked,
        passages: list[RetrievedChunk],
        turn: Turn,
        on_piece: PieceListener | None = None,
        *,
        standalone: str | None = None,
    ) -> BotReply:
        """The provider's answer from the retrieved passages, cited from those passages.
        `standalone` is the question as searched (a follow-up rewritten with the earlier turns):
        a provider that does not read the conversation answers that one."""
        question_id = event.payload.question_id
        confidence = round(max(p.score for p in passages), 4) if passages else None
        fallback = self._fallback(turn, confidence)
        if confidence is None or confidence < self.settings.answer_min_score:
            return fallback  # the provider is not asked to guess
        assistant = turn.assistant
        asked = event.payload.question
        draft = self.writer.write(
            asked if self.writer.reads_turns else (standalone or asked),
            passages,
            turns=turn.history,
            instructions=assistant.instructions if assistant else None,
        )
        metadata = draft.metadata
        model = f"{metadata.provider}/{metadata.model}"
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
                    "provider": metadata.provider,
                    "model": metadata.model,
                    "error": str(exc),
                },
            )
            return BotReply(
                content=PROVIDER_FAILED_ANSWER,
                found=False,
                confidence=confidence,
                model=model,
                error=PROVIDER_FAILED,
            )
        if not metadata.found or not pieces:
            return fallback
        tokens = None
        if metadata.prompt_tokens is not None or metadata.completion_tokens is not None:
            tokens = (metadata.prompt_tokens or 0) + (metadata.completion_tokens or 0)
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
        return BotReply(
            content="".join(pieces),
            found=True,
            citations=_citations(metadata.support),
            confidence=confidence,
            model=model,
            tokens=tokens,
        )

    def _fallback(self, turn: Turn, confidence: float | None) -> BotReply:
        """Nothing relevant enough: say so instead of guessing; the conversation goes to a
        person (see handoff.answer_needs_handoff)."""
        message = turn.assistant.fallback_message if turn.assistant else None
        return BotReply(
            content=message or self.settings.fallback_answer, found=False, confidence=confidence
        )

    async def handle(self, event: QuestionAsked) -> None:
        """Answers outside any transaction, then stores the turn and publishes the answer
        together."""
        async with self.database.transaction(event.company_id) as session:
            if await already_processed(session, inbox, QUESTIONS_CONSUMER, event.id):
                return
            turn = await turns.prepare(session, event, self.settings.history_messages)
        if self.suspensions.is_suspended(event.company_id):
            answered = QuestionAnsweredV1(
                question_id=event.payload.question_id,
                answer=SUSPENDED_ANSWER,
                found=False,
                citations=[],
            )
            async with self.database.transaction(event.company_id) as session:
                # Answered, so the asker's wait ends at once, but from nothing of the company's.
                if await record_processed(session, inbox, QUESTIONS_CONSUMER, event):
                    await add_to_outbox(
                        session,
                        outbox,
                        QuestionAnswered.new(event.company_id, answered, cause=event),
                    )
            return
        started = time.perf_counter()
        reply = None
        if turn.bot_answers:
            reply = await self.answer(event, turn, self._live_pieces(event))
        latency_ms = int((time.perf_counter() - started) * 1000)
        async with self.database.transaction(event.company_id) as session:
            if not await record_processed(session, inbox, QUESTIONS_CONSUMER, event):
                return
            if turn.refused is not None:
                answered = _refused(event, turn.refused)
            else:
                try:
                    recorded = await turns.record(
                        session, event, turn, reply, latency_ms=latency_ms if reply else None
                    )
                    answered = _answered(event, recorded, reply)
                except TurnRefused as refused:
                    answered = _refused(event, refused.code)
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


def _refused(event: QuestionAsked, code: str) -> QuestionAnsweredV1:
    """Nothing stored: the asker learns why (the gateway answers 404, 409 or 422)."""
    return QuestionAnsweredV1(
        question_id=event.payload.question_id, answer=None, found=False, citations=[], error=code
    )


def _answered(
    event: QuestionAsked, recorded: Recorded, reply: BotReply | None
) -> QuestionAnsweredV1:
    conversation = recorded.conversation
    sent = reply if recorded.reply_id is not None else None
    return QuestionAnsweredV1(
        question_id=event.payload.question_id,
        answer=sent.content if sent else None,
        found=sent.found if sent else False,
        citations=sent.citations if sent else [],
        needs_human=sent is not None and sent.handoff_reason is not None,
        error=sent.error if sent else None,
        conversation_id=conversation.id,
        message_id=recorded.reply_id,
        conversation_status=conversation.status,
        handoff_reason=recorded.handoff_reason,
    )


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
