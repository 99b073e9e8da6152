"""Storage given back when ingest lets go of a document's files: the `document.storage_released`
consumer, once through the service and once through the whole process on a real broker."""

import asyncio
from collections.abc import Awaitable, Callable
from uuid import UUID, uuid4

from common.bus import create_broker, publish_event
from common.db import Database
from common.events import DocumentStorageReleased, DocumentStorageReleasedV1
from tenants.accounts.models import Company, User
from tenants.companies import service
from tenants.main import create_app
from tenants.settings import TenantsSettings

MakeOwner = Callable[..., Awaitable[User]]
SetCompany = Callable[..., Awaitable[None]]
ReadCompany = Callable[[UUID], Awaitable[Company]]


def released(
    company_id: UUID, size: int, *, document_id: UUID | None = None
) -> DocumentStorageReleased:
    return DocumentStorageReleased.new(
        company_id,
        DocumentStorageReleasedV1(document_id=document_id or uuid4(), bytes=size, reason="deleted"),
    )


async def give_back(database: Database, event: DocumentStorageReleased) -> bool:
    async with database.transaction(event.company_id) as session:
        return await service.give_back_document_storage(session, event)


async def test_the_same_event_twice_gives_back_once(
    database: Database, make_owner: MakeOwner, set_company: SetCompany, read_company: ReadCompany
) -> None:
    owner = await make_owner()
    await set_company(owner.company_id, storage_bytes_used=10_000)
    event = released(owner.company_id, 4_000)

    assert await give_back(database, event) is True
    assert await give_back(database, event) is False
    assert await give_back(database, released(owner.company_id, 1_000)) is True

    assert (await read_company(owner.company_id)).storage_bytes_used == 5_000


async def test_never_below_zero_and_never_another_companys(
    database: Database, make_owner: MakeOwner, set_company: SetCompany, read_company: ReadCompany
) -> None:
    owner, other = await make_owner(), await make_owner()
    await set_company(owner.company_id, storage_bytes_used=100)
    await set_company(other.company_id, storage_bytes_used=100)

    await give_back(database, released(owner.company_id, 1_000))
    # An event of a company tenants does not know gives back nothing, and is not retried.
    assert await give_back(database, released(uuid4(), 50)) is False

    assert (await read_company(owner.company_id)).storage_bytes_used == 0
    assert (await read_company(other.company_id)).storage_bytes_used == 100


async def test_the_running_service_consumes_the_event_from_the_broker(
    settings: TenantsSettings,
    migrated: None,
    kafka_bootstrap: str,
    make_owner: MakeOwner,
    set_company: SetCompany,
    read_company: ReadCompany,
) -> None:
    owner = await make_owner()
    await set_company(owner.company_id, storage_bytes_used=10_000)
    on_broker = settings.model_copy(update={"kafka_bootstrap_servers": kafka_bootstrap})
    app = create_app(on_broker)
    twice = released(owner.company_id, 3_000)
    # Same document, same key: consumed after both copies of `twice`.
    last = released(owner.company_id, 1_000, document_id=twice.payload.document_id)

    async with app.router.lifespan_context(app):
        ingest = create_broker(on_broker.model_copy(update={"service_name": "ingest"}))
        await ingest.start()
        try:
            for event in (twice, twice, last):
                await publish_event(ingest, event)
            for _ in range(300):
                if (await read_company(owner.company_id)).storage_bytes_used < 7_000:
                    break
                await asyncio.sleep(0.1)
        finally:
            await ingest.stop()

    assert (await read_company(owner.company_id)).storage_bytes_used == 6_000
