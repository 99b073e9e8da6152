"""What the gateway's routes take from the running app."""

from dataclasses import dataclass
from typing import Annotated
from uuid import uuid4

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from faststream.kafka import KafkaBroker

from common.auth import Identity, TokenVerifier, bearer_identity
from common.blobs import LocalBlobStore
from gateway.documents.status import StatusHub
from gateway.questions.waiter import AnswerWaiter
from gateway.settings import GatewaySettings
from gateway.upstream import Upstream


@dataclass
class Gateway:
    settings: GatewaySettings
    broker: KafkaBroker
    verifier: TokenVerifier
    blobs: LocalBlobStore
    answers: AnswerWaiter
    statuses: StatusHub
    tenants: Upstream
    ingest: Upstream
    query: Upstream


def gateway(request: Request) -> Gateway:
    value: Gateway = request.app.state.gateway
    return value


def request_origin(request: Request) -> dict[str, str]:
    """Where the request came from, forwarded to the services for their audit logs."""
    origin = {"x-request-id": request.headers.get("x-request-id") or uuid4().hex}
    if request.client:
        origin["x-client-ip"] = request.client.host
    if user_agent := request.headers.get("user-agent"):
        origin["user-agent"] = user_agent
    return origin


def _verifier(request: Request) -> TokenVerifier:
    return gateway(request).verifier


# Declared only so that OpenAPI shows the bearer scheme; bearer_identity answers the 401s.
_bearer_scheme = HTTPBearer(auto_error=False, description="An access token from /v1/auth/login")


async def _identity(
    identity: Annotated[Identity, Depends(bearer_identity(_verifier))],
    _: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer_scheme)],
) -> Identity:
    return identity


CurrentGateway = Annotated[Gateway, Depends(gateway)]
CurrentIdentity = Annotated[Identity, Depends(_identity)]
CurrentOrigin = Annotated[dict[str, str], Depends(request_origin)]
