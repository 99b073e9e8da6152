"""One page of a query's rows and the count of all of them, for the paginated lists."""

from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession


async def fetch_page(
    session: AsyncSession, query: Select[Any], *order_by: Any, limit: int, offset: int
) -> tuple[list[Any], int]:
    """The rows of `query` from `offset`, at most `limit`, in `order_by` (end it with a
    unique column so pages never overlap), and how many rows the query has in all."""
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await session.scalars(query.order_by(*order_by).limit(limit).offset(offset))
    return list(rows), int(total or 0)
