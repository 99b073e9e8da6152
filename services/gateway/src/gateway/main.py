"""Builds the gateway: the public API, the broker it publishes on, and the answer waiter."""

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response

from common.auth import TokenVerifier
from common.blobs import LocalBlobStore
from common.bus import create_broker, running_bus
from common.events import (
    CompanySuspended,
    DocumentStatusChanged,
    DocumentUploaded,
    QuestionAnswerDelta,
    QuestionAnswered,
    QuestionAsked,
)
from common.health import health_router
from common.problems import Problem, install_problem_handlers, problem_response
from common.suspensions import Suspensions
from gateway.admin import api as admin_api
from gateway.analytics import api as analytics_api
from gateway.api_keys import api as api_keys_api
from gateway.assistants import api as assistants_api
from gateway.auth import api as auth_api
from gateway.auth.api_keys import ApiKeys
from gateway.company import api as company_api
from gateway.conversations import api as conversations_api
from gateway.dependencies import Gateway
from gateway.documents import api as documents_api
from gateway.documents.status import StatusHub
from gateway.questions import api as questions_api
from gateway.questions.waiter import AnswerWaiter
from gateway.settings import GatewaySettings
from gateway.upstream import Upstream
from gateway.users import api as users_api

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
        suspensions = Suspensions()
        suspensions.register(broker)
        timeout = settings.upstream_timeout_seconds
        tenants = Upstream("tenants", settings.tenants_url, timeout)
        verifier = TokenVerifier(
            issuer=settings.token_issuer,
            audience=settings.token_audience,
            jwks_url=settings.jwks_url,
        )
        gateway = Gateway(
            settings=settings,
            broker=broker,
            verifier=verifier,
            blobs=LocalBlobStore(settings.blob_root),
            answers=answers,
            statuses=statuses,
            tenants=tenants,
            ingest=Upstream("ingest", settings.ingest_url, timeout),
            query=Upstream("query", settings.query_url, timeout),
            operator_verifier=TokenVerifier(
                issuer=settings.token_issuer,
                audience=settings.operator_token_audience,
                jwks_url=settings.jwks_url,
            ),
            suspensions=suspensions,
            api_keys=ApiKeys(tenants, verifier),
        )
        app.state.gateway = gateway
        topics = [
            DocumentUploaded.topic,
            DocumentStatusChanged.topic,
            QuestionAsked.topic,
            QuestionAnswered.topic,
            QuestionAnswerDelta.topic,
            CompanySuspended.topic,
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
    app.include_router(company_api.router)
    app.include_router(documents_api.router)
    app.include_router(questions_api.router)
    app.include_router(users_api.router)
    app.include_router(admin_api.router)
    app.include_router(assistants_api.router)
    app.include_router(conversations_api.router)
    app.include_router(api_keys_api.router)
    app.include_router(analytics_api.router)
    return app
