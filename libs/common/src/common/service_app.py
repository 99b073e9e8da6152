"""The FastAPI app every service process runs: database, broker, topics, outbox relay, token
verification, health and problem+json, started and stopped in one lifespan."""

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from faststream.kafka import KafkaBroker
from sqlalchemy import Table, text

from common.auth import Identity, TokenVerifier, bearer_identity
from common.bus import create_broker, running_bus
from common.db import Database
from common.health import health_router
from common.problems import install_problem_handlers
from common.settings import ServiceSettings


@dataclass
class Runtime:
    """What a running service holds; on `app.state.runtime`."""

    settings: ServiceSettings
    database: Database
    broker: KafkaBroker
    verifier: TokenVerifier
    extras: dict[str, Any] = field(default_factory=dict)


Setup = Callable[[Runtime], Awaitable[None]]


def create_service_app(
    settings: ServiceSettings,
    *,
    title: str,
    routers: Sequence[APIRouter],
    topics: Iterable[str],
    outbox: Table | None = None,
    setup: Setup | None = None,
    teardown: Setup | None = None,
) -> FastAPI:
    """`setup` runs before the broker starts: it registers subscribers and fills `extras`."""
    topics = list(topics)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = Runtime(
            settings=settings,
            database=Database(settings.database_url, pool_size=settings.database_pool_size),
            broker=create_broker(settings),
            verifier=TokenVerifier(
                issuer=settings.token_issuer,
                audience=settings.token_audience,
                jwks_url=settings.jwks_url,
            ),
        )
        app.state.runtime = runtime
        try:
            if setup:
                await setup(runtime)
            async with running_bus(
                settings,
                runtime.broker,
                topics=topics,
                outbox=(runtime.database, outbox) if outbox is not None else None,
            ):
                yield
        finally:
            if teardown:
                await teardown(runtime)
            await runtime.database.dispose()

    app = FastAPI(title=title, lifespan=lifespan)
    install_problem_handlers(app)

    async def database_ok() -> bool:
        async with app.state.runtime.database.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        return True

    async def broker_ok() -> bool:
        return bool(await app.state.runtime.broker.ping(timeout=2.0))

    app.include_router(health_router({"database": database_ok, "broker": broker_ok}))
    for router in routers:
        app.include_router(router)
    return app


def runtime(request: Request) -> Runtime:
    value: Runtime = request.app.state.runtime
    return value


def _verifier(request: Request) -> TokenVerifier:
    return runtime(request).verifier


CurrentRuntime = Annotated[Runtime, Depends(runtime)]
CurrentIdentity = Annotated[Identity, Depends(bearer_identity(_verifier))]
