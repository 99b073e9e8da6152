"""Builds the query process: indexing and answering consumers, and its health route."""

import functools

from fastapi import FastAPI

from common import plan_limits
from common.bus import publish_event
from common.embedding import Embedder
from common.events import (
    CompanyCreated,
    CompanyPlanChanged,
    CompanySuspended,
    DocumentChunksEmbedded,
    DocumentDeleted,
    DocumentIndexed,
    DocumentMetadataChanged,
    DocumentPurged,
    QuestionAnswerDelta,
    QuestionAnswered,
    QuestionAsked,
)
from common.service_app import Runtime, create_service_app
from query.analytics import api as analytics_api
from query.answers import consumers as answer_consumers
from query.answers.service import Answerer
from query.assistants import api as assistants_api
from query.conversations import api as conversations_api
from query.db import company_limits, inbox, outbox
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
        answerer = Answerer(
            runtime.database,
            store,
            embedder,
            settings,
            publish_delta=functools.partial(publish_event, runtime.broker),
        )
        answer_consumers.register(runtime.broker, answerer)
        answerer.suspensions.register(runtime.broker)
        plan_limits.register(
            runtime.broker,
            runtime.database,
            table=company_limits,
            inbox=inbox,
            service="query",
        )

    async def teardown(runtime: Runtime) -> None:
        store = runtime.extras.get("store")
        if isinstance(store, VectorStore):
            await store.close()

    return create_service_app(
        settings,
        title="query (internal)",
        routers=[assistants_api.router, analytics_api.router, conversations_api.router],
        topics=[
            CompanyCreated.topic,
            CompanyPlanChanged.topic,
            CompanySuspended.topic,
            DocumentChunksEmbedded.topic,
            DocumentIndexed.topic,
            DocumentMetadataChanged.topic,
            DocumentDeleted.topic,
            DocumentPurged.topic,
            QuestionAsked.topic,
            QuestionAnswered.topic,
            QuestionAnswerDelta.topic,
        ],
        outbox=outbox,
        setup=setup,
        teardown=teardown,
    )
