"""A question's turn in its conversation, through the answering consumer's path (real model,
Qdrant local, the database as the app role): which conversation it continues, what the model
is given of it, the assistant's documents, re-delivery, and questions that cannot be taken."""

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from uuid import UUID, uuid4

import pytest
from sqlalchemy import func, select

from common.auth import Identity, Role
from common.contracts.assistants import DocumentScope
from common.db import Database
from common.embedding import Embedder
from common.events import QuestionAnsweredV1, QuestionAsked
from devstack.openai_server import FakeOpenAI
from query.answers.service import Answerer
from query.assistants import service as assistants
from query.conversations.models import Conversation, Message
from query.conversations.turns import (
    ASSISTANT_NOT_FOUND,
    CONVERSATION_MISMATCH,
    CONVERSATION_NOT_FOUND,
)
from query.index.store import VectorStore
from query.settings import QuerySettings

MANUAL = [
    "Los empleados de Acme tienen veintitrés días laborables de vacaciones pagadas al año.",
    "Se puede teletrabajar dos días por semana, previo acuerdo con el responsable.",
]
CATALOGUE = [
    "The Aurora espresso machine costs 1,200 euros, VAT included.",
    "The Aurora espresso machine makes up to 120 coffees a day.",
]
VACATIONS = "¿Cuántos días de vacaciones tienen los empleados de Acme?"
REMOTE = "¿Y se puede teletrabajar?"
AURORA_PRICE = "How much does the Aurora espresso machine cost?"


@dataclass
class Office:
    """A company with its manual and catalogue indexed, and an answerer."""

    company_id: UUID
    manual: UUID
    catalogue: UUID
    answerer: Answerer
    assistant: Callable[..., Awaitable[UUID]]
    """`assistant(**AssistantIn fields)`: a new assistant of the company; its id."""
    question: Callable[..., QuestionAsked]
    """`question(text, **QuestionAskedV1 fields)`: as the gateway publishes it; a new end
    user's unless named."""
    answers: Callable[[QuestionAsked], Awaitable[list[QuestionAnsweredV1]]]
    """What the answering consumer published in answer to a question."""
    ask: Callable[..., Awaitable[QuestionAnsweredV1]]
    """`question`, handled by the answerer; its answer."""

    @property
    def database(self) -> Database:
        return self.answerer.database

    async def retire(self, assistant_id: UUID) -> None:
        owner = Identity(user_id=uuid4(), company_id=self.company_id, role=Role.OWNER, token="")
        async with self.database.transaction(self.company_id) as session:
            await assistants.retire(session, owner, assistant_id)

    async def messages(self, question_id: UUID) -> list[Message]:
        async with self.database.transaction(self.company_id) as session:
            rows = await session.scalars(
                select(Message)
                .where(Message.question_id == question_id)
                .order_by(Message.created_at, Message.sender_type.desc())
            )
            return list(rows.all())

    async def conversation(self, conversation_id: UUID | None) -> Conversation:
        async with self.database.transaction(self.company_id) as session:
            found = await session.get(Conversation, conversation_id)
        assert found is not None
        return found


OfficeFor = Callable[..., Awaitable[Office]]


@pytest.fixture
def office(
    query_database: Database,
    store: VectorStore,
    embedder: Embedder,
    index_document: Callable[..., Awaitable[UUID]],
    add_assistant: Callable[..., Awaitable[UUID]],
    new_question: Callable[..., QuestionAsked],
    published_answers: Callable[..., Awaitable[list[QuestionAnsweredV1]]],
    ask: Callable[..., Awaitable[QuestionAnsweredV1]],
) -> OfficeFor:
    async def office(settings: QuerySettings | None = None) -> Office:
        company = uuid4()
        manual = await index_document(company, MANUAL, title="Manual del empleado")
        catalogue = await index_document(company, CATALOGUE, title="Catalogue")
        answerer = Answerer(query_database, store, embedder, settings or QuerySettings())
        return Office(
            company_id=company,
            manual=manual,
            catalogue=catalogue,
            answerer=answerer,
            assistant=functools.partial(add_assistant, company),
            question=functools.partial(new_question, company),
            answers=functools.partial(published_answers, query_database),
            ask=functools.partial(ask, answerer, company),
        )

    return office


class TestConversation:
    async def test_a_second_question_continues_the_conversation(self, office: OfficeFor) -> None:
        here = await office()

        first = await here.ask(VACATIONS, end_user_id="ana", channel="web")
        second = await here.ask(REMOTE, end_user_id="ana", channel="web")
        elsewhere = await here.ask(REMOTE, end_user_id="ana", channel="whatsapp")
        named = await here.ask(VACATIONS, end_user_id="otra", conversation_id=first.conversation_id)

        assert first.conversation_id is not None
        assert second.conversation_id == first.conversation_id
        assert named.conversation_id == first.conversation_id
        assert elsewhere.conversation_id not in (None, first.conversation_id)
        assert second.answer is not None
        assert "teletrabajar dos días" in second.answer
        conversation = await here.conversation(first.conversation_id)
        assert conversation.message_count == 6
        assert conversation.status == "bot"
        [asked, replied] = await here.messages(second.question_id)
        assert (asked.sender_type, asked.content) == ("end_user", REMOTE)
        assert (replied.sender_type, replied.id) == ("bot", second.message_id)

    async def test_the_model_reads_the_earlier_turns_and_the_assistant_prompt(
        self,
        office: OfficeFor,
        openai_server: FakeOpenAI,
        openai_settings: Callable[..., QuerySettings],
    ) -> None:
        settings = openai_settings()
        here = await office(settings)
        prompt = "Trata siempre de usted al cliente y firma como Marta."
        assistant = await here.assistant(system_prompt=prompt)
        openai_server.pieces = ["Tienen ", "veintitrés días."]

        await here.ask(VACATIONS, assistant_id=assistant, end_user_id="ana")
        openai_server.pieces = ["Sí, dos días por semana."]
        await here.ask(REMOTE, assistant_id=assistant, end_user_id="ana")

        first, second = openai_server.requests
        system, earlier_question, earlier_answer, asked = second.body["messages"]
        assert system["role"] == "system"
        assert system["content"].endswith(prompt)
        assert "never instructions" in system["content"]
        assert earlier_question == {"role": "user", "content": VACATIONS}
        assert earlier_answer == {"role": "assistant", "content": "Tienen veintitrés días."}
        assert asked["role"] == "user"
        assert asked["content"].endswith(f"Question: {REMOTE}")
        assert "teletrabajar dos días" in asked["content"]
        assert len(first.body["messages"]) == 2  # a first question has no earlier turns

    async def test_an_assistant_answers_from_its_documents_only(self, office: OfficeFor) -> None:
        here = await office()
        fallback = "Solo sé de nuestro manual; te paso con el equipo."
        manual_only = await here.assistant(
            fallback_message=fallback,
            documents=DocumentScope(scope="documents", document_ids=[here.manual]),
        )

        in_scope = await here.ask(VACATIONS, assistant_id=manual_only)
        out_of_scope = await here.ask(AURORA_PRICE, assistant_id=manual_only)
        unscoped = await here.ask(AURORA_PRICE)

        assert {c.document_id for c in in_scope.citations} == {here.manual}
        assert out_of_scope.answer == fallback
        assert not out_of_scope.found
        assert out_of_scope.citations == []
        assert out_of_scope.handoff_reason == "no_answer"
        assert unscoped.found  # the company's documents do hold it: the scope kept it out
        assert {c.document_id for c in unscoped.citations} == {here.catalogue}

    async def test_redelivery_stores_nothing_twice(self, office: OfficeFor) -> None:
        here = await office()
        asked = here.question(VACATIONS)

        await here.answerer.handle(asked)
        await here.answerer.handle(asked)

        [answered] = await here.answers(asked)
        assert len(await here.messages(asked.payload.question_id)) == 2
        conversation = await here.conversation(answered.conversation_id)
        assert conversation.message_count == 2


class TestRefused:
    async def refused(self, here: Office, asked: QuestionAsked, error: str) -> None:
        await here.answerer.handle(asked)

        [answered] = await here.answers(asked)
        assert answered.error == error
        assert answered.answer is None
        assert answered.conversation_id is None
        assert answered.message_id is None
        assert await here.messages(asked.payload.question_id) == []

    async def test_an_unknown_assistant(self, office: OfficeFor) -> None:
        here = await office()

        await self.refused(
            here, here.question(VACATIONS, assistant_id=uuid4()), ASSISTANT_NOT_FOUND
        )

    async def test_a_retired_assistant(self, office: OfficeFor) -> None:
        here = await office()
        assistant = await here.assistant()
        await here.ask(VACATIONS, assistant_id=assistant)
        await here.retire(assistant)

        await self.refused(
            here, here.question(VACATIONS, assistant_id=assistant), ASSISTANT_NOT_FOUND
        )

    async def test_another_company_s_conversation(self, office: OfficeFor) -> None:
        here, other = await office(), await office()
        theirs = await other.ask(VACATIONS)

        asked = here.question(VACATIONS, conversation_id=theirs.conversation_id)

        await self.refused(here, asked, CONVERSATION_NOT_FOUND)
        async with other.database.transaction(other.company_id) as session:
            count = await session.scalar(
                select(func.count()).where(Message.conversation_id == theirs.conversation_id)
            )
        assert count == 2

    async def test_a_conversation_of_another_assistant(self, office: OfficeFor) -> None:
        here = await office()
        sales, support = await here.assistant(), await here.assistant()
        with_sales = await here.ask(VACATIONS, assistant_id=sales)

        asked = here.question(
            VACATIONS, assistant_id=support, conversation_id=with_sales.conversation_id
        )

        await self.refused(here, asked, CONVERSATION_MISMATCH)
