"""Internal routes for assistants; the gateway checked the caller's role, this checks again."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response, status

from common.auth import Permission, allows, require
from common.contracts.assistants import AssistantIn, AssistantOut, AssistantPage, AssistantUpdate
from common.service_app import CurrentIdentity, CurrentRuntime
from query.assistants import service

router = APIRouter(prefix="/internal/assistants", tags=["assistants"])


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_assistant(
    body: AssistantIn, identity: CurrentIdentity, runtime: CurrentRuntime
) -> AssistantOut:
    require(identity, Permission.ASSISTANTS_MANAGE)
    async with runtime.database.transaction(identity.company_id) as session:
        await service.check_plan_allows_another(session, identity.company_id)
        assistant, operator_ids = await service.create(session, identity, body)
        return service.to_out(assistant, operator_ids)


@router.get("")
async def list_assistants(
    identity: CurrentIdentity,
    runtime: CurrentRuntime,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> AssistantPage:
    """The company's assistants; an operador sees those it is assigned to."""
    require(identity, Permission.ASSISTANTS_READ)
    async with runtime.database.transaction(identity.company_id) as session:
        rows, total = await service.list_visible(session, identity, limit=limit, offset=offset)
        operators = await service.operators_of(session, [row.id for row in rows])
        items = [service.to_out(row, operators[row.id]) for row in rows]
    return AssistantPage(items=items, limit=limit, offset=offset, total=total)


@router.get("/{assistant_id}")
async def read_assistant(
    assistant_id: UUID, identity: CurrentIdentity, runtime: CurrentRuntime
) -> AssistantOut:
    if not allows(identity, Permission.QUESTIONS_ASK):
        # Asking through an assistant needs to find it, not to read assistants (an API key).
        require(identity, Permission.ASSISTANTS_READ)
    async with runtime.database.transaction(identity.company_id) as session:
        assistant = await service.get_visible(session, identity, assistant_id)
        operators = await service.operators_of(session, [assistant.id])
        return service.to_out(assistant, operators[assistant.id])


@router.patch("/{assistant_id}")
async def change_assistant(
    assistant_id: UUID, body: AssistantUpdate, identity: CurrentIdentity, runtime: CurrentRuntime
) -> AssistantOut:
    require(identity, Permission.ASSISTANTS_MANAGE)
    async with runtime.database.transaction(identity.company_id) as session:
        assistant = await service.update(session, identity, assistant_id, body)
        operators = await service.operators_of(session, [assistant.id])
        return service.to_out(assistant, operators[assistant.id])


@router.delete("/{assistant_id}", status_code=status.HTTP_204_NO_CONTENT)
async def retire_assistant(
    assistant_id: UUID, identity: CurrentIdentity, runtime: CurrentRuntime
) -> Response:
    require(identity, Permission.ASSISTANTS_MANAGE)
    async with runtime.database.transaction(identity.company_id) as session:
        await service.retire(session, identity, assistant_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
