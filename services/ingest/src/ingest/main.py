"""Builds the ingest process: its consumers and its internal API."""

import anyio
from fastapi import FastAPI

from common import plan_limits
from common.blobs import LocalBlobStore
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
    DocumentStatusChanged,
    DocumentStorageReleased,
    DocumentUploaded,
)
from common.service_app import Runtime, create_service_app
from ingest.db import company_limits, inbox, outbox
from ingest.documents import api, consumers
from ingest.documents.service import Pipeline
from ingest.extraction import isolated
from ingest.settings import IngestSettings


def create_app(settings: IngestSettings | None = None) -> FastAPI:
    settings = settings or IngestSettings()

    async def setup(runtime: Runtime) -> None:
        pipeline = Pipeline(
            database=runtime.database,
            blobs=LocalBlobStore(settings.blob_root),
            embedder=Embedder(settings.embedding_model, workers=settings.embedding_workers),
            settings=settings,
        )
        consumers.register(runtime.broker, pipeline)
        pipeline.suspensions.register(runtime.broker)
        plan_limits.register(
            runtime.broker,
            runtime.database,
            table=company_limits,
            inbox=inbox,
            service=settings.service_name,
        )
        await anyio.to_thread.run_sync(isolated.start_server)

    return create_service_app(
        settings,
        title="ingest (internal)",
        routers=[api.router, api.usage_router],
        topics=[
            CompanyCreated.topic,
            CompanyPlanChanged.topic,
            CompanySuspended.topic,
            DocumentUploaded.topic,
            DocumentChunksEmbedded.topic,
            DocumentIndexed.topic,
            DocumentStatusChanged.topic,
            DocumentMetadataChanged.topic,
            DocumentDeleted.topic,
            DocumentPurged.topic,
            DocumentStorageReleased.topic,
        ],
        outbox=outbox,
        setup=setup,
    )
