"""Usage analytics, computed by the query service from its conversations: checked here by the
token's role, then passed on."""

from datetime import date
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query

from common.auth import Permission, require
from common.contracts.analytics import UsageReport
from gateway.dependencies import CurrentGateway, CurrentIdentity

router = APIRouter(prefix="/v1/analytics", tags=["analytics"])


@router.get("/usage", response_model=UsageReport, responses={404: {}, 422: {}})
async def read_usage(
    identity: CurrentIdentity,
    gateway: CurrentGateway,
    start: Annotated[date | None, Query(description="First UTC day, inclusive")] = None,
    end: Annotated[date | None, Query(description="Last UTC day, inclusive; default today")] = None,
    assistant_id: Annotated[UUID | None, Query(description="Only this assistant's")] = None,
) -> Any:
    """Each day's conversations, messages, hand-offs to a person, average answer latency and
    unanswered questions, per assistant (`assistant_id` null: questions asked without one);
    only days with activity are listed. By default the last 30 days; at most 366 at a time.
    Owner, administrador and supervisor."""
    require(identity, Permission.ANALYTICS_READ)
    params = {"start": start, "end": end, "assistant_id": assistant_id}
    return await gateway.query.call(
        "GET",
        "/internal/analytics/usage",
        token=identity.token,
        params={name: str(value) for name, value in params.items() if value is not None},
    )
