"""The plan's document characters: what the company's documents hold against the limit, and
the check a document passes once its text is extracted.

A document holds its latest version's characters from the moment that version passed the
check (so a new version replaces the old one's), and until then, or when that version
failed, its active version's. Deleting and deleted documents hold none. Admissions of one
company take a transaction-long advisory lock, so concurrent documents are counted one after
another and never pass the limit together; anything else that changes the sum only lowers
it (failure, deletion), or keeps it (a version becoming active).
"""

from uuid import UUID

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from common.plan_limits import read_limits
from ingest.db import company_limits
from ingest.documents.models import Document, DocumentStatus

# Past the check: the latest version's characters count.
HOLDS_LATEST = (
    DocumentStatus.CHUNKING,
    DocumentStatus.EMBEDDING,
    DocumentStatus.INDEXING,
    DocumentStatus.READY,
)
# Before the check, or failed: the active version's, if there is one.
HOLDS_ACTIVE = (DocumentStatus.PENDING, DocumentStatus.EXTRACTING, DocumentStatus.FAILED)


def held_characters() -> ColumnElement[int]:
    return case(
        (Document.status.in_(HOLDS_LATEST), func.coalesce(Document.char_count, 0)),
        (Document.status.in_(HOLDS_ACTIVE), func.coalesce(Document.active_char_count, 0)),
        else_=0,
    )


async def characters_used(
    session: AsyncSession, company_id: UUID, *, besides: UUID | None = None
) -> int:
    """The characters the company's documents hold; `besides` leaves one document out."""
    statement = select(func.coalesce(func.sum(held_characters()), 0)).where(
        Document.company_id == company_id
    )
    if besides is not None:
        statement = statement.where(Document.id != besides)
    return int(await session.scalar(statement) or 0)


async def _lock_company(session: AsyncSession, company_id: UUID) -> None:
    key = func.hashtextextended(f"ingest.document_characters:{company_id}", 0)
    await session.execute(select(func.pg_advisory_xact_lock(key)))


async def refusal(session: AsyncSession, document: Document, characters: int) -> str | None:
    """Why the document's new content does not fit the plan, or None when it does. Call it in
    the transaction that moves the document past extraction: the lock it takes lasts until
    that transaction ends.

    A company ingest has not heard of (its `company.created` not yet consumed) is not held to
    a limit: tenants announces every company at sign-up, before anyone can upload, and the
    gateway's storage quota still bounds what it can send meanwhile."""
    limits = await read_limits(session, company_limits, document.company_id)
    allowed = None if limits is None else limits.document_character_limit
    if allowed is None:
        return None
    await _lock_company(session, document.company_id)
    others = await characters_used(session, document.company_id, besides=document.id)
    if others + characters <= allowed:
        return None
    left = max(allowed - others, 0)
    what = "This version" if document.active_version is not None else "This document"
    return (
        f"{what} has {characters:,} characters; your plan allows {allowed:,} in all and "
        f"{f'{left:,}' if left else 'none'} are left. Delete documents you no longer need, "
        "or move to a larger plan, and upload it again."
    )
