"""Who is calling the internal API, and from where: the caller's token is verified here again
(the gateway checked it first), and the request's origin is kept for the audit log."""

import ipaddress
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import select

from common.auth import Identity, Permission, TokenVerifier, bearer_identity, require
from common.suspensions import company_suspended
from tenants.accounts.models import Company, CompanyStatus
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


async def _active_caller(
    request: Request, identity: Annotated[Identity, Depends(bearer_identity(_verifier))]
) -> Identity:
    """The verified caller, whose company must still be active: a suspension stops every
    token at once, whatever its expiry."""
    async with app_state(request.app).database.transaction(identity.company_id) as session:
        status = await session.scalar(
            select(Company.status).where(Company.id == identity.company_id)
        )
    if status != CompanyStatus.ACTIVE:
        raise company_suspended()
    return identity


def permitted(permission: Permission) -> Any:
    """A dependency: the verified caller, who must hold `permission` (403 otherwise)."""

    async def dependency(identity: CurrentCaller) -> Identity:
        require(identity, permission)
        return identity

    return Depends(dependency)


CurrentCaller = Annotated[Identity, Depends(_active_caller)]
CurrentOrigin = Annotated[RequestOrigin, Depends(request_origin)]
