"""Builds the query process: indexing and answering consumers, and its health route."""

from fastapi import FastAPI

from common.embedding import Embedder
from common.events import (
    CompanyCreated,
    CompanySuspended,
    DocumentChunksEmbedded,
    DocumentDeleted,
    DocumentIndexed,
    DocumentMetadataChanged,
    DocumentPurged,
    QuestionAnswered,
    QuestionAsked,
)
from common.service_app import Runtime, create_service_app
from query.answers import consumers as answer_consumers
from query.answers.service import Answerer
from query.db import outbox
from query.index import consumers as index_consumers
from query.index.store import VectorStore
from query.settings import QuerySettings


def create_app(settings: QuerySettings | None = None) -> FastAPI:
    settings = settings or QuerySettings()

    async def setup(runtime: Runtime) -> None:
        embedder = Embedder(settings.embedding_model)
        store = VectorStore.from_settings(settings, embedder.dimension)
        runtime.extras["store"] = store
        index_consumers.register(runtime.broker, runtime.database, store)
        answerer = Answerer(runtime.database, store, embedder, settings)
        answer_consumers.register(runtime.broker, answerer)
        answerer.suspensions.register(runtime.broker)

    async def teardown(runtime: Runtime) -> None:
        store = runtime.extras.get("store")
        if isinstance(store, VectorStore):
            await store.close()

    return create_service_app(
        settings,
        title="query (internal)",
        routers=[],
        topics=[
            CompanyCreated.topic,
            CompanySuspended.topic,
            DocumentChunksEmbedded.topic,
            DocumentIndexed.topic,
            DocumentMetadataChanged.topic,
            DocumentDeleted.topic,
            DocumentPurged.topic,
            QuestionAsked.topic,
            QuestionAnswered.topic,
        ],
        outbox=outbox,
        setup=setup,
        teardown=teardown,
    )
