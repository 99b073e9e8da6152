"""Usage analytics through query's internal route, counted from turns the real Answerer took
(real model, real index, the database as the app role): each assistant's figures, the range,
who may read them, and other companies."""

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from statistics import mean
from typing import Any
from uuid import UUID

import httpx
import pytest
from sqlalchemy import select

from common.db import Database
from common.embedding import Embedder
from devstack.client import assert_problem
from devstack.openai_server import FakeOpenAI
from query.analytics.service import day_range
from query.answers.service import PROVIDER_FAILED, Answerer
from query.conversations.models import Conversation, Message
from query.index.store import VectorStore
from query.settings import QuerySettings

# A test module cannot import the conftest's Company, which new_company gives.
NewCompany = Callable[..., Awaitable[Any]]
CreateAssistant = Callable[..., Awaitable[dict[str, Any]]]
IndexDocument = Callable[..., Awaitable[UUID]]

MANUAL = [
    "Los empleados de Acme tienen veintitrés días laborables de vacaciones pagadas al año.",
    "Se puede teletrabajar dos días por semana, previo acuerdo con el responsable.",
    "Las facturas de viaje se entregan antes del día cinco de cada mes.",
]
ANSWERED = "¿Cuántos días de vacaciones tienen los empleados de Acme?"
ANSWERED_TOO = "¿Cuántos días por semana se puede teletrabajar?"
# Nothing in the manual is about this: the bot falls back and hands over (no_answer). (A
# Spanish question shares enough words with a three-sentence Spanish manual to be "answered".)
UNANSWERED = "What is the boiling point of mercury in kelvin?"
KEYWORD = "Prefiero hablar con un humano"


async def usage(
    client: httpx.AsyncClient, company: Any, role: str = "owner", **params: Any
) -> httpx.Response:
    return await client.get(
        "/internal/analytics/usage",
        params={name: str(value) for name, value in params.items()},
        headers=company.as_(role),
    )


@dataclass(frozen=True)
class Totals:
    conversations: int
    messages: int
    handoffs: int
    unanswered_questions: int


def totals_by_assistant(days: list[dict[str, Any]]) -> dict[str | None, Totals]:
    """The counts per assistant over every day listed (a test run may straddle midnight)."""
    summed: dict[str | None, Totals] = {}
    for day in days:
        before = summed.get(day["assistant_id"], Totals(0, 0, 0, 0))
        summed[day["assistant_id"]] = Totals(
            before.conversations + day["conversations"],
            before.messages + day["messages"],
            before.handoffs + day["handoffs"],
            before.unanswered_questions + day["unanswered_questions"],
        )
    return summed


async def bot_latencies(database: Database, company: Any, assistant_id: UUID | None) -> list[int]:
    async with database.transaction(company.id) as session:
        rows = await session.scalars(
            select(Message.latency_ms)
            .join(Conversation, Conversation.id == Message.conversation_id)
            .where(
                Message.sender_type == "bot",
                Conversation.assistant_id.is_(None)
                if assistant_id is None
                else Conversation.assistant_id == assistant_id,
            )
        )
        return [latency for latency in rows if latency is not None]


def utc_today() -> date:
    return datetime.now(UTC).date()


async def test_counts_each_assistants_day_from_real_turns(
    client: httpx.AsyncClient,
    new_company: NewCompany,
    create_assistant: CreateAssistant,
    index_document: IndexDocument,
    query_database: Database,
    store: VectorStore,
    embedder: Embedder,
) -> None:
    answerer = Answerer(query_database, store, embedder, QuerySettings())
    company, other = await new_company(answerer=answerer), await new_company(answerer=answerer)
    for each in (company, other):
        await index_document(each.id, MANUAL, title="Manual del empleado")
    # No hand-off for a weak answer, so only the outcomes below decide the figures.
    sales = (
        await create_assistant(
            company, handoff={"keywords": ["humano"], "on_low_confidence": False}
        )
    )["id"]
    support = (await create_assistant(company, handoff={"on_low_confidence": False}))["id"]
    theirs = (await create_assistant(other))["id"]
    started = utc_today()

    # Asked by the owner, who is the end user where none is named.
    outcomes = [
        # sales: one conversation, answered, then unanswered, then a keyword hand-off.
        await company.ask(ANSWERED, assistant_id=sales),
        await company.ask(UNANSWERED, assistant_id=sales),
        await company.ask(KEYWORD, assistant_id=sales),
        # support: two end users, one answered, one not.
        await company.ask(ANSWERED_TOO, assistant_id=support, end_user_id="cliente-2"),
        await company.ask(UNANSWERED, assistant_id=support, end_user_id="cliente-3"),
        # no assistant: one conversation, answered then unanswered.
        await company.ask(ANSWERED, end_user_id="cliente-4"),
        await company.ask(UNANSWERED, end_user_id="cliente-4"),
    ]
    # Another company's turns, which must never show in this company's figures.
    await other.ask(ANSWERED, assistant_id=theirs)
    await other.ask(UNANSWERED)
    await other.ask(UNANSWERED, end_user_id="cliente-9")

    assert [(o.found, o.handoff_reason, o.error) for o in outcomes] == [
        (True, None, None),
        (False, "no_answer", None),
        (False, None, None),  # already waiting for a person: the reply still says keyword
        (True, None, None),
        (False, "no_answer", None),
        (True, None, None),
        (False, "no_answer", None),
    ]
    response = await usage(client, company, start=started - timedelta(days=1))
    finished = utc_today()

    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["start"], report["end"]) == (
        (started - timedelta(days=1)).isoformat(),
        finished.isoformat(),
    )
    assert {day["day"] for day in report["days"]} <= {started.isoformat(), finished.isoformat()}
    assert totals_by_assistant(report["days"]) == {
        str(sales): Totals(conversations=1, messages=6, handoffs=2, unanswered_questions=1),
        str(support): Totals(conversations=2, messages=4, handoffs=1, unanswered_questions=1),
        None: Totals(conversations=1, messages=4, handoffs=1, unanswered_questions=1),
    }
    if started == finished:  # all on one UTC day: one entry each, in the documented order
        by_assistant = sorted([str(sales), str(support)])
        assert [day["assistant_id"] for day in report["days"]] == [*by_assistant, None]
        for day in report["days"]:
            assistant = UUID(day["assistant_id"]) if day["assistant_id"] else None
            latencies = await bot_latencies(query_database, company, assistant)
            assert day["average_latency_ms"] == pytest.approx(mean(latencies), abs=0.05)

    only_sales = await usage(client, company, assistant_id=sales)
    assert only_sales.status_code == 200, only_sales.text
    assert totals_by_assistant(only_sales.json()["days"]) == {
        str(sales): Totals(conversations=1, messages=6, handoffs=2, unanswered_questions=1)
    }
    # A retired assistant keeps its history, and its figures.
    retired = await client.delete(f"/internal/assistants/{sales}", headers=company.as_())
    assert retired.status_code == 204
    still = await usage(client, company, role="supervisor", assistant_id=sales)
    assert still.json()["days"] == only_sales.json()["days"]


async def test_a_provider_failure_is_not_an_unanswered_question(
    client: httpx.AsyncClient,
    new_company: NewCompany,
    index_document: IndexDocument,
    query_database: Database,
    store: VectorStore,
    embedder: Embedder,
    openai_server: FakeOpenAI,
    openai_settings: Callable[..., QuerySettings],
) -> None:
    answerer = Answerer(query_database, store, embedder, openai_settings())
    company = await new_company(answerer=answerer)
    await index_document(company.id, MANUAL, title="Manual del empleado")
    openai_server.status = 500

    failed = await company.ask(ANSWERED)
    response = await usage(client, company)

    assert (failed.found, failed.error) == (False, PROVIDER_FAILED)
    assert response.status_code == 200, response.text
    [day] = response.json()["days"]
    assert (day["messages"], day["handoffs"], day["unanswered_questions"]) == (2, 0, 0)
    assert day["average_latency_ms"] is not None


async def test_a_company_without_activity_has_no_days(
    client: httpx.AsyncClient, new_company: NewCompany
) -> None:
    company = await new_company()

    response = await usage(client, company, role="supervisor")

    assert response.status_code == 200, response.text
    report = response.json()
    assert report["days"] == []
    start, end = date.fromisoformat(report["start"]), date.fromisoformat(report["end"])
    assert (end - start).days == 29  # by default the last 30 days, ending today
    assert end in {utc_today(), utc_today() - timedelta(days=1)}


def test_the_default_range_is_the_thirty_days_ending_today() -> None:
    today = date(2024, 3, 1)

    assert day_range(None, None, today=today).start == date(2024, 2, 1)  # a leap year
    assert day_range(None, date(2024, 1, 30), today=today).start == date(2024, 1, 1)
    assert day_range(date(2024, 2, 20), None, today=today).end == today
    since, until = day_range(today, today).bounds()
    assert (since.isoformat(), until.isoformat()) == (
        "2024-03-01T00:00:00+00:00",
        "2024-03-02T00:00:00+00:00",
    )


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"start": "2024-03-02", "end": "2024-03-01"}, "invalid-range"),
        ({"start": "2023-01-01", "end": "2024-01-02"}, "invalid-range"),  # 367 days
        ({"start": "2099-01-01"}, "invalid-range"),  # after today, the default end
        ({"start": "2024-02-30"}, "validation-error"),
        ({"end": "yesterday"}, "validation-error"),
        ({"assistant_id": "not-a-uuid"}, "validation-error"),
    ],
)
async def test_a_range_that_does_not_add_up_is_422(
    client: httpx.AsyncClient,
    new_company: NewCompany,
    params: dict[str, str],
    code: str,
) -> None:
    company = await new_company()

    assert_problem(await usage(client, company, **params), 422, code)


async def test_a_year_of_366_days_is_allowed(
    client: httpx.AsyncClient, new_company: NewCompany
) -> None:
    company = await new_company()

    response = await usage(client, company, start="2024-01-01", end="2024-12-31")

    assert response.status_code == 200, response.text
    assert response.json() == {"start": "2024-01-01", "end": "2024-12-31", "days": []}


@pytest.mark.parametrize(
    ("role", "scopes"),
    [
        ("operador", None),
        ("owner", ["documents:read", "questions:ask", "conversations:read", "messages:react"]),
    ],
)
async def test_operadores_and_api_keys_may_not_read_analytics(
    client: httpx.AsyncClient,
    new_company: NewCompany,
    role: str,
    scopes: list[str] | None,
) -> None:
    company = await new_company()

    response = await client.get(
        "/internal/analytics/usage", headers=company.as_(role, scopes=scopes)
    )

    problem = assert_problem(response, 403, "forbidden")
    assert problem["permission"] == "analytics:read"


async def test_another_companys_or_an_unknown_assistant_is_404(
    client: httpx.AsyncClient, new_company: NewCompany, create_assistant: CreateAssistant
) -> None:
    company, other = await new_company(), await new_company()
    theirs = (await create_assistant(other))["id"]

    for assistant_id in (theirs, uuid.uuid4()):
        response = await usage(client, company, assistant_id=assistant_id)
        assert_problem(response, 404, "assistant-not-found")
