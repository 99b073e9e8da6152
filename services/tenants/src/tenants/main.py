"""Builds the tenants service's FastAPI app; the routes live in the domains' api.py."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from common.bus import create_broker, running_bus
from common.events import (
    CompanyCreated,
    CompanyPlanChanged,
    CompanySuspended,
    DocumentStorageReleased,
    UserJoined,
)
from common.health import health_router
from common.problems import install_problem_handlers
from tenants.accounts.api import router as accounts_router
from tenants.api_keys.api import router as api_keys_router
from tenants.companies import consumers as companies_consumers
from tenants.companies.api import router as companies_router
from tenants.db import outbox
from tenants.operators.api import router as operators_router
from tenants.settings import TenantsSettings
from tenants.state import attach_state, build_state, database_answers
from tenants.tokens.api import router as tokens_router
from tenants.users.api import router as users_router


def create_app(settings: TenantsSettings | None = None) -> FastAPI:
    settings = settings or TenantsSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = build_state(settings)
        attach_state(app, state)
        broker = create_broker(settings)
        companies_consumers.register(broker, state.database)
        try:
            async with running_bus(
                settings,
                broker,
                topics=sorted(
                    {
                        event.topic
                        for event in (
                            CompanyCreated,
                            CompanyPlanChanged,
                            CompanySuspended,
                            DocumentStorageReleased,
                            UserJoined,
                        )
                    }
                ),
                outbox=(state.database, outbox),
            ):
                yield
        finally:
            await state.close()

    app = FastAPI(title="tenants", summary="Internal API of the tenants service", lifespan=lifespan)
    install_problem_handlers(app)
    app.include_router(accounts_router)
    app.include_router(api_keys_router)
    app.include_router(companies_router)
    app.include_router(tokens_router)
    app.include_router(users_router)
    app.include_router(operators_router)

    async def database() -> bool:
        return await database_answers(app)

    app.include_router(health_router({"database": database}))
    return app
