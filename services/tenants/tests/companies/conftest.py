from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import select, update

from common.db import Database
from tenants.accounts.models import Company, User

Bearer = Callable[[User], dict[str, str]]
SetCompany = Callable[..., Awaitable[None]]
ReadCompany = Callable[[UUID], Awaitable[Company]]


@pytest.fixture
def set_company(database: Database) -> SetCompany:
    """Puts a company's usage or limits where a test needs them, as the application role."""

    async def set_company(company_id: UUID, **values: Any) -> None:
        async with database.transaction(company_id) as session:
            await session.execute(update(Company).where(Company.id == company_id).values(values))

    return set_company


@pytest.fixture
def read_company(database: Database) -> ReadCompany:
    async def read_company(company_id: UUID) -> Company:
        async with database.transaction(company_id) as session:
            return (await session.scalars(select(Company).where(Company.id == company_id))).one()

    return read_company
