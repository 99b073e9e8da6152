"""Conversations as people see and handle them: lists and reads (an operador sees only its
assistants' conversations), taking one from the bot, replying as a person, resolving; and
reactions to the bot's and people's messages. Functions take a session and only flush; the
route's transaction commits."""

from collections import defaultdict
from datetime import UTC, datetime
from typing import cast
from uuid import UUID, uuid4

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from common.auth import Identity, Role, role_rank
from common.contracts.conversations import (
    ConversationOut,
    MessageOut,
    Reaction,
    ReactionIn,
    ReactionOut,
)
from common.db import fetch_page
from common.events import Citation, ConversationStatus
from common.problems import Problem
from query.assistants.models import Assistant, AssistantOperator
from query.assistants.service import assistant_not_found, only_assigned
from query.conversations.models import Conversation, Message, MessageReaction

END_USER_REACTOR = "end_user:"


def conversation_not_found(conversation_id: UUID) -> Problem:
    return Problem(404, "conversation-not-found", f"No conversation {conversation_id}.")


def message_not_found(message_id: UUID) -> Problem:
    return Problem(404, "message-not-found", f"No message {message_id}.")


def _assigned_assistants(identity: Identity) -> ColumnElement[bool]:
    # A conversation without an assistant has no operators, so IN leaves it out.
    return Conversation.assistant_id.in_(
        select(AssistantOperator.assistant_id).where(AssistantOperator.user_id == identity.user_id)
    )


async def _check_assistant(session: AsyncSession, identity: Identity, assistant_id: UUID) -> None:
    """404 for an assistant the caller cannot see. A retired one still has its conversations."""
    assistant = await session.get(Assistant, assistant_id)
    if assistant is None or assistant.company_id != identity.company_id:
        raise assistant_not_found(assistant_id)
    if (
        only_assigned(identity)
        and await session.get(AssistantOperator, (assistant_id, identity.user_id)) is None
    ):
        raise assistant_not_found(assistant_id)


async def list_visible(
    session: AsyncSession,
    identity: Identity,
    *,
    status: ConversationStatus | None,
    assistant_id: UUID | None,
    end_user_id: str | None,
    channel: str | None,
    limit: int,
    offset: int,
) -> tuple[list[Conversation], int]:
    """Newest activity first."""
    query = select(Conversation).where(Conversation.company_id == identity.company_id)
    if only_assigned(identity):
        query = query.where(_assigned_assistants(identity))
    if assistant_id is not None:
        await _check_assistant(session, identity, assistant_id)
        query = query.where(Conversation.assistant_id == assistant_id)
    if status is not None:
        query = query.where(Conversation.status == status)
    if end_user_id is not None:
        query = query.where(Conversation.end_user_id == end_user_id)
    if channel is not None:
        query = query.where(Conversation.channel == channel)
    return await fetch_page(
        session,
        query,
        Conversation.last_message_at.desc(),
        Conversation.id,
        limit=limit,
        offset=offset,
    )


async def _visible(
    session: AsyncSession, identity: Identity, conversation: Conversation | None
) -> bool:
    if conversation is None or conversation.company_id != identity.company_id:
        return False
    if not only_assigned(identity):
        return True
    if conversation.assistant_id is None:
        return False
    assigned = await session.get(AssistantOperator, (conversation.assistant_id, identity.user_id))
    return assigned is not None


async def get_visible(
    session: AsyncSession, identity: Identity, conversation_id: UUID, *, lock: bool = False
) -> Conversation:
    """A conversation the caller may see; 404 for any other, so their ids say nothing.
    `lock`: held until the transaction ends, so changes to it happen one after another."""
    conversation = await session.get(Conversation, conversation_id, with_for_update=lock)
    if not await _visible(session, identity, conversation):
        raise conversation_not_found(conversation_id)
    return cast(Conversation, conversation)


async def latest_messages(
    session: AsyncSession, conversation_id: UUID, count: int
) -> list[Message]:
    """The conversation's latest `count` messages, oldest first."""
    if count == 0:
        return []
    rows = await session.scalars(
        select(Message)
        .where(Message.conversation_id == conversation_id)
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(count)
    )
    return list(reversed(rows.all()))


async def reaction_counts(
    session: AsyncSession, message_ids: list[UUID]
) -> dict[UUID, dict[Reaction, int]]:
    counts: dict[UUID, dict[Reaction, int]] = defaultdict(dict)
    if not message_ids:
        return counts
    rows = await session.execute(
        select(MessageReaction.message_id, MessageReaction.reaction, func.count())
        .where(MessageReaction.message_id.in_(message_ids))
        .group_by(MessageReaction.message_id, MessageReaction.reaction)
    )
    for message_id, reaction, count in rows:
        counts[message_id][cast(Reaction, reaction)] = count
    return counts


def _person(identity: Identity) -> None:
    """Taking, replying and resolving are a person's work: an API key has no one to act."""
    if identity.is_api_key:
        raise Problem(
            403,
            "forbidden",
            "Only a person takes, replies to or resolves a conversation; an API key cannot.",
        )


def _held_by_another(conversation: Conversation) -> Problem:
    return Problem(
        403,
        "held-by-another",
        "Another person holds this conversation.",
        assigned_to=str(conversation.assigned_to),
    )


async def take(session: AsyncSession, identity: Identity, conversation_id: UUID) -> Conversation:
    """The caller holds it from now on and the bot stays silent. Again by the holder: no
    change. The row is locked, so of two people taking it at once exactly one gets it."""
    _person(identity)
    conversation = await get_visible(session, identity, conversation_id, lock=True)
    if conversation.status == "resolved":
        raise Problem(
            409,
            "conversation-resolved",
            "The conversation is resolved; the end user's next message reopens it.",
        )
    if conversation.status == "human":
        if conversation.assigned_to == identity.user_id:
            return conversation
        raise Problem(
            409,
            "conversation-held",
            "Another person already holds this conversation.",
            assigned_to=str(conversation.assigned_to),
        )
    conversation.status = "human"
    conversation.assigned_to = identity.user_id
    conversation.taken_at = datetime.now(UTC)
    await session.flush()
    return conversation


async def reply(
    session: AsyncSession, identity: Identity, conversation_id: UUID, content: str
) -> Message:
    """The holder's message to the end user."""
    _person(identity)
    conversation = await get_visible(session, identity, conversation_id, lock=True)
    if conversation.status != "human":
        raise Problem(409, "conversation-not-taken", "Take the conversation before replying in it.")
    if conversation.assigned_to != identity.user_id:
        raise _held_by_another(conversation)
    now = datetime.now(UTC)
    message = Message(
        id=uuid4(),
        company_id=identity.company_id,
        conversation_id=conversation.id,
        sender_type="human",
        sender_id=str(identity.user_id),
        sent_by=identity.user_id,
        content=content,
        knowledge_sources=[],
        created_at=now,
    )
    session.add(message)
    conversation.message_count += 1
    conversation.last_message_at = now
    await session.flush()
    return message


async def resolve(session: AsyncSession, identity: Identity, conversation_id: UUID) -> Conversation:
    """Closes it: by the person holding it, or by a supervisor or above whoever holds it.
    Already resolved: no change."""
    _person(identity)
    conversation = await get_visible(session, identity, conversation_id, lock=True)
    if conversation.status == "resolved":
        return conversation
    holds_it = conversation.status == "human" and conversation.assigned_to == identity.user_id
    if not holds_it and role_rank(identity.role) < role_rank(Role.SUPERVISOR):
        if conversation.status == "human":
            raise _held_by_another(conversation)
        raise Problem(
            403,
            "not-holder",
            "An operador resolves only the conversations it holds; take it first.",
        )
    conversation.status = "resolved"
    conversation.resolved_at = datetime.now(UTC)
    conversation.resolved_by = identity.user_id
    conversation.assigned_to = None
    await session.flush()
    return conversation


def _reactor(identity: Identity, end_user_id: str | None, conversation: Conversation) -> str:
    """Who reacts: the person or API key; an API key may react for the conversation's end
    user, who then has a reaction of their own."""
    if end_user_id is None:
        return str(identity.user_id)
    if not identity.is_api_key:
        raise Problem(
            422,
            "end-user-not-allowed",
            "Only an API key reacts for an end user; a person reacts as itself.",
        )
    if end_user_id != conversation.end_user_id:
        raise Problem(
            422,
            "end-user-mismatch",
            "The end user named is not the one of this message's conversation.",
        )
    return END_USER_REACTOR + end_user_id


async def _reactable_message(
    session: AsyncSession, identity: Identity, message_id: UUID
) -> tuple[Message, Conversation]:
    message = await session.get(Message, message_id)
    if message is None or message.company_id != identity.company_id:
        raise message_not_found(message_id)
    conversation = await session.get(Conversation, message.conversation_id)
    if not await _visible(session, identity, conversation):
        raise message_not_found(message_id)
    return message, cast(Conversation, conversation)


async def react(
    session: AsyncSession, identity: Identity, message_id: UUID, request: ReactionIn
) -> MessageReaction:
    """Replaces the reactor's earlier reaction to the message, if any: one each."""
    message, conversation = await _reactable_message(session, identity, message_id)
    if message.sender_type == "end_user":
        raise Problem(422, "not-reactable", "Only the bot's and people's replies take reactions.")
    reacted_by = _reactor(identity, request.end_user_id, conversation)
    values = insert(MessageReaction).values(
        message_id=message.id,
        reacted_by=reacted_by,
        company_id=identity.company_id,
        reaction=request.reaction,
    )
    upsert = values.on_conflict_do_update(
        index_elements=[MessageReaction.message_id, MessageReaction.reacted_by],
        set_={"reaction": values.excluded.reaction, "created_at": func.now()},
    ).returning(MessageReaction)
    reaction = await session.scalar(upsert, execution_options={"populate_existing": True})
    return cast(MessageReaction, reaction)


async def remove_reaction(
    session: AsyncSession, identity: Identity, message_id: UUID, end_user_id: str | None
) -> None:
    _, conversation = await _reactable_message(session, identity, message_id)
    reacted_by = _reactor(identity, end_user_id, conversation)
    removed = await session.scalar(
        delete(MessageReaction)
        .where(MessageReaction.message_id == message_id, MessageReaction.reacted_by == reacted_by)
        .returning(MessageReaction.message_id)
    )
    if removed is None:
        raise Problem(404, "reaction-not-found", "You have no reaction to this message.")


def conversation_out(conversation: Conversation) -> ConversationOut:
    return ConversationOut(
        id=conversation.id,
        assistant_id=conversation.assistant_id,
        end_user_id=conversation.end_user_id,
        channel=conversation.channel,
        status=cast(ConversationStatus, conversation.status),
        handoff_reason=conversation.handoff_reason,
        handoff_at=conversation.handoff_at,
        assigned_to=conversation.assigned_to,
        taken_at=conversation.taken_at,
        resolved_at=conversation.resolved_at,
        resolved_by=conversation.resolved_by,
        message_count=conversation.message_count,
        created_at=conversation.created_at,
        last_message_at=conversation.last_message_at,
    )


def message_out(message: Message, reactions: dict[Reaction, int] | None = None) -> MessageOut:
    return MessageOut(
        id=message.id,
        conversation_id=message.conversation_id,
        sender_type=message.sender_type,
        sender_id=message.sender_id,
        content=message.content,
        question_id=message.question_id,
        retrieval_query=message.retrieval_query,
        tokens=message.tokens,
        latency_ms=message.latency_ms,
        model=message.model,
        knowledge_sources=[Citation.model_validate(c) for c in message.knowledge_sources],
        confidence=message.confidence,
        found=message.found,
        handoff_reason=message.handoff_reason,
        created_at=message.created_at,
        reactions=reactions or {},
    )


def reaction_out(reaction: MessageReaction) -> ReactionOut:
    return ReactionOut(
        message_id=reaction.message_id,
        reaction=reaction.reaction,
        reacted_by=reaction.reacted_by,
        created_at=reaction.created_at,
    )
