"""What the gateway's routes take from the running app."""

from dataclasses import dataclass
from typing import Annotated
from uuid import uuid4

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from faststream.kafka import KafkaBroker

from common.auth import Identity, OperatorIdentity, TokenVerifier, bearer_token
from common.blobs import LocalBlobStore
from common.suspensions import Suspensions
from gateway.auth.api_keys import ApiKeys, presented_api_key
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
    # Platform operators' tokens: the operators' audience.
    operator_verifier: TokenVerifier
    suspensions: Suspensions
    api_keys: ApiKeys


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


# Declared only so that OpenAPI shows the bearer scheme; _identity answers the 401s.
_bearer_scheme = HTTPBearer(
    auto_error=False,
    description="An access token from /v1/auth/login, or an API key (`kp_...`), which may"
    " also be sent as `X-API-Key: <key>`",
)


async def _identity(
    request: Request,
    _: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer_scheme)],
) -> Identity:
    """The caller: a user's access token, or an API key exchanged for its token (then held to
    the key's rate limit); `identity.token` is what the services are sent either way."""
    key = presented_api_key(request)
    if key is None:
        token = bearer_token(request)
        identity = await gateway(request).verifier.verify(token)
    else:
        identity = await gateway(request).api_keys.identity(key, request_origin(request))
    # A suspended company's tokens stop here, however long they still have to live.
    gateway(request).suspensions.check(identity.company_id)
    return identity


async def _operator(
    request: Request,
    token: Annotated[str, Depends(bearer_token)],
    _: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer_scheme)],
) -> OperatorIdentity:
    """A platform operator's token; the tenants service checks again that the operator is
    still active."""
    return await gateway(request).operator_verifier.verify_operator(token)


CurrentGateway = Annotated[Gateway, Depends(gateway)]
CurrentIdentity = Annotated[Identity, Depends(_identity)]
CurrentOrigin = Annotated[dict[str, str], Depends(request_origin)]
CurrentOperator = Annotated[OperatorIdentity, Depends(_operator)]
