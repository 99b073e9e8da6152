"""Assistants (the seed's chatbots), kept by the query service: checked here by the token's
role and the operators named checked against the company's people, then passed on."""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Response

from common.auth import Identity, Permission, require
from common.contracts.assistants import AssistantIn, AssistantOut, AssistantPage, AssistantUpdate
from common.problems import Problem
from gateway.dependencies import CurrentGateway, CurrentIdentity, Gateway

router = APIRouter(prefix="/v1/assistants", tags=["assistants"])


async def _check_operators(gateway: Gateway, identity: Identity, operator_ids: list[UUID]) -> None:
    """Each assigned operator must be an active person of the caller's company (tenants
    answers 404 for anyone else)."""
    for user_id in dict.fromkeys(operator_ids):
        try:
            user = await gateway.tenants.call(
                "GET", f"/internal/users/{user_id}", token=identity.token
            )
        except Problem as problem:
            if problem.status == 404:
                raise Problem(
                    422,
                    "unknown-operator",
                    f"No user {user_id} in your company to assign.",
                    user_id=str(user_id),
                ) from problem
            raise
        if not user.get("is_active", False):
            raise Problem(
                422, "unknown-operator", f"User {user_id} is deactivated.", user_id=str(user_id)
            )


@router.post("", status_code=201, response_model=AssistantOut, responses={429: {}})
async def create_assistant(
    body: AssistantIn, identity: CurrentIdentity, gateway: CurrentGateway
) -> Any:
    """Creates an assistant (owner, administrador); the plan limits how many a company has
    (429 `quota-exceeded`, `limit: "assistants"`)."""
    require(identity, Permission.ASSISTANTS_MANAGE)
    await _check_operators(gateway, identity, body.operator_ids)
    return await gateway.query.call(
        "POST", "/internal/assistants", token=identity.token, json=body.model_dump(mode="json")
    )


@router.get("", response_model=AssistantPage)
async def list_assistants(
    identity: CurrentIdentity,
    gateway: CurrentGateway,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Any:
    """The company's assistants; an operador sees those it is assigned to."""
    require(identity, Permission.ASSISTANTS_READ)
    return await gateway.query.call(
        "GET",
        "/internal/assistants",
        token=identity.token,
        params={"limit": limit, "offset": offset},
    )


@router.get("/{assistant_id}", response_model=AssistantOut)
async def read_assistant(
    assistant_id: UUID, identity: CurrentIdentity, gateway: CurrentGateway
) -> Any:
    require(identity, Permission.ASSISTANTS_READ)
    return await gateway.query.call(
        "GET", f"/internal/assistants/{assistant_id}", token=identity.token
    )


@router.patch("/{assistant_id}", response_model=AssistantOut)
async def change_assistant(
    assistant_id: UUID, body: AssistantUpdate, identity: CurrentIdentity, gateway: CurrentGateway
) -> Any:
    """Changes only the fields given; `operator_ids` replaces the assigned operators."""
    require(identity, Permission.ASSISTANTS_MANAGE)
    if body.operator_ids is not None:
        await _check_operators(gateway, identity, body.operator_ids)
    return await gateway.query.call(
        "PATCH",
        f"/internal/assistants/{assistant_id}",
        token=identity.token,
        json=body.model_dump(mode="json", exclude_unset=True),
    )


@router.delete("/{assistant_id}", status_code=204)
async def retire_assistant(
    assistant_id: UUID, identity: CurrentIdentity, gateway: CurrentGateway
) -> Response:
    """Retires the assistant: it answers no more; its conversations keep their history."""
    require(identity, Permission.ASSISTANTS_MANAGE)
    await gateway.query.call("DELETE", f"/internal/assistants/{assistant_id}", token=identity.token)
    return Response(status_code=204)
