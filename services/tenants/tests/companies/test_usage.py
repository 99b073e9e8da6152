"""Messages and storage taken against the plan's limits through the internal routes, under
concurrency, as the application role on the real Postgres."""

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest

from common.auth import Role
from tenants.accounts.models import User
from tenants.companies.service import BYTES_PER_MB, next_month
from tenants.plans import LIMITS, Plan

MakeOwner = Callable[..., Awaitable[User]]
MakeMember = Callable[..., Awaitable[User]]
Bearer = Callable[[User], dict[str, str]]
SetCompany = Callable[..., Awaitable[None]]
ReadCompany = Callable[..., Awaitable[Any]]

MESSAGES = "/internal/usage/messages"
STORAGE = "/internal/usage/storage"
STARTER_MESSAGES = LIMITS[Plan.STARTER].monthly_message_limit
STARTER_BYTES = (LIMITS[Plan.STARTER].storage_mb_limit or 0) * BYTES_PER_MB


def this_month() -> date:
    return datetime.now(UTC).date().replace(day=1)


def last_month() -> date:
    first = this_month()
    return (
        first.replace(year=first.year - 1, month=12)
        if first.month == 1
        else first.replace(month=first.month - 1)
    )


def quota_problem(response: httpx.Response, limit: str) -> dict[str, Any]:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["type"].endswith("/quota-exceeded"), body
    assert body["status"] == 429
    assert body["limit"] == limit
    return body


async def post_all(
    client: httpx.AsyncClient, path: str, headers: dict[str, str], times: int, **kwargs: Any
) -> list[httpx.Response]:
    return list(
        await asyncio.gather(*(client.post(path, headers=headers, **kwargs) for _ in range(times)))
    )


class TestTakeMessage:
    async def test_fifty_concurrent_questions_five_short_of_the_limit_get_exactly_five(
        self,
        client: httpx.AsyncClient,
        make_owner: MakeOwner,
        bearer: Bearer,
        set_company: SetCompany,
        read_company: ReadCompany,
    ) -> None:
        assert STARTER_MESSAGES is not None
        owner = await make_owner()
        await set_company(owner.company_id, messages_used=STARTER_MESSAGES - 5)

        responses = await post_all(client, MESSAGES, bearer(owner), 50)

        assert Counter(r.status_code for r in responses) == {200: 5, 429: 45}
        taken = sorted(r.json()["used"] for r in responses if r.status_code == 200)
        assert taken == list(range(STARTER_MESSAGES - 4, STARTER_MESSAGES + 1))
        for refused in (r for r in responses if r.status_code == 429):
            body = quota_problem(refused, "monthly_messages")
            assert body["used"] == body["allowed"] == STARTER_MESSAGES
            assert body["resets_at"] == next_month(this_month()).isoformat()
            assert 0 < int(refused.headers["retry-after"]) <= 31 * 24 * 3600
        assert (await read_company(owner.company_id)).messages_used == STARTER_MESSAGES

    async def test_a_new_month_starts_the_count_again(
        self,
        client: httpx.AsyncClient,
        make_owner: MakeOwner,
        bearer: Bearer,
        set_company: SetCompany,
        read_company: ReadCompany,
    ) -> None:
        owner = await make_owner()
        await set_company(
            owner.company_id, messages_used=STARTER_MESSAGES, usage_period_start=last_month()
        )

        response = await client.post(MESSAGES, headers=bearer(owner))

        assert response.status_code == 200, response.text
        assert response.json() == {
            "used": 1,
            "allowed": STARTER_MESSAGES,
            "period_start": this_month().isoformat(),
        }
        company = await read_company(owner.company_id)
        assert (company.messages_used, company.usage_period_start) == (1, this_month())

    async def test_a_limit_of_zero_refuses_even_in_a_new_month(
        self,
        client: httpx.AsyncClient,
        make_owner: MakeOwner,
        bearer: Bearer,
        set_company: SetCompany,
    ) -> None:
        owner = await make_owner()
        await set_company(
            owner.company_id,
            monthly_message_limit=0,
            messages_used=0,
            usage_period_start=last_month(),
        )

        body = quota_problem(await client.post(MESSAGES, headers=bearer(owner)), "monthly_messages")

        assert (body["used"], body["allowed"]) == (0, 0)

    async def test_an_unlimited_plan_never_refuses(
        self,
        client: httpx.AsyncClient,
        make_owner: MakeOwner,
        bearer: Bearer,
        set_company: SetCompany,
        read_company: ReadCompany,
    ) -> None:
        owner = await make_owner()
        await set_company(
            owner.company_id,
            plan=Plan.ENTERPRISE.value,
            **LIMITS[Plan.ENTERPRISE].columns(),
            messages_used=1_000_000,
        )

        responses = await post_all(client, MESSAGES, bearer(owner), 20)

        assert [r.status_code for r in responses] == [200] * 20
        assert all(r.json()["allowed"] is None for r in responses)
        assert (await read_company(owner.company_id)).messages_used == 1_000_020

    async def test_a_released_message_is_given_back_in_its_own_month_only(
        self,
        client: httpx.AsyncClient,
        make_owner: MakeOwner,
        bearer: Bearer,
        read_company: ReadCompany,
    ) -> None:
        owner = await make_owner()
        headers = bearer(owner)
        taken = (await client.post(MESSAGES, headers=headers)).json()
        assert taken["used"] == 1

        stale = await client.post(
            f"{MESSAGES}/release",
            headers=headers,
            json={"period_start": last_month().isoformat()},
        )
        assert stale.status_code == 204
        assert (await read_company(owner.company_id)).messages_used == 1

        for _ in range(2):
            released = await client.post(
                f"{MESSAGES}/release", headers=headers, json={"period_start": taken["period_start"]}
            )
            assert released.status_code == 204
        assert (await read_company(owner.company_id)).messages_used == 0

    async def test_every_role_may_ask_and_an_unknown_caller_may_not(
        self,
        client: httpx.AsyncClient,
        make_owner: MakeOwner,
        make_member: MakeMember,
        bearer: Bearer,
    ) -> None:
        operador = await make_member(await make_owner(), Role.OPERADOR)

        assert (await client.post(MESSAGES, headers=bearer(operador))).status_code == 200
        assert (await client.post(MESSAGES)).status_code == 401


class TestStorage:
    async def test_twenty_concurrent_reservations_where_three_fit(
        self,
        client: httpx.AsyncClient,
        make_owner: MakeOwner,
        bearer: Bearer,
        set_company: SetCompany,
        read_company: ReadCompany,
    ) -> None:
        owner = await make_owner()
        size = 1_000_000
        start = STARTER_BYTES - 3 * size - 10
        await set_company(owner.company_id, storage_bytes_used=start)

        responses = await post_all(client, STORAGE, bearer(owner), 20, json={"bytes": size})

        assert Counter(r.status_code for r in responses) == {200: 3, 429: 17}
        for refused in (r for r in responses if r.status_code == 429):
            body = quota_problem(refused, "storage_mb")
            assert body["used"] == start + 3 * size
            assert body["allowed"] == STARTER_BYTES
            assert body["requested"] == size
            assert "retry-after" not in refused.headers
        assert (await read_company(owner.company_id)).storage_bytes_used == start + 3 * size

    async def test_release_gives_bytes_back_never_below_zero(
        self,
        client: httpx.AsyncClient,
        make_owner: MakeOwner,
        bearer: Bearer,
        read_company: ReadCompany,
    ) -> None:
        owner = await make_owner()
        headers = bearer(owner)
        reserved = await client.post(STORAGE, headers=headers, json={"bytes": 5000})
        assert reserved.json() == {"used_bytes": 5000, "allowed_bytes": STARTER_BYTES}

        released = await client.post(f"{STORAGE}/release", headers=headers, json={"bytes": 2000})
        assert released.json()["used_bytes"] == 3000
        emptied = await client.post(f"{STORAGE}/release", headers=headers, json={"bytes": 10**9})
        assert emptied.json()["used_bytes"] == 0
        assert (await read_company(owner.company_id)).storage_bytes_used == 0

    async def test_the_free_plan_stores_nothing(
        self,
        client: httpx.AsyncClient,
        make_owner: MakeOwner,
        bearer: Bearer,
        set_company: SetCompany,
    ) -> None:
        owner = await make_owner()
        await set_company(owner.company_id, plan=Plan.FREE.value, **LIMITS[Plan.FREE].columns())

        body = quota_problem(
            await client.post(STORAGE, headers=bearer(owner), json={"bytes": 1}), "storage_mb"
        )

        assert (body["used"], body["allowed"]) == (0, 0)

    async def test_an_operador_may_not_reserve_storage(
        self,
        client: httpx.AsyncClient,
        make_owner: MakeOwner,
        make_member: MakeMember,
        bearer: Bearer,
    ) -> None:
        operador = await make_member(await make_owner(), Role.OPERADOR)

        response = await client.post(STORAGE, headers=bearer(operador), json={"bytes": 10})

        assert response.status_code == 403
        assert response.json()["permission"] == "documents:write"

    @pytest.mark.parametrize("body", [{"bytes": 0}, {"bytes": -5}, {"bytes": 1 << 41}, {}])
    async def test_a_bad_size_is_a_422(
        self, client: httpx.AsyncClient, make_owner: MakeOwner, bearer: Bearer, body: Any
    ) -> None:
        response = await client.post(STORAGE, headers=bearer(await make_owner()), json=body)

        assert response.status_code == 422
        assert response.headers["content-type"].startswith("application/problem+json")
