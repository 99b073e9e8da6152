import functools
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
from sqlalchemy import select

from common.auth import Identity, Role
from common.bus import create_broker
from common.contracts.assistants import AssistantIn
from common.db import Database
from common.embedding import Embedder
from common.events import (
    DocumentChunksEmbedded,
    DocumentChunksEmbeddedV1,
    EmbeddedChunk,
    PlanLimitsV1,
    QuestionAnswered,
    QuestionAnsweredV1,
    QuestionAsked,
    QuestionAskedV1,
    decode_event,
)
from common.plan_limits import store_limits
from common.service_app import Runtime
from devstack.openai_server import FakeOpenAI
from devstack.signer import TEST_SIGNER
from query.answers.service import Answerer
from query.assistants import service as assistants
from query.db import company_limits, outbox
from query.index import service as index_service
from query.index.store import VectorStore
from query.main import create_app
from query.settings import QuerySettings

SETTINGS = QuerySettings()


@pytest.fixture(scope="session")
async def query_database(migrated_database: dict[str, dict[str, str]]) -> AsyncIterator[Database]:
    database = Database(migrated_database["query"]["DATABASE_URL"])
    yield database
    await database.dispose()


@pytest.fixture
async def store(tmp_path: Path, embedder: Embedder) -> AsyncIterator[VectorStore]:
    """Qdrant's local mode on a fresh path: the same client API as the server."""
    settings = QuerySettings(qdrant_path=tmp_path / "qdrant")
    vector_store = VectorStore.from_settings(settings, embedder.dimension)
    yield vector_store
    await vector_store.close()


def chunk_batches(
    embedder: Embedder,
    company_id: UUID,
    texts: list[str],
    *,
    per_batch: int = 2,
    document_id: UUID | None = None,
    title: str = "Manual",
    version: int = 1,
) -> list[DocumentChunksEmbedded]:
    """A document's chunks, embedded with the real model and batched as ingest batches them."""
    document_id = document_id or uuid.uuid4()
    vectors = embedder.embed(texts)
    chunks = [
        EmbeddedChunk(index=i, text=t, char_start=0, char_end=len(t), vector=vectors[i].tolist())
        for i, t in enumerate(texts)
    ]
    groups = [chunks[i : i + per_batch] for i in range(0, len(chunks), per_batch)]
    return [
        DocumentChunksEmbedded.new(
            company_id,
            DocumentChunksEmbeddedV1(
                document_id=document_id,
                title=title,
                embedding_model=embedder.model_name,
                batch_index=n,
                batch_count=len(groups),
                chunk_count=len(chunks),
                document_version=version,
                chunks=group,
            ),
        )
        for n, group in enumerate(groups)
    ]


MakeBatches = Callable[..., list[DocumentChunksEmbedded]]


@pytest.fixture
def make_batches(embedder: Embedder) -> MakeBatches:
    """Builds chunk batches with the session's real model."""
    return functools.partial(chunk_batches, embedder)


IndexBatches = Callable[[list[DocumentChunksEmbedded]], Awaitable[UUID]]


@pytest.fixture
def index_batches(query_database: Database, store: VectorStore) -> IndexBatches:
    """Indexes a document's batches as ingest sends them, one after another; its id."""

    async def index_batches(batches: list[DocumentChunksEmbedded]) -> UUID:
        for batch in batches:
            await index_service.index_batch(query_database, store, batch)
        return batches[0].payload.document_id

    return index_batches


@pytest.fixture
def index_document(
    index_batches: IndexBatches, make_batches: MakeBatches
) -> Callable[..., Awaitable[UUID]]:
    """Indexes a document of the company (`options` as `make_batches` takes them); its id."""

    async def index_document(company_id: UUID, texts: list[str], **options: Any) -> UUID:
        return await index_batches(make_batches(company_id, texts, **options))

    return index_document


def question_asked(company_id: UUID, question: str, **fields: Any) -> QuestionAsked:
    """The question as the gateway publishes it; asked by someone new unless `asked_by` says."""
    fields.setdefault("asked_by", uuid.uuid4())
    return QuestionAsked.new(
        company_id, QuestionAskedV1(question_id=uuid.uuid4(), question=question, **fields)
    )


async def answers_to(database: Database, asked: QuestionAsked) -> list[QuestionAnsweredV1]:
    """What the answering consumer left in the outbox in answer to `asked`."""
    async with database.transaction(asked.company_id) as session:
        bodies = (await session.scalars(select(outbox.c.body))).all()
    return [
        event.payload
        for event in map(decode_event, bodies)
        if isinstance(event, QuestionAnswered)
        and event.payload.question_id == asked.payload.question_id
    ]


async def answer(
    answerer: Answerer, company_id: UUID, question: str, **fields: Any
) -> QuestionAnsweredV1:
    """A real turn: the question handled as the answering consumer handles it; what it published."""
    asked = question_asked(company_id, question, **fields)
    await answerer.handle(asked)
    [answered] = await answers_to(answerer.database, asked)
    return answered


@pytest.fixture
def ask() -> Callable[..., Awaitable[QuestionAnsweredV1]]:
    """`ask(answerer, company_id, question, **QuestionAskedV1 fields)`: a real turn's answer."""
    return answer


# For a question handled step by step (re-delivered, or refused): the event, then the answers.
@pytest.fixture
def new_question() -> Callable[..., QuestionAsked]:
    return question_asked


@pytest.fixture
def published_answers() -> Callable[[Database, QuestionAsked], Awaitable[list[QuestionAnsweredV1]]]:
    return answers_to


@pytest.fixture
def add_assistant(query_database: Database) -> Callable[..., Awaitable[UUID]]:
    """An assistant stored by query's service as an owner of the company, for tests that take no
    internal route; its id."""

    async def add_assistant(company_id: UUID, **fields: Any) -> UUID:
        owner = Identity(user_id=uuid.uuid4(), company_id=company_id, role=Role.OWNER, token="")
        request = AssistantIn(name=f"Asistente {uuid.uuid4().hex[:6]}", **fields)
        async with query_database.transaction(company_id) as session:
            assistant, _ = await assistants.create(session, owner, request)
        return assistant.id

    return add_assistant


@pytest.fixture
def openai_server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


@pytest.fixture
def openai_settings(openai_server: FakeOpenAI) -> Callable[..., QuerySettings]:
    """Settings whose answers the fake OpenAI-compatible server writes; `changes` on top."""

    def openai_settings(**changes: Any) -> QuerySettings:
        provider: dict[str, Any] = {
            "answer_provider": "openai",
            "openai_base_url": openai_server.base_url,
            "openai_api_key": "sk-test-query",
            "openai_model": "gpt-local",
        }
        return QuerySettings(**(provider | changes))

    return openai_settings


@pytest.fixture
async def client(query_database: Database) -> AsyncIterator[httpx.AsyncClient]:
    """Query's internal routes, called the way the gateway calls them."""
    app = create_app(SETTINGS)
    # The lifespan (broker, model, Qdrant) is not run: these routes need only the database.
    app.state.runtime = Runtime(
        settings=SETTINGS,
        database=query_database,
        broker=create_broker(SETTINGS),
        verifier=TEST_SIGNER.verifier(SETTINGS),
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://query") as client:
        yield client


class Company:
    """A company with tokens signed for its people and its API keys and, once it has an
    answerer, its end users' questions taken the answering consumer's way."""

    def __init__(self, answerer: Answerer | None = None) -> None:
        self.id = uuid.uuid4()
        self.owner = uuid.uuid4()
        self.answerer = answerer

    def as_(
        self, role: str = "owner", user_id: UUID | None = None, scopes: list[str] | None = None
    ) -> dict[str, str]:
        return TEST_SIGNER.headers(
            SETTINGS, company_id=self.id, user_id=user_id or self.owner, role=role, scopes=scopes
        )

    def as_api_key(self, *scopes: str, key_id: UUID | None = None) -> dict[str, str]:
        """A key's token: its scopes rule, and tenants gives it the lowest role."""
        return self.as_("operador", key_id or uuid.uuid4(), scopes=list(scopes))

    async def ask(self, question: str, **fields: Any) -> QuestionAnsweredV1:
        """The question, sent by the owner, through the answering consumer's path."""
        assert self.answerer is not None, "a company that asks needs an answerer"
        return await answer(self.answerer, self.id, question, asked_by=self.owner, **fields)


@pytest.fixture
def new_company(query_database: Database) -> Callable[..., Awaitable[Company]]:
    """A company whose plan limits query has heard of (as tenants announces them)."""

    async def new_company(
        assistant_limit: int | None = None, answerer: Answerer | None = None
    ) -> Company:
        company = Company(answerer)
        limits = PlanLimitsV1(
            monthly_message_limit=None,
            user_limit=None,
            assistant_limit=assistant_limit,
            document_character_limit=None,
            storage_mb_limit=None,
        )
        async with query_database.transaction(company.id) as session:
            await store_limits(session, company_limits, company.id, limits, datetime.now(UTC))
        return company

    return new_company


@pytest.fixture
def create_assistant(client: httpx.AsyncClient) -> Callable[..., Awaitable[dict[str, Any]]]:
    """An assistant created through the internal route by the company's owner, as returned."""

    async def create_assistant(company: Company, **fields: Any) -> dict[str, Any]:
        body = {"name": f"Asistente {uuid.uuid4().hex[:6]}"} | fields
        response = await client.post("/internal/assistants", json=body, headers=company.as_())
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    return create_assistant
