"""Builds the gateway: the public API, the broker it publishes on, and the answer waiter."""

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response

from common.auth import TokenVerifier
from common.blobs import LocalBlobStore
from common.bus import create_broker, running_bus
from common.events import DocumentStatusChanged, DocumentUploaded, QuestionAnswered, QuestionAsked
from common.health import health_router
from common.problems import Problem, install_problem_handlers, problem_response
from gateway.auth import api as auth_api
from gateway.dependencies import Gateway
from gateway.documents import api as documents_api
from gateway.documents.status import StatusHub
from gateway.questions import api as questions_api
from gateway.questions.waiter import AnswerWaiter
from gateway.settings import GatewaySettings
from gateway.upstream import Upstream

# Multipart framing around the file; a body past limit + this is refused before it is read.
MULTIPART_OVERHEAD = 64 * 1024


def _is_upload(path: str) -> bool:
    """A new document, or a new version of one (`/v1/documents/{id}/versions`)."""
    parts = path.strip("/").split("/")
    return parts == ["v1", "documents"] or (
        len(parts) == 4 and parts[:2] == ["v1", "documents"] and parts[3] == "versions"
    )


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    settings = settings or GatewaySettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        broker = create_broker(settings)
        answers = AnswerWaiter()
        answers.register(broker)
        statuses = StatusHub()
        statuses.register(broker)
        timeout = settings.upstream_timeout_seconds
        gateway = Gateway(
            settings=settings,
            broker=broker,
            verifier=TokenVerifier(
                issuer=settings.token_issuer,
                audience=settings.token_audience,
                jwks_url=settings.jwks_url,
            ),
            blobs=LocalBlobStore(settings.blob_root),
            answers=answers,
            statuses=statuses,
            tenants=Upstream("tenants", settings.tenants_url, timeout),
            ingest=Upstream("ingest", settings.ingest_url, timeout),
            query=Upstream("query", settings.query_url, timeout),
        )
        app.state.gateway = gateway
        topics = [
            DocumentUploaded.topic,
            DocumentStatusChanged.topic,
            QuestionAsked.topic,
            QuestionAnswered.topic,
        ]
        try:
            async with running_bus(settings, broker, topics=topics):
                yield
        finally:
            for upstream in (gateway.tenants, gateway.ingest, gateway.query):
                await upstream.close()

    app = FastAPI(
        title="Knowledge platform API",
        version="1.0.0",
        description=(
            "Upload your company's documents; ask questions answered from them, with citations."
        ),
        lifespan=lifespan,
    )
    install_problem_handlers(app)

    @app.middleware("http")
    async def refuse_oversized_uploads(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        length = request.headers.get("content-length", "")
        if (
            request.method == "POST"
            and _is_upload(request.url.path)
            and length.isdigit()
            and int(length) > settings.max_upload_bytes + MULTIPART_OVERHEAD
        ):
            return problem_response(
                Problem(
                    413,
                    "file-too-large",
                    f"The file is larger than {settings.max_upload_bytes} bytes.",
                ),
                request.url.path,
            )
        return await call_next(request)

    async def broker_ok() -> bool:
        return bool(await app.state.gateway.broker.ping(timeout=2.0))

    app.include_router(health_router({"broker": broker_ok}))
    app.include_router(auth_api.router)
    app.include_router(documents_api.router)
    app.include_router(questions_api.router)
    return app
