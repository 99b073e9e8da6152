"""When a conversation goes to a person: the rules on their own, then through the answering
consumer's path (real model, Qdrant local, the database as the app role): a trigger keyword
or a request for a person stops the bot before it searches; a weak answer or none flags the
conversation after."""

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from uuid import UUID, uuid4

import pytest

from common.contracts.assistants import Handoff
from common.db import Database
from common.embedding import Embedder
from common.events import QuestionAnsweredV1
from devstack.openai_server import FakeOpenAI
from query.answers.service import Answerer
from query.conversations.handoff import (
    HandoffRules,
    answer_needs_handoff,
    asked_for_handoff,
    says_a_keyword,
    wants_a_person,
)
from query.conversations.models import Message
from query.index.store import VectorStore
from query.settings import QuerySettings

MANUAL = [
    "Los empleados de Acme tienen veintitrés días laborables de vacaciones pagadas al año.",
    "Se puede teletrabajar dos días por semana, previo acuerdo con el responsable.",
    "Las facturas de viaje se entregan antes del día cinco de cada mes.",
]
VACATIONS = "¿Cuántos días de vacaciones tienen los empleados de Acme?"
ASKS_FOR_A_PERSON = "Quiero hablar con una persona, por favor"
UNRELATED = "What is the boiling point of mercury?"


class TestSaysAKeyword:
    @pytest.mark.parametrize(
        ("question", "keyword"),
        [
            ("Quiero poner una Reclamacion", "reclamación"),
            ("QUIERO PONER UNA RECLAMACIÓN", "reclamacion"),
            ("Siento mucha ira", "ira"),
            ("Tengo dos quejas", "queja"),
            ("Pido el libro de reclamaciones", "Libro de reclamaciones"),
            ("El XR 200 no enciende", "XR-200"),
            ("Mi abogado llamará", "abogado"),
        ],
    )
    def test_said(self, question: str, keyword: str) -> None:
        assert says_a_keyword(question, [keyword])

    @pytest.mark.parametrize(
        ("question", "keyword"),
        [
            ("Quiero mirar el catálogo", "ira"),
            ("¿Admiras la Aurora?", "ira"),
            ("Los libros tienen reclamaciones", "libro de reclamaciones"),
            ("¿Cuántas quejumbres?", "queja"),
            ("Hola", "!!!"),
        ],
    )
    def test_not_said(self, question: str, keyword: str) -> None:
        assert not says_a_keyword(question, [keyword])


class TestWantsAPerson:
    @pytest.mark.parametrize(
        "question",
        [
            "Quiero hablar con una persona",
            "¿Me pasas con un agente?",
            "¿Puedo hablar con un humano?",
            "Necesito que me atienda una persona real",
            "Quiero ponerme en contacto con atención al cliente",
            "¿Puedo hablar con alguien de ventas sobre un pedido?",
            "No quiero hablar con un bot",
            "¡Operador!",
            "Talk to a human",
            "Can I speak to someone?",
            "I want a real person, please",
            "Please connect me to an agent",
            "agent please",
        ],
    )
    def test_asks(self, question: str) -> None:
        assert wants_a_person(question)

    @pytest.mark.parametrize(
        "question",
        [
            "¿Cuántas personas trabajan en Acme?",
            "¿Qué hace un agente de seguros?",
            "¿Quién es el responsable de ventas?",
            "No quiero hablar con una persona, solo saber el precio",
            "I don't want to talk to a human",
            "Is the support team open on Sundays?",
            "Hola",
        ],
    )
    def test_does_not_ask(self, question: str) -> None:
        assert not wants_a_person(question)


class TestAskedForHandoff:
    def test_a_keyword_comes_first(self) -> None:
        rules = HandoffRules(keywords=("persona",))

        assert asked_for_handoff(ASKS_FOR_A_PERSON, rules) == "keyword"

    def test_a_request_for_a_person_only_when_the_rules_take_it(self) -> None:
        assert asked_for_handoff(ASKS_FOR_A_PERSON, HandoffRules()) == "user_request"
        assert asked_for_handoff(ASKS_FOR_A_PERSON, HandoffRules(on_user_request=False)) is None

    def test_an_ordinary_question_is_answered(self) -> None:
        assert asked_for_handoff(VACATIONS, HandoffRules(keywords=("ira",))) is None


class TestAnswerNeedsHandoff:
    @pytest.mark.parametrize(
        ("found", "confidence", "rules", "reason"),
        [
            (False, None, HandoffRules(), "no_answer"),
            (False, 0.9, HandoffRules(on_low_confidence=False), "no_answer"),
            (True, 0.3, HandoffRules(min_confidence=0.35), "low_confidence"),
            (True, 0.3, HandoffRules(min_confidence=0.35, on_low_confidence=False), None),
            (True, 0.35, HandoffRules(min_confidence=0.35), None),
            (True, 0.8, HandoffRules(), None),
        ],
    )
    def test_reason(
        self, found: bool, confidence: float | None, rules: HandoffRules, reason: str | None
    ) -> None:
        assert answer_needs_handoff(found=found, confidence=confidence, rules=rules) == reason


@dataclass
class Desk:
    """A company with its manual indexed and an answerer with the given settings."""

    company_id: UUID
    answerer: Answerer
    assistant: Callable[..., Awaitable[UUID]]
    """`assistant(**AssistantIn fields)`: a new assistant of the company; its id."""
    ask: Callable[..., Awaitable[QuestionAnsweredV1]]
    """`ask(question, assistant_id=..., end_user_id=...)`: answered; a new end user unless
    named."""

    @property
    def settings(self) -> QuerySettings:
        return self.answerer.settings

    async def bot_reply(self, answered: QuestionAnsweredV1) -> Message:
        async with self.answerer.database.transaction(self.company_id) as session:
            reply = await session.get(Message, answered.message_id)
        assert reply is not None
        return reply


DeskFor = Callable[..., Awaitable[Desk]]


@pytest.fixture
def desk(
    query_database: Database,
    store: VectorStore,
    embedder: Embedder,
    index_document: Callable[..., Awaitable[UUID]],
    add_assistant: Callable[..., Awaitable[UUID]],
    ask: Callable[..., Awaitable[QuestionAnsweredV1]],
) -> DeskFor:
    async def desk(settings: QuerySettings | None = None) -> Desk:
        company = uuid4()
        await index_document(company, MANUAL, title="Manual del empleado")
        answerer = Answerer(query_database, store, embedder, settings or QuerySettings())
        return Desk(
            company_id=company,
            answerer=answerer,
            assistant=functools.partial(add_assistant, company),
            ask=functools.partial(ask, answerer, company),
        )

    return desk


class TestHandoffAnswered:
    async def test_a_keyword_hands_over_without_searching_or_asking_the_model(
        self,
        desk: DeskFor,
        openai_server: FakeOpenAI,
        openai_settings: Callable[..., QuerySettings],
    ) -> None:
        settings = openai_settings()
        here = await desk(settings)
        assistant = await here.assistant(handoff=Handoff(keywords=["reclamación"]))

        answered = await here.ask(
            "Quiero poner una Reclamacion por mis vacaciones", assistant_id=assistant
        )

        assert answered.answer == settings.handoff_message
        assert not answered.found
        assert answered.needs_human
        assert answered.citations == []
        assert (answered.conversation_status, answered.handoff_reason) == (
            "waiting_human",
            "keyword",
        )
        assert openai_server.requests == []
        reply = await here.bot_reply(answered)
        assert reply.handoff_reason == "keyword"
        assert reply.confidence is None  # nothing was searched

    async def test_a_keyword_inside_another_word_is_not_said(self, desk: DeskFor) -> None:
        here = await desk()
        assistant = await here.assistant(handoff=Handoff(keywords=["ira"]))

        answered = await here.ask(
            "Quiero mirar cuántos días de vacaciones tienen los empleados de Acme",
            assistant_id=assistant,
        )

        assert answered.found
        assert answered.answer is not None
        assert "veintitrés días" in answered.answer
        assert (answered.conversation_status, answered.handoff_reason) == ("bot", None)
        assert not answered.needs_human

    async def test_asking_for_a_person_hands_over(self, desk: DeskFor) -> None:
        here = await desk()
        assistant = await here.assistant()

        with_assistant = await here.ask(ASKS_FOR_A_PERSON, assistant_id=assistant)
        without = await here.ask("Can I talk to a human?")

        for answered in (with_assistant, without):
            assert answered.answer == here.settings.handoff_message
            assert answered.needs_human
            assert (answered.conversation_status, answered.handoff_reason) == (
                "waiting_human",
                "user_request",
            )

    async def test_asking_for_a_person_is_an_ordinary_question_when_the_rules_say_so(
        self, desk: DeskFor
    ) -> None:
        here = await desk()
        assistant = await here.assistant(handoff=Handoff(on_user_request=False))

        answered = await here.ask(ASKS_FOR_A_PERSON, assistant_id=assistant)

        assert answered.answer != here.settings.handoff_message
        assert answered.handoff_reason != "user_request"

    async def test_a_weak_answer_is_given_and_flagged(self, desk: DeskFor) -> None:
        here = await desk()
        doubtful = await here.assistant(handoff=Handoff(min_confidence=0.95))
        sure_enough = await here.assistant(
            handoff=Handoff(min_confidence=0.95, on_low_confidence=False)
        )

        flagged = await here.ask(VACATIONS, assistant_id=doubtful)
        trusted = await here.ask(VACATIONS, assistant_id=sure_enough)

        assert flagged.found
        assert flagged.answer is not None
        assert "veintitrés días" in flagged.answer
        assert flagged.needs_human
        assert (flagged.conversation_status, flagged.handoff_reason) == (
            "waiting_human",
            "low_confidence",
        )
        reply = await here.bot_reply(flagged)
        assert reply.confidence is not None
        assert reply.confidence < 0.95
        assert trusted.found
        assert (trusted.conversation_status, trusted.handoff_reason) == ("bot", None)
        assert not trusted.needs_human

    async def test_nothing_relevant_says_so_and_hands_over(self, desk: DeskFor) -> None:
        here = await desk()
        fallback = "Eso no lo sé; te paso con alguien del equipo."
        assistant = await here.assistant(fallback_message=fallback)

        answered = await here.ask(UNRELATED, assistant_id=assistant)
        without = await here.ask(UNRELATED)

        assert answered.answer == fallback
        assert without.answer == here.settings.fallback_answer
        for reply in (answered, without):
            assert not reply.found
            assert reply.citations == []
            assert reply.needs_human
            assert (reply.conversation_status, reply.handoff_reason) == (
                "waiting_human",
                "no_answer",
            )

    async def test_a_flagged_conversation_is_still_answered_by_the_bot(self, desk: DeskFor) -> None:
        here = await desk()
        assistant = await here.assistant()

        handed = await here.ask(ASKS_FOR_A_PERSON, assistant_id=assistant, end_user_id="ana")
        meanwhile = await here.ask(VACATIONS, assistant_id=assistant, end_user_id="ana")

        assert meanwhile.conversation_id == handed.conversation_id
        assert meanwhile.found
        assert meanwhile.answer is not None
        assert "veintitrés días" in meanwhile.answer
        assert meanwhile.conversation_status == "waiting_human"
        assert meanwhile.handoff_reason is None  # flagged once, by the first question
