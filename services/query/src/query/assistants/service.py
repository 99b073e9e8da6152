"""Assistants: create, read, change, retire; and who may see which. Functions take a session
and only flush; the route's transaction commits."""

from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from common.auth import Identity, Role
from common.contracts.assistants import (
    AssistantIn,
    AssistantOut,
    AssistantUpdate,
    DocumentScope,
    Handoff,
)
from common.db import fetch_page, violated_unique_constraint
from common.plan_limits import read_limits
from common.problems import Problem
from query.assistants.models import NAME_UNIQUE, Assistant, AssistantOperator
from query.db import company_limits


def assistant_not_found(assistant_id: UUID) -> Problem:
    return Problem(404, "assistant-not-found", f"No assistant {assistant_id}.")


def _name_taken(name: str) -> Problem:
    return Problem(409, "assistant-name-taken", f"An assistant is already called {name!r}.")


def _scope_columns(documents: DocumentScope) -> dict[str, Any]:
    return {
        "document_scope": documents.scope,
        "document_ids": list(documents.document_ids),
        "tags": list(documents.tags),
    }


def _handoff_columns(handoff: Handoff) -> dict[str, Any]:
    return {
        "handoff_keywords": list(handoff.keywords),
        "handoff_on_low_confidence": handoff.on_low_confidence,
        "handoff_min_confidence": handoff.min_confidence,
        "handoff_on_user_request": handoff.on_user_request,
    }


async def operators_of(session: AsyncSession, assistant_ids: list[UUID]) -> dict[UUID, list[UUID]]:
    rows = await session.execute(
        select(AssistantOperator.assistant_id, AssistantOperator.user_id)
        .where(AssistantOperator.assistant_id.in_(assistant_ids))
        .order_by(AssistantOperator.assigned_at, AssistantOperator.user_id)
    )
    found: dict[UUID, list[UUID]] = {assistant_id: [] for assistant_id in assistant_ids}
    for assistant_id, user_id in rows:
        found[assistant_id].append(user_id)
    return found


def to_out(assistant: Assistant, operator_ids: list[UUID]) -> AssistantOut:
    return AssistantOut(
        id=assistant.id,
        name=assistant.name,
        system_prompt=assistant.system_prompt,
        fallback_message=assistant.fallback_message,
        documents=DocumentScope(
            scope=assistant.document_scope,
            document_ids=assistant.document_ids,
            tags=assistant.tags,
        ),
        history_messages=assistant.history_messages,
        handoff=Handoff(
            keywords=assistant.handoff_keywords,
            on_low_confidence=assistant.handoff_on_low_confidence,
            min_confidence=round(assistant.handoff_min_confidence, 4),
            on_user_request=assistant.handoff_on_user_request,
        ),
        operator_ids=operator_ids,
        created_by=assistant.created_by,
        created_at=assistant.created_at,
        updated_at=assistant.updated_at,
    )


async def _set_operators(
    session: AsyncSession, assistant: Assistant, operator_ids: list[UUID]
) -> None:
    await session.execute(
        delete(AssistantOperator).where(AssistantOperator.assistant_id == assistant.id)
    )
    for user_id in dict.fromkeys(operator_ids):
        session.add(
            AssistantOperator(
                assistant_id=assistant.id, user_id=user_id, company_id=assistant.company_id
            )
        )
    await session.flush()


async def count_live(session: AsyncSession, company_id: UUID) -> int:
    return int(
        await session.scalar(
            select(func.count()).where(
                Assistant.company_id == company_id, Assistant.deleted_at.is_(None)
            )
        )
        or 0
    )


async def check_plan_allows_another(session: AsyncSession, company_id: UUID) -> None:
    """429 when the company already has as many assistants as its plan allows.

    Takes a per-company lock until the transaction ends, so two creations at once are
    counted one after the other."""
    await session.execute(
        select(func.pg_advisory_xact_lock(func.hashtext("assistants:" + str(company_id))))
    )
    limits = await read_limits(session, company_limits, company_id)
    if limits is None:
        # Tenants announces a company's limits at sign-up; until they arrive, wait.
        raise Problem(
            503,
            "plan-unknown",
            "Your plan's limits have not reached this service yet; try again in a moment.",
            headers={"Retry-After": "2"},
        )
    allowed = limits.assistant_limit
    if allowed is None:
        return
    used = await count_live(session, company_id)
    if used >= allowed:
        raise Problem(
            429,
            "quota-exceeded",
            f"Your plan allows {allowed} assistants.",
            limit="assistants",
            used=used,
            allowed=allowed,
        )


async def create(
    session: AsyncSession, identity: Identity, request: AssistantIn
) -> tuple[Assistant, list[UUID]]:
    assistant = Assistant(
        id=uuid4(),
        company_id=identity.company_id,
        name=request.name,
        system_prompt=request.system_prompt,
        fallback_message=request.fallback_message,
        history_messages=request.history_messages,
        created_by=None if identity.is_api_key else identity.user_id,
        **_scope_columns(request.documents),
        **_handoff_columns(request.handoff),
    )
    try:
        async with session.begin_nested():
            session.add(assistant)
    except IntegrityError as exc:
        if violated_unique_constraint(exc) == NAME_UNIQUE:
            raise _name_taken(request.name) from exc
        raise
    await _set_operators(session, assistant, request.operator_ids)
    return assistant, list(dict.fromkeys(request.operator_ids))


async def get_visible(session: AsyncSession, identity: Identity, assistant_id: UUID) -> Assistant:
    """An assistant of the caller's company that the caller may see: an operador sees only
    those it is assigned to; others are 404 so their ids say nothing."""
    assistant = await session.get(Assistant, assistant_id)
    if (
        assistant is None
        or assistant.company_id != identity.company_id
        or assistant.deleted_at is not None
    ):
        raise assistant_not_found(assistant_id)
    if only_assigned(identity):
        assigned = await session.get(AssistantOperator, (assistant_id, identity.user_id))
        if assigned is None:
            raise assistant_not_found(assistant_id)
    return assistant


def only_assigned(identity: Identity) -> bool:
    """An operador sees only the assistants it is assigned to (and their conversations)."""
    return not identity.is_api_key and identity.role is Role.OPERADOR


async def list_visible(
    session: AsyncSession, identity: Identity, *, limit: int, offset: int
) -> tuple[list[Assistant], int]:
    query = select(Assistant).where(
        Assistant.company_id == identity.company_id, Assistant.deleted_at.is_(None)
    )
    if only_assigned(identity):
        query = query.where(
            Assistant.id.in_(
                select(AssistantOperator.assistant_id).where(
                    AssistantOperator.user_id == identity.user_id
                )
            )
        )
    return await fetch_page(
        session, query, Assistant.created_at, Assistant.id, limit=limit, offset=offset
    )


async def update(
    session: AsyncSession, identity: Identity, assistant_id: UUID, changes: AssistantUpdate
) -> Assistant:
    assistant = await get_visible(session, identity, assistant_id)
    given = changes.model_fields_set
    for field in ("name", "system_prompt", "fallback_message", "history_messages"):
        value = getattr(changes, field)
        if field in given and value is not None:
            setattr(assistant, field, value)
    if changes.documents is not None:
        for column, value in _scope_columns(changes.documents).items():
            setattr(assistant, column, value)
    if changes.handoff is not None:
        for column, value in _handoff_columns(changes.handoff).items():
            setattr(assistant, column, value)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        if violated_unique_constraint(exc) == NAME_UNIQUE:
            raise _name_taken(assistant.name) from exc
        raise
    if changes.operator_ids is not None:
        await _set_operators(session, assistant, changes.operator_ids)
    return assistant


async def retire(session: AsyncSession, identity: Identity, assistant_id: UUID) -> None:
    """Soft delete: its conversations keep their history; its name is free again."""
    assistant = await get_visible(session, identity, assistant_id)
    assistant.deleted_at = await session.scalar(select(func.now()))
    await session.flush()
