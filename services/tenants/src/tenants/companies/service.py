"""The company's own details and its usage against the plan's limits.

Every quota is taken with one conditional UPDATE of the company row: Postgres serialises
concurrent updates of a row and re-checks the WHERE on the row as the previous one left it,
so however many requests race, the count stops exactly at the limit (and the table's CHECK
constraint refuses anything past it, should a bug ever try). Functions only flush.
"""

import logging
from datetime import UTC, date, datetime, time
from typing import Any
from uuid import UUID

from sqlalchemy import BigInteger, ColumnElement, Date, and_, case, cast, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from common.auth import Identity
from common.bus import record_processed
from common.contracts.company import (
    AssistantAllowance,
    CompanyOut,
    CompanyUsage,
    CountUsage,
    MessageReservation,
    MessageUsage,
    StorageUsage,
)
from common.events import DocumentStorageReleased
from tenants.accounts.models import Company, User
from tenants.audit import service as audit
from tenants.callers import RequestOrigin
from tenants.db import inbox

logger = logging.getLogger(__name__)

BYTES_PER_MB = 1024 * 1024
STORAGE_RELEASED_CONSUMER = "tenants.documents-storage-released"


class CompanyNotFound(LookupError):
    """The company is not there, or not visible to this transaction's tenant."""


class QuotaExceeded(Exception):
    """A request would take the company past one of its plan's limits."""

    def __init__(
        self, limit: str, used: int, allowed: int, *, resets_at: datetime | None = None
    ) -> None:
        super().__init__(f"{limit}: {used} of {allowed} used")
        self.limit = limit
        self.used = used
        self.allowed = allowed
        self.resets_at = resets_at


def this_month() -> ColumnElement[date]:
    """The first day of the current calendar month in UTC, by the database's clock, so every
    replica of every service agrees on when a month ends."""
    return cast(func.date_trunc("month", func.timezone("UTC", func.now())), Date)


def next_month(period_start: date) -> datetime:
    """The first instant (UTC) of the month after the one `period_start` begins."""
    year, month = divmod(period_start.year * 12 + period_start.month, 12)
    return datetime.combine(date(year, month + 1, 1), time(), tzinfo=UTC)


def allowed_bytes(storage_mb_limit: int | None) -> int | None:
    return None if storage_mb_limit is None else storage_mb_limit * BYTES_PER_MB


async def lock_company(session: AsyncSession, company_id: UUID) -> Company:
    """The company row, locked until the transaction ends (SELECT ... FOR UPDATE): work that
    counts rows against a limit (seats) locks it first, so concurrent requests count one
    after another."""
    company = await session.scalar(
        select(Company)
        .where(Company.id == company_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if company is None:
        raise CompanyNotFound(company_id)
    return company


async def active_user_count(session: AsyncSession, company_id: UUID) -> int:
    """The users who take a seat: every active one."""
    count = await session.scalar(
        select(func.count())
        .select_from(User)
        .where(User.company_id == company_id, User.is_active.is_(True))
    )
    return int(count or 0)


async def take_seat(session: AsyncSession, company_id: UUID) -> Company:
    """Takes one of the plan's seats for a user about to become active, or raises
    QuotaExceeded. The company row stays locked until the transaction (which adds the user)
    ends, so concurrent joins are counted one after another and never pass the limit."""
    company = await lock_company(session, company_id)
    if company.user_limit is not None:
        used = await active_user_count(session, company_id)
        if used >= company.user_limit:
            raise QuotaExceeded("users", used, company.user_limit)
    return company


async def take_message(session: AsyncSession, company_id: UUID) -> MessageReservation:
    """Counts one message against this month's allowance, or raises QuotaExceeded.

    A new month starts the count again at this message; a NULL limit never refuses.
    """
    month = this_month()
    new_month = Company.usage_period_start < month
    taken = (
        await session.execute(
            update(Company)
            .where(
                Company.id == company_id,
                or_(
                    Company.monthly_message_limit.is_(None),
                    and_(new_month, Company.monthly_message_limit > 0),
                    Company.messages_used < Company.monthly_message_limit,
                ),
            )
            .values(
                messages_used=case((new_month, 1), else_=Company.messages_used + 1),
                usage_period_start=month,
            )
            .returning(
                Company.messages_used, Company.monthly_message_limit, Company.usage_period_start
            )
            .execution_options(synchronize_session=False)
        )
    ).one_or_none()
    if taken is not None:
        return MessageReservation(used=taken[0], allowed=taken[1], period_start=taken[2])

    current = (
        await session.execute(
            select(
                Company.messages_used,
                Company.monthly_message_limit,
                Company.usage_period_start,
                month,
            ).where(Company.id == company_id)
        )
    ).one_or_none()
    if current is None:
        raise CompanyNotFound(company_id)
    used, allowed, period_start, current_month = current
    if allowed is None:  # lifted since the UPDATE: this time it cannot refuse
        return await take_message(session, company_id)
    # Only a limit of 0 refuses the first message of a month: nothing was counted yet.
    raise QuotaExceeded(
        "monthly_messages",
        used if period_start >= current_month else 0,
        allowed,
        resets_at=next_month(current_month),
    )


async def release_message(session: AsyncSession, company_id: UUID, period_start: date) -> bool:
    """Gives back one message taken in `period_start`'s month; a count that has since moved
    to a new month is left alone. Whether a message was given back."""
    released = await session.execute(
        update(Company)
        .where(
            Company.id == company_id,
            Company.usage_period_start == period_start,
            Company.messages_used > 0,
        )
        .values(messages_used=Company.messages_used - 1)
        .returning(Company.id)
        .execution_options(synchronize_session=False)
    )
    return released.one_or_none() is not None


def _storage_usage(used: int, storage_mb_limit: int | None) -> StorageUsage:
    return StorageUsage(used_bytes=used, allowed_bytes=allowed_bytes(storage_mb_limit))


async def reserve_storage(session: AsyncSession, company_id: UUID, size: int) -> StorageUsage:
    """Counts `size` bytes against the plan's storage, or raises QuotaExceeded."""
    limit_bytes = cast(Company.storage_mb_limit, BigInteger) * BYTES_PER_MB
    reserved = (
        await session.execute(
            update(Company)
            .where(
                Company.id == company_id,
                or_(
                    Company.storage_mb_limit.is_(None),
                    Company.storage_bytes_used + size <= limit_bytes,
                ),
            )
            .values(storage_bytes_used=Company.storage_bytes_used + size)
            .returning(Company.storage_bytes_used, Company.storage_mb_limit)
            .execution_options(synchronize_session=False)
        )
    ).one_or_none()
    if reserved is not None:
        return _storage_usage(reserved[0], reserved[1])

    current = (
        await session.execute(
            select(Company.storage_bytes_used, Company.storage_mb_limit).where(
                Company.id == company_id
            )
        )
    ).one_or_none()
    if current is None:
        raise CompanyNotFound(company_id)
    used, storage_mb_limit = current
    if storage_mb_limit is None:  # lifted since the UPDATE: this time it cannot refuse
        return await reserve_storage(session, company_id, size)
    raise QuotaExceeded("storage_mb", used, storage_mb_limit * BYTES_PER_MB)


async def release_storage(session: AsyncSession, company_id: UUID, size: int) -> StorageUsage:
    """Gives back `size` bytes of a reservation whose file was not kept; never below zero."""
    released = (
        await session.execute(
            update(Company)
            .where(Company.id == company_id)
            .values(storage_bytes_used=func.greatest(Company.storage_bytes_used - size, 0))
            .returning(Company.storage_bytes_used, Company.storage_mb_limit)
            .execution_options(synchronize_session=False)
        )
    ).one_or_none()
    if released is None:
        raise CompanyNotFound(company_id)
    return _storage_usage(released[0], released[1])


async def give_back_document_storage(session: AsyncSession, event: DocumentStorageReleased) -> bool:
    """Gives back the bytes of files ingest no longer keeps (a deleted document's, a duplicate
    upload's), once per event: whether this delivery gave them back."""
    if not await record_processed(session, inbox, STORAGE_RELEASED_CONSUMER, event):
        return False
    try:
        await release_storage(session, event.company_id, event.payload.bytes)
    except CompanyNotFound:
        logger.warning(
            "storage released for an unknown company", extra={"company_id": str(event.company_id)}
        )
        return False
    return True


async def describe(session: AsyncSession, company_id: UUID) -> CompanyOut:
    """The company and its usage against its limits, as of now."""
    found = (
        await session.execute(select(Company, this_month()).where(Company.id == company_id))
    ).one_or_none()
    if found is None:
        raise CompanyNotFound(company_id)
    company, current_month = found
    # A count last touched in an earlier month is this month's zero.
    messages_used = company.messages_used if company.usage_period_start >= current_month else 0
    return CompanyOut(
        id=company.id,
        name=company.name,
        slug=company.slug,
        plan=company.plan,
        status=company.status,
        subscription_status=company.subscription_status,
        created_at=company.created_at,
        usage=CompanyUsage(
            messages=MessageUsage(
                used=messages_used,
                allowed=company.monthly_message_limit,
                period_start=current_month,
                resets_at=next_month(current_month),
            ),
            users=CountUsage(
                used=await active_user_count(session, company_id), allowed=company.user_limit
            ),
            storage=_storage_usage(company.storage_bytes_used, company.storage_mb_limit),
            document_characters=CountUsage(
                used=company.document_characters_used, allowed=company.document_character_limit
            ),
            assistants=AssistantAllowance(allowed=company.assistant_limit),
        ),
    )


async def rename(
    session: AsyncSession,
    company_id: UUID,
    name: str,
    *,
    actor: Identity,
    origin: RequestOrigin,
) -> None:
    """Changes the company's name (its slug stays), with its audit row; a name that does not
    change writes nothing."""
    company = await lock_company(session, company_id)
    if company.name == name:
        return
    old: dict[str, Any] = {"name": company.name}
    company.name = name
    await session.flush()
    await audit.record(
        session,
        company_id,
        action="company.updated",
        resource_type="company",
        resource_id=company_id,
        actor=actor,
        origin=origin,
        old=old,
        new={"name": name},
    )
