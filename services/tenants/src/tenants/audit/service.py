"""Writing and reading the audit log. A change and its audit row are written in one
transaction: there is never a change without its record, nor a record of a change undone."""

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from common.auth import Identity
from common.db import fetch_page
from tenants.audit.models import AuditLog
from tenants.callers import RequestOrigin


def actor_of(identity: Identity) -> tuple[str, UUID]:
    return ("api_key" if identity.is_api_key else "user"), identity.user_id


async def record(
    session: AsyncSession,
    company_id: UUID,
    *,
    action: str,
    resource_type: str,
    resource_id: object | None = None,
    actor: Identity | tuple[str, UUID | None] | None = None,
    origin: RequestOrigin | None = None,
    old: dict[str, Any] | None = None,
    new: dict[str, Any] | None = None,
) -> AuditLog:
    """Adds one audit row. `actor` is the caller, or (type, id) for an operator or the system."""
    if isinstance(actor, Identity):
        actor_type, actor_id = actor_of(actor)
    elif actor is None:
        actor_type, actor_id = "system", None
    else:
        actor_type, actor_id = actor
    entry = AuditLog(
        company_id=company_id,
        actor_type=actor_type,
        actor_id=actor_id,
        action=action,
        resource_type=resource_type,
        resource_id=str(resource_id) if resource_id is not None else None,
        old_values=old,
        new_values=new,
        ip_address=origin.ip_address if origin else None,
        user_agent=origin.user_agent if origin else None,
        request_id=origin.request_id if origin else None,
    )
    session.add(entry)
    await session.flush()
    return entry


async def list_entries(
    session: AsyncSession,
    company_id: UUID,
    *,
    action: str | None = None,
    actor_id: UUID | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[AuditLog], int]:

    query = select(AuditLog).where(AuditLog.company_id == company_id)
    if action:
        query = query.where(AuditLog.action == action)
    if actor_id:
        query = query.where(AuditLog.actor_id == actor_id)
    if since:
        query = query.where(AuditLog.created_at >= since)
    if until:
        query = query.where(AuditLog.created_at < until)
    return await fetch_page(
        session, query, AuditLog.created_at.desc(), AuditLog.id.desc(), limit=limit, offset=offset
    )
