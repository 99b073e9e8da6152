"""Internal routes for conversations, people's replies and reactions; the gateway checked the
caller's role, this checks again."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response, status

from common.auth import Permission, allows, require
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
from common.service_app import CurrentIdentity, CurrentRuntime
from query.conversations import service

router = APIRouter(prefix="/internal", tags=["conversations"])

MAX_MESSAGES = 1000


@router.get("/conversations")
async def list_conversations(
    identity: CurrentIdentity,
    runtime: CurrentRuntime,
    status: ConversationStatus | None = None,
    assistant_id: UUID | None = None,
    end_user_id: Annotated[EndUserId | None, Query()] = None,
    channel: Annotated[Channel | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> ConversationPage:
    """Newest activity first; an operador sees its assistants' conversations only."""
    require(identity, Permission.CONVERSATIONS_READ)
    async with runtime.database.transaction(identity.company_id) as session:
        rows, total = await service.list_visible(
            session,
            identity,
            status=status,
            assistant_id=assistant_id,
            end_user_id=end_user_id,
            channel=channel,
            limit=limit,
            offset=offset,
        )
        items = [service.conversation_out(row) for row in rows]
    return ConversationPage(items=items, limit=limit, offset=offset, total=total)


@router.get("/conversations/{conversation_id}")
async def read_conversation(
    conversation_id: UUID,
    identity: CurrentIdentity,
    runtime: CurrentRuntime,
    messages: Annotated[int, Query(ge=0, le=MAX_MESSAGES)] = 200,
) -> ConversationWithMessages:
    """The conversation with its latest `messages` messages, oldest first."""
    if not (messages == 0 and allows(identity, Permission.QUESTIONS_ASK)):
        # Asking in a conversation needs to find it, not to read it (an API key that asks).
        require(identity, Permission.CONVERSATIONS_READ)
    async with runtime.database.transaction(identity.company_id) as session:
        conversation = await service.get_visible(session, identity, conversation_id)
        rows = await service.latest_messages(session, conversation.id, messages)
        reactions = await service.reaction_counts(session, [row.id for row in rows])
        return ConversationWithMessages(
            **service.conversation_out(conversation).model_dump(),
            messages=[service.message_out(row, reactions.get(row.id)) for row in rows],
        )


@router.post("/conversations/{conversation_id}/take")
async def take_conversation(
    conversation_id: UUID, identity: CurrentIdentity, runtime: CurrentRuntime
) -> ConversationOut:
    require(identity, Permission.CONVERSATIONS_HANDLE)
    async with runtime.database.transaction(identity.company_id) as session:
        conversation = await service.take(session, identity, conversation_id)
        return service.conversation_out(conversation)


@router.post("/conversations/{conversation_id}/reply", status_code=status.HTTP_201_CREATED)
async def reply_in_conversation(
    conversation_id: UUID, body: ReplyIn, identity: CurrentIdentity, runtime: CurrentRuntime
) -> MessageOut:
    require(identity, Permission.CONVERSATIONS_HANDLE)
    async with runtime.database.transaction(identity.company_id) as session:
        message = await service.reply(session, identity, conversation_id, body.content)
        return service.message_out(message)


@router.post("/conversations/{conversation_id}/resolve")
async def resolve_conversation(
    conversation_id: UUID, identity: CurrentIdentity, runtime: CurrentRuntime
) -> ConversationOut:
    require(identity, Permission.CONVERSATIONS_HANDLE)
    async with runtime.database.transaction(identity.company_id) as session:
        conversation = await service.resolve(session, identity, conversation_id)
        return service.conversation_out(conversation)


@router.post("/messages/{message_id}/reactions", status_code=status.HTTP_201_CREATED)
async def react_to_message(
    message_id: UUID, body: ReactionIn, identity: CurrentIdentity, runtime: CurrentRuntime
) -> ReactionOut:
    require(identity, Permission.MESSAGES_REACT)
    async with runtime.database.transaction(identity.company_id) as session:
        reaction = await service.react(session, identity, message_id, body)
        return service.reaction_out(reaction)


@router.delete("/messages/{message_id}/reactions", status_code=status.HTTP_204_NO_CONTENT)
async def remove_reaction(
    message_id: UUID,
    identity: CurrentIdentity,
    runtime: CurrentRuntime,
    end_user_id: Annotated[EndUserId | None, Query()] = None,
) -> Response:
    require(identity, Permission.MESSAGES_REACT)
    async with runtime.database.transaction(identity.company_id) as session:
        await service.remove_reaction(session, identity, message_id, end_user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
