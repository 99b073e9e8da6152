"""Who is calling the internal API, and from where: the caller's token is verified here again
(the gateway checked it first), and the request's origin is kept for the audit log."""

import ipaddress
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from common.auth import Identity, Permission, TokenVerifier, bearer_identity, require
from tenants.state import app_state

# Headers the gateway forwards from the original request.
CLIENT_IP_HEADER = "x-client-ip"
REQUEST_ID_HEADER = "x-request-id"


@dataclass(frozen=True)
class RequestOrigin:
    ip_address: str | None
    user_agent: str | None
    request_id: str | None


def _verifier(request: Request) -> TokenVerifier:
    return app_state(request.app).verifier


def request_origin(request: Request) -> RequestOrigin:
    ip = request.headers.get(CLIENT_IP_HEADER) or (request.client.host if request.client else None)
    return RequestOrigin(
        ip_address=_valid_ip(ip),
        user_agent=request.headers.get("user-agent"),
        request_id=request.headers.get(REQUEST_ID_HEADER),
    )


def _valid_ip(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def permitted(permission: Permission) -> object:
    """A dependency: the verified caller, who must hold `permission` (403 otherwise)."""

    async def dependency(identity: CurrentCaller) -> Identity:
        require(identity, permission)
        return identity

    return Depends(dependency)


CurrentCaller = Annotated[Identity, Depends(bearer_identity(_verifier))]
CurrentOrigin = Annotated[RequestOrigin, Depends(request_origin)]
