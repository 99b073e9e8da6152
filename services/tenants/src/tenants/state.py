"""What the routes share for the life of the process, built once and kept on `app.state`.

The lifespan builds it; tests build it with the same function and attach it themselves.
"""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from sqlalchemy import text

from common.auth import TokenVerifier
from common.db import Database
from tenants.settings import TenantsSettings
from tenants.tokens.service import TokenIssuer


@dataclass(frozen=True)
class TenantsState:
    settings: TenantsSettings
    database: Database
    tokens: TokenIssuer
    # Verify the tokens this service issued, with its own keys: no JWKS round trip.
    verifier: TokenVerifier
    operator_verifier: TokenVerifier

    async def close(self) -> None:
        await self.database.dispose()


def build_state(settings: TenantsSettings) -> TenantsState:
    # The key first: a service that cannot sign tokens should not start at all.
    tokens = TokenIssuer.from_settings(settings)
    database = Database(settings.database_url, pool_size=settings.database_pool_size)
    jwks = tokens.jwks().model_dump()
    return TenantsState(
        settings=settings,
        database=database,
        tokens=tokens,
        verifier=TokenVerifier(
            issuer=settings.token_issuer, audience=settings.token_audience, jwks=jwks
        ),
        operator_verifier=TokenVerifier(
            issuer=settings.token_issuer, audience=settings.operator_token_audience, jwks=jwks
        ),
    )


def attach_state(app: FastAPI, state: TenantsState) -> None:
    app.state.tenants = state


def app_state(app: FastAPI) -> TenantsState:
    state = getattr(app.state, "tenants", None)
    if not isinstance(state, TenantsState):
        raise RuntimeError("the tenants state is not attached to the app (lifespan not run?)")
    return state


async def database_answers(app: FastAPI) -> bool:
    async with app_state(app).database.engine.connect() as connection:
        return bool(await connection.scalar(text("SELECT 1")) == 1)


def _database(request: Request) -> Database:
    return app_state(request.app).database


def _token_issuer(request: Request) -> TokenIssuer:
    return app_state(request.app).tokens


def _settings(request: Request) -> TenantsSettings:
    return app_state(request.app).settings


DatabaseDep = Annotated[Database, Depends(_database)]
TokenIssuerDep = Annotated[TokenIssuer, Depends(_token_issuer)]
SettingsDep = Annotated[TenantsSettings, Depends(_settings)]
