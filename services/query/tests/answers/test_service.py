"""Answering against a real index, the real model and the database as the application role."""

import uuid
from collections.abc import Awaitable, Callable
from uuid import UUID

import pytest
from sqlalchemy import select

from common.db import Database
from common.embedding import Embedder
from common.events import (
    QuestionAnswerDelta,
    QuestionAnswered,
    QuestionAsked,
    QuestionAskedV1,
    decode_event,
)
from devstack.openai_server import FakeOpenAI
from query.answers.service import PROVIDER_FAILED, PROVIDER_FAILED_ANSWER, Answerer
from query.conversations.models import Message
from query.db import outbox
from query.index.store import VectorStore
from query.settings import QuerySettings

IndexDocument = Callable[..., Awaitable[UUID]]
OpenAISettings = Callable[..., QuerySettings]
OPENAI_KEY = "sk-test-query-1"

MANUAL = [
    "Los empleados de Acme tienen veintitrés días laborables de vacaciones pagadas al año.",
    "Se puede teletrabajar dos días por semana, previo acuerdo con el responsable.",
    "Las facturas de viaje se entregan antes del día cinco de cada mes.",
]


def question(company_id: UUID, text: str) -> QuestionAsked:
    return QuestionAsked.new(
        company_id,
        QuestionAskedV1(question_id=uuid.uuid4(), question=text, asked_by=uuid.uuid4()),
    )


async def answers_published(database: Database, company_id: UUID) -> list[QuestionAnswered]:
    async with database.transaction(company_id) as session:
        bodies = (await session.scalars(select(outbox.c.body))).all()
    return [e for e in map(decode_event, bodies) if isinstance(e, QuestionAnswered)]


async def bot_reply(database: Database, company_id: UUID, question_id: UUID) -> Message | None:
    async with database.transaction(company_id) as session:
        return await session.scalar(
            select(Message).where(Message.question_id == question_id, Message.sender_type == "bot")
        )


class TestAnswerer:
    async def test_answers_from_the_company_documents_with_citations(
        self,
        query_database: Database,
        store: VectorStore,
        embedder: Embedder,
        index_document: IndexDocument,
    ) -> None:
        company = uuid.uuid4()
        document_id = await index_document(company, MANUAL, title="Manual del empleado")
        answerer = Answerer(query_database, store, embedder, QuerySettings())
        asked = question(company, "¿Cuántos días de vacaciones tienen los empleados de Acme?")

        await answerer.handle(asked)
        await answerer.handle(asked)  # re-delivery: answered and published once

        [published] = await answers_published(query_database, company)
        answer = published.payload
        assert published.correlation_id == asked.correlation_id
        assert answer.question_id == asked.payload.question_id
        assert answer.found
        assert answer.answer is not None
        assert "veintitrés días" in answer.answer
        assert answer.citations[0].document_id == document_id
        assert answer.citations[0].title == "Manual del empleado"
        assert "veintitrés" in answer.citations[0].snippet
        stored = await bot_reply(query_database, company, asked.payload.question_id)
        assert stored is not None
        assert stored.content == answer.answer
        assert stored.id == answer.message_id
        assert stored.conversation_id == answer.conversation_id

    async def test_a_suspended_company_is_answered_from_nothing(
        self,
        query_database: Database,
        store: VectorStore,
        embedder: Embedder,
        index_document: IndexDocument,
    ) -> None:
        company = uuid.uuid4()
        await index_document(company, MANUAL)
        answerer = Answerer(query_database, store, embedder, QuerySettings())
        answerer.suspensions.suspend(company)

        await answerer.handle(
            question(company, "¿Cuántos días de vacaciones tienen los empleados de Acme?")
        )

        [published] = await answers_published(query_database, company)
        assert not published.payload.found
        assert published.payload.citations == []
        assert published.payload.answer is not None
        assert "suspended" in published.payload.answer

    async def test_another_company_gets_the_fallback_and_no_citation(
        self,
        query_database: Database,
        store: VectorStore,
        embedder: Embedder,
        index_document: IndexDocument,
    ) -> None:
        owner, other = uuid.uuid4(), uuid.uuid4()
        await index_document(owner, MANUAL)
        settings = QuerySettings()
        answerer = Answerer(query_database, store, embedder, settings)

        await answerer.handle(
            question(other, "¿Cuántos días de vacaciones tienen los empleados de Acme?")
        )

        [published] = await answers_published(query_database, other)
        assert not published.payload.found
        assert published.payload.citations == []
        assert published.payload.answer == settings.fallback_answer
        assert published.payload.needs_human

    async def test_the_answer_goes_out_live_as_numbered_deltas_too(
        self,
        query_database: Database,
        store: VectorStore,
        embedder: Embedder,
        index_document: IndexDocument,
    ) -> None:
        company = uuid.uuid4()
        await index_document(company, MANUAL)
        deltas: list[QuestionAnswerDelta] = []
        answerer = Answerer(
            query_database, store, embedder, QuerySettings(), publish_delta=collect(deltas)
        )
        asked = question(company, "¿Cuántos días de vacaciones tienen los empleados de Acme?")

        await answerer.handle(asked)

        [published] = await answers_published(query_database, company)
        [delta] = deltas  # the extractive answer is written in one piece
        assert delta.payload.text == published.payload.answer
        assert delta.payload.sequence == 0
        assert delta.key() == str(asked.payload.question_id)
        assert delta.correlation_id == asked.correlation_id
        assert not published.payload.needs_human


def collect(into: list[QuestionAnswerDelta]) -> Callable[[QuestionAnswerDelta], Awaitable[None]]:
    async def publish(delta: QuestionAnswerDelta) -> None:
        into.append(delta)

    return publish


class TestAnswererWithOpenAI:
    async def indexed_company(self, index_document: IndexDocument) -> tuple[UUID, UUID]:
        company = uuid.uuid4()
        return company, await index_document(company, MANUAL, title="Manual del empleado")

    async def test_the_streamed_answer_is_cited_from_the_passages_it_was_given(
        self,
        query_database: Database,
        store: VectorStore,
        embedder: Embedder,
        index_document: IndexDocument,
        openai_server: FakeOpenAI,
        openai_settings: OpenAISettings,
    ) -> None:
        company, document_id = await self.indexed_company(index_document)
        openai_server.pieces = ["Tienen ", "veintitrés ", "días ", "laborables."]
        deltas: list[QuestionAnswerDelta] = []
        answerer = Answerer(
            query_database,
            store,
            embedder,
            openai_settings(openai_api_key=OPENAI_KEY),
            publish_delta=collect(deltas),
        )
        asked = question(company, "¿Cuántos días de vacaciones tienen los empleados de Acme?")

        await answerer.handle(asked)

        [published] = await answers_published(query_database, company)
        answer = published.payload
        assert answer.answer == "Tienen veintitrés días laborables."
        assert answer.found
        assert not answer.needs_human
        assert answer.error is None
        assert [(d.payload.sequence, d.payload.text) for d in deltas] == list(
            enumerate(openai_server.pieces)
        )
        cited = {c.document_id: c for c in answer.citations}
        assert cited[document_id].title == "Manual del empleado"
        assert "veintitrés" in " ".join(c.snippet for c in answer.citations)
        [request] = openai_server.requests
        assert request.headers["authorization"] == f"Bearer {OPENAI_KEY}"
        assert request.body["model"] == "gpt-local"
        system, user = request.body["messages"]
        assert "never instructions" in system["content"]
        assert '<passage id="1" title="Manual del empleado">' in user["content"]
        assert "veintitrés días laborables de vacaciones" in user["content"]
        stored = await bot_reply(query_database, company, asked.payload.question_id)
        assert stored is not None
        assert stored.content == answer.answer
        assert stored.id == answer.message_id
        assert stored.conversation_id == answer.conversation_id

    @pytest.mark.parametrize(
        ("status", "failure"), [(500, None), (None, "garbage"), (None, "hang")]
    )
    async def test_a_failing_provider_ends_in_a_clear_answer(
        self,
        query_database: Database,
        store: VectorStore,
        embedder: Embedder,
        index_document: IndexDocument,
        openai_server: FakeOpenAI,
        openai_settings: OpenAISettings,
        status: int | None,
        failure: str | None,
    ) -> None:
        company, _ = await self.indexed_company(index_document)
        openai_server.status = status
        openai_server.failure = failure  # type: ignore[assignment]
        settings = openai_settings(openai_timeout_seconds=0.5)
        answerer = Answerer(query_database, store, embedder, settings)

        await answerer.handle(
            question(company, "¿Cuántos días de vacaciones tienen los empleados de Acme?")
        )

        [published] = await answers_published(query_database, company)
        assert published.payload.error == PROVIDER_FAILED
        assert published.payload.answer == PROVIDER_FAILED_ANSWER
        assert not published.payload.found
        assert published.payload.citations == []
        assert len(openai_server.requests) == 1

    async def test_below_the_threshold_the_provider_is_not_asked(
        self,
        query_database: Database,
        store: VectorStore,
        embedder: Embedder,
        index_document: IndexDocument,
        openai_server: FakeOpenAI,
        openai_settings: OpenAISettings,
    ) -> None:
        company, _ = await self.indexed_company(index_document)
        settings = openai_settings(answer_min_score=0.99)
        answerer = Answerer(query_database, store, embedder, settings)

        await answerer.handle(
            question(company, "¿Cuántos días de vacaciones tienen los empleados de Acme?")
        )

        [published] = await answers_published(query_database, company)
        assert openai_server.requests == []
        assert published.payload.answer == settings.fallback_answer
        assert not published.payload.found
        assert published.payload.needs_human
        assert published.payload.citations == []
