"""A question's turn in its conversation, for the answering consumer: before answering, which
conversation and assistant it belongs to and what was said before; after, the end user's
message and the bot's reply stored together, with the conversation's new state.

Functions take a session and only flush; the consumer's transaction commits.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from uuid import UUID, uuid4

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from common.db import violated_unique_constraint
from common.events import Citation, ConversationStatus, HandoffReason, QuestionAsked
from query.answers.prompts import ConversationTurn
from query.assistants.models import Assistant
from query.conversations.handoff import HandoffRules
from query.conversations.models import OPEN_CONVERSATION_UNIQUE, Conversation, Message

ASSISTANT_NOT_FOUND = "assistant-not-found"
CONVERSATION_NOT_FOUND = "conversation-not-found"
CONVERSATION_MISMATCH = "conversation-mismatch"
CONVERSATION_SUPERSEDED = "conversation-superseded"


class TurnRefused(Exception):
    """The question cannot be taken into its conversation; `code` says why."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class AssistantView:
    """What answering needs of an assistant, read once before answering."""

    id: UUID
    instructions: str
    fallback_message: str
    document_ids: list[UUID] | None
    """None: no limit by document."""
    tags: list[str] | None
    history_messages: int
    rules: HandoffRules

    @classmethod
    def of(cls, assistant: Assistant) -> "AssistantView":
        return cls(
            id=assistant.id,
            instructions=assistant.system_prompt,
            fallback_message=assistant.fallback_message,
            document_ids=list(assistant.document_ids)
            if assistant.document_scope == "documents"
            else None,
            tags=list(assistant.tags) if assistant.document_scope == "tags" else None,
            history_messages=assistant.history_messages,
            rules=HandoffRules(
                keywords=tuple(assistant.handoff_keywords),
                on_low_confidence=assistant.handoff_on_low_confidence,
                min_confidence=assistant.handoff_min_confidence,
                on_user_request=assistant.handoff_on_user_request,
            ),
        )


@dataclass
class Turn:
    """What was known before answering. `refused` names why the question cannot be taken."""

    refused: str | None = None
    conversation_id: UUID | None = None
    """The conversation it continues; None: a new one is opened when the turn is stored."""
    status: ConversationStatus = "bot"
    assistant: AssistantView | None = None
    history: list[ConversationTurn] = field(default_factory=list)
    earlier_questions: list[str] = field(default_factory=list)
    """The end user's earlier questions, as they were searched, oldest first."""

    @property
    def bot_answers(self) -> bool:
        return self.refused is None and self.status != "human"


@dataclass
class BotReply:
    content: str
    found: bool
    citations: list[Citation] = field(default_factory=list)
    confidence: float | None = None
    model: str | None = None
    tokens: int | None = None
    retrieval_query: str | None = None
    handoff_reason: HandoffReason | None = None
    error: str | None = None


@dataclass
class Recorded:
    conversation: Conversation
    reply_id: UUID | None
    """The bot's message; None when a person held the conversation."""
    handoff_reason: HandoffReason | None
    """Set when this turn sent the conversation to a person."""


async def _live_assistant(
    session: AsyncSession, company_id: UUID, assistant_id: UUID
) -> Assistant | None:
    assistant = await session.get(Assistant, assistant_id)
    if assistant is None or assistant.company_id != company_id or assistant.deleted_at is not None:
        return None
    return assistant


async def _open_conversation(
    session: AsyncSession, event: QuestionAsked, assistant_id: UUID | None, *, lock: bool = False
) -> Conversation | None:
    asked = event.payload
    query = select(Conversation).where(
        Conversation.company_id == event.company_id,
        Conversation.channel == asked.channel,
        Conversation.end_user_id == asked.end_user(),
        Conversation.status != "resolved",
        Conversation.assistant_id.is_(None)
        if assistant_id is None
        else Conversation.assistant_id == assistant_id,
    )
    if lock:
        query = query.with_for_update()
    return (await session.scalars(query)).one_or_none()


async def _history(
    session: AsyncSession, conversation_id: UUID, limit: int
) -> tuple[list[ConversationTurn], list[str]]:
    if limit == 0:
        return [], []
    rows = (
        await session.scalars(
            select(Message)
            .where(Message.conversation_id == conversation_id, Message.error.is_(None))
            .order_by(Message.created_at.desc(), Message.id.desc())
            .limit(limit)
        )
    ).all()
    rows = list(reversed(rows))
    turns = [
        ConversationTurn("user" if row.sender_type == "end_user" else "assistant", row.content)
        for row in rows
    ]
    questions = [
        row.retrieval_query or row.content for row in rows if row.sender_type == "end_user"
    ]
    return turns, questions


async def prepare(session: AsyncSession, event: QuestionAsked, default_history: int) -> Turn:
    """The conversation and assistant a question belongs to, read before answering it."""
    asked = event.payload
    conversation: Conversation | None = None
    assistant_id = asked.assistant_id
    if asked.conversation_id is not None:
        conversation = await session.get(Conversation, asked.conversation_id)
        if conversation is None or conversation.company_id != event.company_id:
            return Turn(refused=CONVERSATION_NOT_FOUND)
        if assistant_id is not None and conversation.assistant_id != assistant_id:
            return Turn(refused=CONVERSATION_MISMATCH)
        assistant_id = conversation.assistant_id
    assistant = None
    if assistant_id is not None:
        found = await _live_assistant(session, event.company_id, assistant_id)
        if found is None:
            return Turn(refused=ASSISTANT_NOT_FOUND)
        assistant = AssistantView.of(found)
    if conversation is None:
        conversation = await _open_conversation(session, event, assistant_id)
    if conversation is None:
        return Turn(assistant=assistant)
    history_limit = assistant.history_messages if assistant else default_history
    history, questions = await _history(session, conversation.id, history_limit)
    status: ConversationStatus = conversation.status  # type: ignore[assignment]
    return Turn(
        conversation_id=conversation.id,
        status="bot" if status == "resolved" else status,
        assistant=assistant,
        history=history,
        earlier_questions=questions,
    )


async def _conversation_for(
    session: AsyncSession, event: QuestionAsked, turn: Turn
) -> Conversation:
    """The turn's conversation, locked for this transaction; a new one if it has none."""
    assistant_id = turn.assistant.id if turn.assistant else None
    if turn.conversation_id is not None:
        conversation = await session.get(Conversation, turn.conversation_id, with_for_update=True)
        if conversation is not None:
            return conversation
    while True:
        existing = await _open_conversation(session, event, assistant_id, lock=True)
        if existing is not None:
            return existing
        conversation = Conversation(
            id=uuid4(),
            company_id=event.company_id,
            assistant_id=assistant_id,
            end_user_id=event.payload.end_user(),
            channel=event.payload.channel,
            status="bot",
            message_count=0,
        )
        try:
            async with session.begin_nested():
                session.add(conversation)
        except IntegrityError as exc:
            # Opened by another question of the same end user at the same moment: use it.
            if violated_unique_constraint(exc) != OPEN_CONVERSATION_UNIQUE:
                raise
            continue
        return conversation


async def _reopen(session: AsyncSession, conversation: Conversation) -> None:
    """A new message in a resolved conversation reopens it, and the bot answers again;
    unless its end user has opened another since (one open conversation each)."""
    try:
        async with session.begin_nested():
            conversation.status = "bot"
            conversation.resolved_at = None
            conversation.resolved_by = None
            conversation.handoff_reason = None
            conversation.handoff_at = None
            await session.flush()
    except IntegrityError as exc:
        if violated_unique_constraint(exc) != OPEN_CONVERSATION_UNIQUE:
            raise
        raise TurnRefused(CONVERSATION_SUPERSEDED) from exc


async def record(
    session: AsyncSession,
    event: QuestionAsked,
    turn: Turn,
    reply: BotReply | None,
    *,
    latency_ms: int | None,
) -> Recorded:
    """Stores the end user's message and the bot's reply (unless a person has taken the
    conversation meanwhile: then the reply is dropped) and moves the conversation on.
    Raises TurnRefused when a resolved conversation cannot be reopened."""
    asked = event.payload
    conversation = await _conversation_for(session, event, turn)
    now = datetime.now(UTC)
    if conversation.status == "resolved":
        await _reopen(session, conversation)
    if conversation.status == "human":
        reply = None
    session.add(
        Message(
            id=uuid4(),
            company_id=event.company_id,
            conversation_id=conversation.id,
            sender_type="end_user",
            sender_id=asked.end_user(),
            sent_by=asked.asked_by,
            content=asked.question,
            question_id=asked.question_id,
            retrieval_query=reply.retrieval_query if reply else None,
            knowledge_sources=[],
            created_at=min(event.occurred_at, now),
        )
    )
    reply_id = None
    handoff_reason = None
    if reply is not None:
        reply_id = uuid4()
        session.add(
            Message(
                id=reply_id,
                company_id=event.company_id,
                conversation_id=conversation.id,
                sender_type="bot",
                content=reply.content,
                question_id=asked.question_id,
                tokens=reply.tokens,
                latency_ms=latency_ms,
                model=reply.model,
                knowledge_sources=[c.model_dump(mode="json") for c in reply.citations],
                confidence=reply.confidence,
                found=reply.found,
                handoff_reason=reply.handoff_reason,
                error=reply.error,
                created_at=now,
            )
        )
        if reply.handoff_reason is not None and conversation.status == "bot":
            handoff_reason = reply.handoff_reason
            conversation.status = "waiting_human"
            conversation.handoff_reason = reply.handoff_reason
            conversation.handoff_at = now
    conversation.message_count += 1 if reply is None else 2
    conversation.last_message_at = now
    await session.flush()
    return Recorded(conversation=conversation, reply_id=reply_id, handoff_reason=handoff_reason)
