"""Internal route for usage analytics; the gateway checked the caller's role, this checks
again."""

from datetime import date
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from common.auth import Permission, require
from common.contracts.analytics import UsageReport
from common.service_app import CurrentIdentity, CurrentRuntime
from query.analytics import service

router = APIRouter(prefix="/internal/analytics", tags=["analytics"])


@router.get("/usage")
async def read_usage(
    identity: CurrentIdentity,
    runtime: CurrentRuntime,
    start: Annotated[date | None, Query(description="First UTC day, inclusive")] = None,
    end: Annotated[date | None, Query(description="Last UTC day, inclusive; default today")] = None,
    assistant_id: UUID | None = None,
) -> UsageReport:
    """Daily counts per assistant (see query.analytics.service.usage for each figure)."""
    require(identity, Permission.ANALYTICS_READ)
    days = service.day_range(start, end)
    async with runtime.database.transaction(identity.company_id) as session:
        if assistant_id is not None:
            await service.check_assistant(session, identity.company_id, assistant_id)
        usage = await service.usage(session, identity.company_id, days, assistant_id)
    return UsageReport(start=days.start, end=days.end, days=usage)
