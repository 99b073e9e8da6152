"""Answering against a real index, the real model and the database as the application role."""

import uuid
from collections.abc import Callable
from uuid import UUID

from sqlalchemy import select

from common.db import Database
from common.embedding import Embedder
from common.events import (
    DocumentChunksEmbedded,
    QuestionAnswered,
    QuestionAsked,
    QuestionAskedV1,
    decode_event,
)
from query.answers.models import Answer
from query.answers.service import Answerer
from query.db import outbox
from query.index import service as index_service
from query.index.store import VectorStore
from query.settings import QuerySettings

MakeBatches = Callable[..., list[DocumentChunksEmbedded]]

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


class TestAnswerer:
    async def test_answers_from_the_company_documents_with_citations(
        self,
        query_database: Database,
        store: VectorStore,
        embedder: Embedder,
        make_batches: MakeBatches,
    ) -> None:
        company = uuid.uuid4()
        batches = make_batches(company, MANUAL, title="Manual del empleado")
        for batch in batches:
            await index_service.index_batch(query_database, store, batch)
        answerer = Answerer(query_database, store, embedder, QuerySettings())
        asked = question(company, "¿Cuántos días de vacaciones tienen los empleados de Acme?")

        await answerer.handle(asked)
        await answerer.handle(asked)  # re-delivery: answered and published once

        [published] = await answers_published(query_database, company)
        answer = published.payload
        assert published.correlation_id == asked.correlation_id
        assert answer.question_id == asked.payload.question_id
        assert answer.found
        assert "veintitrés días" in answer.answer
        assert answer.citations[0].document_id == batches[0].payload.document_id
        assert answer.citations[0].title == "Manual del empleado"
        assert "veintitrés" in answer.citations[0].snippet
        async with query_database.transaction(company) as session:
            stored = await session.get(Answer, asked.payload.question_id)
        assert stored is not None
        assert stored.answer == answer.answer

    async def test_a_suspended_company_is_answered_from_nothing(
        self,
        query_database: Database,
        store: VectorStore,
        embedder: Embedder,
        make_batches: MakeBatches,
    ) -> None:
        company = uuid.uuid4()
        for batch in make_batches(company, MANUAL):
            await index_service.index_batch(query_database, store, batch)
        answerer = Answerer(query_database, store, embedder, QuerySettings())
        answerer.suspensions.suspend(company)

        await answerer.handle(
            question(company, "¿Cuántos días de vacaciones tienen los empleados de Acme?")
        )

        [published] = await answers_published(query_database, company)
        assert not published.payload.found
        assert published.payload.citations == []
        assert "suspended" in published.payload.answer

    async def test_another_company_gets_the_fallback_and_no_citation(
        self,
        query_database: Database,
        store: VectorStore,
        embedder: Embedder,
        make_batches: MakeBatches,
    ) -> None:
        owner, other = uuid.uuid4(), uuid.uuid4()
        for batch in make_batches(owner, MANUAL):
            await index_service.index_batch(query_database, store, batch)
        settings = QuerySettings()
        answerer = Answerer(query_database, store, embedder, settings)

        await answerer.handle(
            question(other, "¿Cuántos días de vacaciones tienen los empleados de Acme?")
        )

        [published] = await answers_published(query_database, other)
        assert not published.payload.found
        assert published.payload.citations == []
        assert published.payload.answer == settings.fallback_answer
