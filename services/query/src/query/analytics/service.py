"""Daily usage per assistant (the seed's daily analytics), computed on read from
query.conversations and query.messages with GROUP BY: no counters to keep in step with the
turns, and a day's figures are whatever its rows say.

Days are UTC days. A row is counted on the day it was created, and filtered by a range of
`created_at` (timestamptz bounds, never a function of the column), so an index on
`(company_id, created_at)` serves the read: messages have one; conversations, for now, only
`(company_id, last_message_at)`.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from uuid import UUID

from sqlalchemy import Date, and_, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.elements import ColumnElement

from common.contracts.analytics import UsageDay
from common.problems import Problem
from query.assistants.models import Assistant
from query.assistants.service import assistant_not_found
from query.conversations.models import Conversation, Message

DEFAULT_DAYS = 30
MAX_DAYS = 366
# Hand-offs the end user asked for: the bot did not try to answer, so nothing went unanswered.
ASKED_FOR_A_PERSON = ("keyword", "user_request")


@dataclass(frozen=True)
class DayRange:
    start: date
    end: date
    """Inclusive."""

    def bounds(self) -> tuple[datetime, datetime]:
        """[start's midnight, the midnight after end) in UTC."""
        return (
            datetime.combine(self.start, time.min, UTC),
            datetime.combine(self.end + timedelta(days=1), time.min, UTC),
        )


def day_range(start: date | None, end: date | None, *, today: date | None = None) -> DayRange:
    """The days asked for: `end` defaults to today (UTC), `start` to 30 days ending at `end`;
    at most 366 days, start not after end."""
    end = end or today or datetime.now(UTC).date()
    if start is None:
        start = end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        raise Problem(
            422,
            "invalid-range",
            f"start ({start}) is after end ({end}).",
            start=start.isoformat(),
            end=end.isoformat(),
        )
    days = (end - start).days + 1
    if days > MAX_DAYS:
        raise Problem(
            422,
            "invalid-range",
            f"The range covers {days} days; ask for at most {MAX_DAYS} at a time.",
            start=start.isoformat(),
            end=end.isoformat(),
        )
    return DayRange(start, end)


async def check_assistant(session: AsyncSession, company_id: UUID, assistant_id: UUID) -> None:
    """404 unless the assistant is the company's. A retired one keeps its history, so its
    figures stay readable (analytics is for owners, administradores and supervisors, who see
    every assistant)."""
    assistant = await session.get(Assistant, assistant_id)
    if assistant is None or assistant.company_id != company_id:
        raise assistant_not_found(assistant_id)


def _utc_day(column: InstrumentedAttribute[datetime]) -> ColumnElement[date]:
    """The UTC day of a timestamptz, whatever the session's time zone (grouping only)."""
    return cast(func.timezone("UTC", column), Date)


@dataclass
class _Tally:
    conversations: int = 0
    messages: int = 0
    handoffs: int = 0
    average_latency_ms: float | None = None
    unanswered_questions: int = 0


async def usage(
    session: AsyncSession, company_id: UUID, days: DayRange, assistant_id: UUID | None = None
) -> list[UsageDay]:
    """One entry per (UTC day, assistant) with any activity, by day, then assistant id, with
    questions asked without an assistant (`assistant_id` None) last in each day.

    - conversations: conversations created that day;
    - messages: messages created that day, whoever sent them (end user, bot or person);
    - handoffs: the bot's replies that sent (or kept) the conversation to a person, i.e. bot
      messages with a `handoff_reason`;
    - average_latency_ms: the mean `latency_ms` of that day's bot replies (None without any);
    - unanswered_questions: bot replies with `found` false, except those where the end user
      asked for a person (`handoff_reason` keyword or user_request: the bot did not try) and
      those the answer provider failed to write (`error` set: a fault, not a gap in the
      documents). So a reply with `handoff_reason` no_answer or low_confidence and found false
      counts; turns a person held (no bot reply) do not.

    `assistant_id` narrows to one assistant; the caller checks it may see it.
    """
    since, until = days.bounds()
    tallies: dict[tuple[date, UUID | None], _Tally] = {}

    conversation_day = _utc_day(Conversation.created_at).label("day")
    conversations = (
        select(conversation_day, Conversation.assistant_id, func.count().label("started"))
        .where(
            Conversation.company_id == company_id,
            Conversation.created_at >= since,
            Conversation.created_at < until,
        )
        .group_by(conversation_day, Conversation.assistant_id)
    )
    if assistant_id is not None:
        conversations = conversations.where(Conversation.assistant_id == assistant_id)
    for day, assistant, started in await session.execute(conversations):
        tallies.setdefault((day, assistant), _Tally()).conversations = started

    is_bot = Message.sender_type == "bot"
    unanswered = and_(
        is_bot,
        Message.found.is_(False),
        Message.error.is_(None),
        func.coalesce(Message.handoff_reason, "").not_in(ASKED_FOR_A_PERSON),
    )
    message_day = _utc_day(Message.created_at).label("day")
    messages = (
        select(
            message_day,
            Conversation.assistant_id,
            func.count().label("messages"),
            func.count().filter(is_bot, Message.handoff_reason.is_not(None)).label("handoffs"),
            func.avg(Message.latency_ms).filter(is_bot).label("latency"),
            func.count().filter(unanswered).label("unanswered"),
        )
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(
            Message.company_id == company_id,
            Message.created_at >= since,
            Message.created_at < until,
        )
        .group_by(message_day, Conversation.assistant_id)
    )
    if assistant_id is not None:
        messages = messages.where(Conversation.assistant_id == assistant_id)
    for row in await session.execute(messages):
        tally = tallies.setdefault((row.day, row.assistant_id), _Tally())
        tally.messages = row.messages
        tally.handoffs = row.handoffs
        tally.average_latency_ms = None if row.latency is None else round(float(row.latency), 1)
        tally.unanswered_questions = row.unanswered

    def order(key: tuple[date, UUID | None]) -> tuple[date, bool, str]:
        day, assistant = key
        return day, assistant is None, str(assistant or "")

    return [
        UsageDay(day=day, assistant_id=assistant, **vars(tallies[day, assistant]))
        for day, assistant in sorted(tallies, key=order)
    ]
