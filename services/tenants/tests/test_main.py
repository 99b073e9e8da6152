"""The whole process as `serve` runs it: the lifespan connects to a real Kafka-protocol broker
and the outbox relay publishes what sign-up wrote."""

import asyncio
from collections.abc import Callable
from typing import Any
from uuid import UUID

import httpx
from aiokafka import AIOKafkaConsumer
from sqlalchemy import func, select

from common.events import CompanyCreated, decode_event
from tenants.db import outbox
from tenants.main import create_app
from tenants.settings import TenantsSettings
from tenants.state import app_state


async def next_company_created(consumer: AIOKafkaConsumer, company_id: UUID) -> CompanyCreated:
    async for message in consumer:
        assert message.value is not None
        event = decode_event(message.value)
        if isinstance(event, CompanyCreated) and event.company_id == company_id:
            assert message.key == str(company_id).encode()
            return event
    raise AssertionError("the consumer stopped")


async def test_signup_reaches_kafka_through_the_outbox(
    settings: TenantsSettings,
    migrated: None,
    kafka_bootstrap: str,
    new_signup: Callable[..., dict[str, Any]],
) -> None:
    app = create_app(settings.model_copy(update={"kafka_bootstrap_servers": kafka_bootstrap}))

    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://tenants") as client:
            assert (await client.get("/healthz")).status_code == 200
            response = await client.post("/internal/signup", json=new_signup())
        assert response.status_code == 201, response.text
        company_id = UUID(response.json()["company_id"])

        consumer = AIOKafkaConsumer(
            CompanyCreated.topic, bootstrap_servers=kafka_bootstrap, auto_offset_reset="earliest"
        )
        await consumer.start()
        try:
            event = await asyncio.wait_for(next_company_created(consumer, company_id), 30)
        finally:
            await consumer.stop()
        assert event.payload.owner_user_id == UUID(response.json()["user_id"])

        # Relayed rows are deleted once published (in the relay's transaction, which may
        # commit a moment after the consumer saw the message).
        database = app_state(app).database
        for _ in range(50):
            async with database.transaction(company_id) as session:
                left = await session.scalar(select(func.count()).select_from(outbox))
            if left == 0:
                break
            await asyncio.sleep(0.1)
        assert left == 0
