"""Follow-up questions: which questions lean on the earlier turns, how they are rewritten, and
that the rewrite makes "¿y cuánto cuesta?" find the product asked about before, through the
answering consumer's path with the real model, Qdrant local and the database as the app role."""

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from uuid import UUID, uuid4

import pytest
from sqlalchemy import select

from common.db import Database
from common.embedding import Embedder
from common.events import QuestionAnsweredV1
from query.answers.service import Answerer
from query.conversations.followups import depends_on_earlier, standalone_question
from query.conversations.models import Message
from query.index.store import VectorStore
from query.settings import QuerySettings

AURORA = [
    "El modelo Aurora es una cafetera espresso superautomática para oficinas, con molinillo "
    "cerámico integrado y depósito de agua de 2,5 litros.",
    "La Aurora prepara hasta 120 cafés al día y se maneja desde una pantalla táctil con doce "
    "recetas programables.",
    "Precio: el modelo Aurora cuesta 1.200 euros, IVA incluido, con la instalación en la "
    "oficina gratuita.",
    "Garantía: la cafetera Aurora tiene tres años de garantía, con una revisión anual incluida.",
    "Mantenimiento de la Aurora: el circuito se descalcifica cada tres meses con la pastilla que "
    "incluye la caja.",
    "Medidas de la Aurora: 35 centímetros de ancho, 48 de fondo y 52 de alto; pesa 14 kilos.",
]
BOREAL = [
    "El modelo Boreal es un molinillo de café eléctrico de muelas planas para uso doméstico, "
    "con 40 niveles de molienda.",
    "El Boreal muele 200 gramos de café por minuto y su tolva admite 250 gramos de grano.",
    "Precio: el modelo Boreal cuesta 90 euros, IVA incluido, y el envío es gratuito.",
    "Garantía: el molinillo Boreal tiene dos años de garantía.",
    "Mantenimiento del Boreal: las muelas se limpian una vez al mes con el cepillo que trae la "
    "caja.",
    "Medidas del Boreal: 14 centímetros de ancho, 20 de fondo y 38 de alto; pesa 2 kilos.",
]
POLICY = [
    "Los empleados de Acme tienen veintitrés días laborables de vacaciones pagadas al año.",
    "Las vacaciones se piden con dos semanas de antelación en el portal interno.",
]
ABOUT_AURORA = "¿Qué es el modelo Aurora?"
ABOUT_BOREAL = "¿Qué es el modelo Boreal?"
HOW_MUCH = "¿y cuánto cuesta?"


class TestDependsOnEarlier:
    @pytest.mark.parametrize(
        "question",
        [
            "¿y cuánto cuesta?",
            "¿Y el precio?",
            "¿Cuánto cuesta?",
            "¿Me puedes decir cuánto cuesta?",
            "¿Qué garantía tiene este modelo?",
            "¿Cuánto cuesta ese?",
            "¿Qué es eso?",
            "¿Lo tienen en rojo?",
            "¿Cuándo lo envían a Canarias?",
            "¿Puedo devolverlo?",
            "¿Cuál es su precio?",
            "¿Qué tal el Boreal?",
            "and the price?",
            "What about the warranty?",
            "How much does it cost?",
            "Is that included?",
            "Do they ship to Canada?",
        ],
    )
    def test_a_follow_up(self, question: str) -> None:
        assert depends_on_earlier(question)

    @pytest.mark.parametrize(
        "question",
        [
            "¿Cuál es la política de vacaciones?",
            "¿Cuánto cuesta el modelo Aurora?",
            "¿Dónde esta la oficina de Madrid?",
            "¿La oficina de Madrid abre los sábados?",
            "¿Cuántos días de vacaciones tienen los empleados de Acme?",
            "¿Quién es Carlos?",
            "¿Qué es el XR-200?",
            "What is the vacation policy?",
            "Is there a policy that covers remote work?",
            "Tell me about the Aurora coffee machine",
        ],
    )
    def test_a_question_of_its_own(self, question: str) -> None:
        assert not depends_on_earlier(question)


class TestStandaloneQuestion:
    def test_a_first_question_is_searched_as_asked(self) -> None:
        assert standalone_question(HOW_MUCH, []) == HOW_MUCH

    def test_a_follow_up_goes_under_the_question_before_it(self) -> None:
        rewritten = standalone_question(HOW_MUCH, ["¿Qué es la política?", ABOUT_AURORA])

        assert rewritten == f"{ABOUT_AURORA}\n{HOW_MUCH}"

    def test_a_question_of_its_own_is_searched_as_asked(self) -> None:
        question = "¿Cuál es la política de vacaciones?"

        assert standalone_question(question, [ABOUT_AURORA]) == question

    def test_a_chain_of_follow_ups_keeps_its_subject_and_not_every_step(self) -> None:
        second = standalone_question(HOW_MUCH, [ABOUT_AURORA])
        third = standalone_question("¿y cuánto pesa?", [ABOUT_AURORA, second])
        fourth = standalone_question("¿y la garantía?", [ABOUT_AURORA, second, third])

        assert third == f"{ABOUT_AURORA}\n{HOW_MUCH}\n¿y cuánto pesa?"
        assert fourth == f"{ABOUT_AURORA}\n¿y cuánto pesa?\n¿y la garantía?"

    def test_a_request_for_a_person_sets_no_subject(self) -> None:
        earlier = [ABOUT_AURORA, "Quiero hablar con una persona"]

        assert standalone_question(HOW_MUCH, earlier) == f"{ABOUT_AURORA}\n{HOW_MUCH}"

    def test_nothing_to_lean_on_leaves_the_question_as_asked(self) -> None:
        assert standalone_question(HOW_MUCH, ["hola", "¿?"]) == HOW_MUCH

    def test_the_follow_up_is_written_on_one_line(self) -> None:
        rewritten = standalone_question("¿y\n  cuánto   cuesta?", [ABOUT_AURORA])

        assert rewritten == f"{ABOUT_AURORA}\n{HOW_MUCH}"


@dataclass
class Catalogue:
    """A company with two product sheets and a policy indexed, and the real Answerer."""

    company_id: UUID
    aurora: UUID
    boreal: UUID
    policy: UUID
    answerer: Answerer
    ask: Callable[..., Awaitable[QuestionAnsweredV1]]
    """`ask(question, end_user_id=...)`: an end user's question on the web chat, answered."""

    async def end_user_message(self, question_id: UUID) -> Message:
        async with self.answerer.database.transaction(self.company_id) as session:
            message = await session.scalar(
                select(Message).where(
                    Message.question_id == question_id, Message.sender_type == "end_user"
                )
            )
        assert message is not None
        return message

    def cited(self, answered: QuestionAnsweredV1) -> set[UUID]:
        return {citation.document_id for citation in answered.citations}


@pytest.fixture
async def catalogue(
    query_database: Database,
    store: VectorStore,
    embedder: Embedder,
    index_document: Callable[..., Awaitable[UUID]],
    ask: Callable[..., Awaitable[QuestionAnsweredV1]],
) -> Catalogue:
    company = uuid4()
    documents = {
        name: await index_document(company, texts, title=title)
        for name, texts, title in (
            ("aurora", AURORA, "Ficha de la cafetera Aurora"),
            ("boreal", BOREAL, "Ficha del molinillo Boreal"),
            ("policy", POLICY, "Manual del empleado"),
        )
    }
    answerer = Answerer(query_database, store, embedder, QuerySettings())
    return Catalogue(
        company_id=company,
        answerer=answerer,
        ask=functools.partial(ask, answerer, company, channel="web"),
        **documents,
    )


class TestFollowUpsAnswered:
    async def test_how_much_after_a_product_finds_that_product(self, catalogue: Catalogue) -> None:
        first = await catalogue.ask(ABOUT_AURORA, end_user_id="cliente-aurora")
        follow_up = await catalogue.ask(HOW_MUCH, end_user_id="cliente-aurora")

        assert follow_up.conversation_id == first.conversation_id
        assert follow_up.found
        assert follow_up.answer is not None
        assert "1.200 euros" in follow_up.answer
        assert follow_up.citations[0].document_id == catalogue.aurora
        asked = await catalogue.end_user_message(follow_up.question_id)
        assert asked.content == HOW_MUCH
        assert asked.retrieval_query == f"{ABOUT_AURORA}\n{HOW_MUCH}"

    async def test_the_same_words_after_another_product_find_the_other(
        self, catalogue: Catalogue
    ) -> None:
        await catalogue.ask(ABOUT_AURORA, end_user_id="cliente-aurora")
        first = await catalogue.ask(ABOUT_BOREAL, end_user_id="cliente-boreal")
        follow_up = await catalogue.ask(HOW_MUCH, end_user_id="cliente-boreal")

        assert follow_up.conversation_id == first.conversation_id
        assert follow_up.answer is not None
        assert "90 euros" in follow_up.answer
        assert follow_up.citations[0].document_id == catalogue.boreal

    async def test_without_the_conversation_the_words_alone_find_the_other_product(
        self, catalogue: Catalogue
    ) -> None:
        """What makes the first test pass is the conversation: asked alone, the same words
        are answered from the other product's sheet."""
        alone = await catalogue.ask(HOW_MUCH, end_user_id="cliente-nuevo")

        assert alone.answer is not None
        assert "90 euros" in alone.answer
        assert alone.citations[0].document_id == catalogue.boreal
        asked = await catalogue.end_user_message(alone.question_id)
        assert asked.retrieval_query is None

    async def test_a_chain_of_follow_ups_stays_on_its_product(self, catalogue: Catalogue) -> None:
        await catalogue.ask(ABOUT_AURORA, end_user_id="cliente-aurora")
        await catalogue.ask(HOW_MUCH, end_user_id="cliente-aurora")
        weight = await catalogue.ask("¿y cuánto pesa?", end_user_id="cliente-aurora")

        assert weight.citations[0].document_id == catalogue.aurora
        asked = await catalogue.end_user_message(weight.question_id)
        assert asked.retrieval_query == f"{ABOUT_AURORA}\n{HOW_MUCH}\n¿y cuánto pesa?"

    async def test_a_question_of_its_own_later_is_not_rewritten(self, catalogue: Catalogue) -> None:
        first = await catalogue.ask(ABOUT_AURORA, end_user_id="cliente-aurora")
        await catalogue.ask(HOW_MUCH, end_user_id="cliente-aurora")
        policy = await catalogue.ask(
            "¿Cuántos días de vacaciones tienen los empleados?", end_user_id="cliente-aurora"
        )

        assert policy.conversation_id == first.conversation_id
        assert policy.answer is not None
        assert "veintitrés días" in policy.answer
        assert catalogue.cited(policy) == {catalogue.policy}
        asked = await catalogue.end_user_message(policy.question_id)
        assert asked.retrieval_query is None
