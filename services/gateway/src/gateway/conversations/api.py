"""Conversations and reactions, kept by the query service: the role is checked here and the
request passed on; query checks again and answers in the same shapes."""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Response

from common.auth import Permission, require
from common.contracts.conversations import (
    ConversationOut,
    ConversationPage,
    ConversationWithMessages,
    MessageOut,
    ReactionIn,
    ReactionOut,
    ReplyIn,
)
from common.contracts.questions import Channel, EndUserId
from common.events import ConversationStatus
from gateway.dependencies import CurrentGateway, CurrentIdentity

router = APIRouter(prefix="/v1", tags=["conversations"])

MAX_MESSAGES = 1000


def _given(**params: Any) -> dict[str, Any]:
    return {name: str(value) for name, value in params.items() if value is not None}


@router.get("/conversations", response_model=ConversationPage, responses={404: {}})
async def list_conversations(
    identity: CurrentIdentity,
    gateway: CurrentGateway,
    status: ConversationStatus | None = None,
    assistant_id: UUID | None = None,
    end_user_id: Annotated[EndUserId | None, Query()] = None,
    channel: Annotated[Channel | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Any:
    """The company's conversations, newest activity first; `status=waiting_human` lists those
    waiting for a person. An operador sees only its assistants' conversations (an
    `assistant_id` it is not assigned to is 404 `assistant-not-found`)."""
    require(identity, Permission.CONVERSATIONS_READ)
    return await gateway.query.call(
        "GET",
        "/internal/conversations",
        token=identity.token,
        params=_given(
            status=status,
            assistant_id=assistant_id,
            end_user_id=end_user_id,
            channel=channel,
            limit=limit,
            offset=offset,
        ),
    )


@router.get(
    "/conversations/{conversation_id}",
    response_model=ConversationWithMessages,
    responses={404: {}},
)
async def read_conversation(
    conversation_id: UUID,
    identity: CurrentIdentity,
    gateway: CurrentGateway,
    messages: Annotated[int, Query(ge=0, le=MAX_MESSAGES)] = 200,
) -> Any:
    """The conversation with its latest `messages` messages, oldest first, each with how many
    of each reaction it has."""
    require(identity, Permission.CONVERSATIONS_READ)
    return await gateway.query.call(
        "GET",
        f"/internal/conversations/{conversation_id}",
        token=identity.token,
        params={"messages": messages},
    )


@router.post(
    "/conversations/{conversation_id}/take",
    response_model=ConversationOut,
    responses={403: {}, 404: {}, 409: {}},
)
async def take_conversation(
    conversation_id: UUID, identity: CurrentIdentity, gateway: CurrentGateway
) -> Any:
    """The caller (a person) holds the conversation: the bot stays silent while it does, and
    the end user's questions wait for the person's reply (202, `answer` null). Taking it again
    changes nothing; 409 `conversation-held` when another person holds it, 409
    `conversation-resolved` when it is closed."""
    require(identity, Permission.CONVERSATIONS_HANDLE)
    return await gateway.query.call(
        "POST", f"/internal/conversations/{conversation_id}/take", token=identity.token
    )


@router.post(
    "/conversations/{conversation_id}/reply",
    status_code=201,
    response_model=MessageOut,
    responses={403: {}, 404: {}, 409: {}},
)
async def reply_in_conversation(
    conversation_id: UUID, body: ReplyIn, identity: CurrentIdentity, gateway: CurrentGateway
) -> Any:
    """A message to the end user from the person holding the conversation (409
    `conversation-not-taken` before it is taken, 403 `held-by-another`)."""
    require(identity, Permission.CONVERSATIONS_HANDLE)
    return await gateway.query.call(
        "POST",
        f"/internal/conversations/{conversation_id}/reply",
        token=identity.token,
        json=body.model_dump(mode="json"),
    )


@router.post(
    "/conversations/{conversation_id}/resolve",
    response_model=ConversationOut,
    responses={403: {}, 404: {}},
)
async def resolve_conversation(
    conversation_id: UUID, identity: CurrentIdentity, gateway: CurrentGateway
) -> Any:
    """Closes the conversation: the person holding it, or a supervisor and above. The end
    user's next question in it (by `conversation_id`) reopens it and the bot answers again;
    without `conversation_id` a new conversation opens."""
    require(identity, Permission.CONVERSATIONS_HANDLE)
    return await gateway.query.call(
        "POST", f"/internal/conversations/{conversation_id}/resolve", token=identity.token
    )


@router.post(
    "/messages/{message_id}/reactions",
    status_code=201,
    response_model=ReactionOut,
    responses={404: {}, 422: {}},
)
async def react_to_message(
    message_id: UUID, body: ReactionIn, identity: CurrentIdentity, gateway: CurrentGateway
) -> Any:
    """Reacts to a reply of the bot or of a person (422 `not-reactable` for the end user's
    own messages), replacing the caller's earlier reaction to it. An API key may react for
    the conversation's end user with `end_user_id`: each end user has a reaction of their
    own."""
    require(identity, Permission.MESSAGES_REACT)
    return await gateway.query.call(
        "POST",
        f"/internal/messages/{message_id}/reactions",
        token=identity.token,
        json=body.model_dump(mode="json", exclude_none=True),
    )


@router.delete("/messages/{message_id}/reactions", status_code=204, responses={404: {}})
async def remove_reaction(
    message_id: UUID,
    identity: CurrentIdentity,
    gateway: CurrentGateway,
    end_user_id: Annotated[EndUserId | None, Query()] = None,
) -> Response:
    """Removes the caller's reaction (an API key: the named end user's); 404 when there is
    none."""
    require(identity, Permission.MESSAGES_REACT)
    await gateway.query.call(
        "DELETE",
        f"/internal/messages/{message_id}/reactions",
        token=identity.token,
        params=_given(end_user_id=end_user_id),
    )
    return Response(status_code=204)
