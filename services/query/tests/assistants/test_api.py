"""Assistants through query's internal routes, on the real database as the app role, with
tokens signed in the test: CRUD, who sees which, the plan's limit, and other companies."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import uuid4

import httpx
import pytest

from devstack.client import assert_problem
from devstack.signer import TEST_SIGNER
from query.settings import QuerySettings

# A test module cannot import the conftest's Company, which new_company gives.
NewCompany = Callable[..., Awaitable[Any]]
CreateAssistant = Callable[..., Awaitable[dict[str, Any]]]


def body(**overrides: Any) -> dict[str, Any]:
    return {"name": f"Asistente {uuid4().hex[:6]}"} | overrides


async def test_create_read_change_retire(
    client: httpx.AsyncClient, new_company: NewCompany, create_assistant: CreateAssistant
) -> None:
    company = await new_company()
    operator = uuid4()
    created = await create_assistant(
        company,
        system_prompt="Eres el asistente de RR. HH.",
        documents={"scope": "tags", "tags": ["rrhh"]},
        handoff={"keywords": ["persona", "humano"], "min_confidence": 0.5},
        operator_ids=[str(operator)],
    )
    assert created["documents"] == {"scope": "tags", "document_ids": [], "tags": ["rrhh"]}
    assert created["handoff"]["keywords"] == ["persona", "humano"]
    assert created["operator_ids"] == [str(operator)]
    assert created["fallback_message"]

    changed = await client.patch(
        f"/internal/assistants/{created['id']}",
        json={"history_messages": 2, "operator_ids": []},
        headers=company.as_("administrador"),
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["history_messages"], changed.json()["operator_ids"]) == (2, [])
    assert changed.json()["system_prompt"] == "Eres el asistente de RR. HH."

    retired = await client.delete(f"/internal/assistants/{created['id']}", headers=company.as_())
    assert retired.status_code == 204
    gone = await client.get(f"/internal/assistants/{created['id']}", headers=company.as_())
    assert_problem(gone, 404, "assistant-not-found")
    # The name is free again once retired.
    await create_assistant(company, name=created["name"])


@pytest.mark.parametrize(
    ("documents", "problem"),
    [
        ({"scope": "documents"}, "needs document_ids"),
        ({"scope": "tags", "tags": []}, "needs tags"),
        ({"scope": "all", "tags": ["x"]}, "takes no"),
        ({"scope": "everything"}, "scope"),
    ],
)
async def test_a_scope_that_does_not_add_up_is_422(
    client: httpx.AsyncClient, new_company: NewCompany, documents: dict[str, Any], problem: str
) -> None:
    company = await new_company()
    response = await client.post(
        "/internal/assistants", json=body(documents=documents), headers=company.as_()
    )
    assert response.status_code == 422
    assert problem in response.text


async def test_names_are_unique_within_a_company(
    client: httpx.AsyncClient, new_company: NewCompany, create_assistant: CreateAssistant
) -> None:
    company, other = await new_company(), await new_company()
    await create_assistant(company, name="Ventas")

    again = await client.post(
        "/internal/assistants", json=body(name="ventas"), headers=company.as_()
    )
    assert_problem(again, 409, "assistant-name-taken")
    await create_assistant(other, name="Ventas")


@pytest.mark.parametrize("role", ["supervisor", "operador"])
async def test_only_owner_and_administrador_manage(
    client: httpx.AsyncClient, new_company: NewCompany, create_assistant: CreateAssistant, role: str
) -> None:
    company = await new_company()
    created = await create_assistant(company)

    for method, path, payload in (
        ("POST", "/internal/assistants", body()),
        ("PATCH", f"/internal/assistants/{created['id']}", {"name": "Otro"}),
        ("DELETE", f"/internal/assistants/{created['id']}", None),
    ):
        response = await client.request(method, path, json=payload, headers=company.as_(role))
        assert_problem(response, 403, "forbidden")


async def test_an_operador_sees_only_its_assistants(
    client: httpx.AsyncClient, new_company: NewCompany, create_assistant: CreateAssistant
) -> None:
    company = await new_company()
    operador = uuid4()
    mine = await create_assistant(company, operator_ids=[str(operador)])
    other = await create_assistant(company)

    listed = await client.get("/internal/assistants", headers=company.as_("operador", operador))
    supervisor = await client.get("/internal/assistants", headers=company.as_("supervisor"))
    hidden = await client.get(
        f"/internal/assistants/{other['id']}", headers=company.as_("operador", operador)
    )

    assert [item["id"] for item in listed.json()["items"]] == [mine["id"]]
    assert {item["id"] for item in supervisor.json()["items"]} == {mine["id"], other["id"]}
    assert_problem(hidden, 404, "assistant-not-found")


async def test_another_companys_assistant_is_out_of_reach(
    client: httpx.AsyncClient, new_company: NewCompany, create_assistant: CreateAssistant
) -> None:
    mine, theirs = await new_company(), await new_company()
    their_assistant = await create_assistant(theirs)

    for method, payload in (("GET", None), ("PATCH", {"name": "Robado"}), ("DELETE", None)):
        response = await client.request(
            method,
            f"/internal/assistants/{their_assistant['id']}",
            json=payload,
            headers=mine.as_(),
        )
        assert_problem(response, 404, "assistant-not-found")
    listed = await client.get(
        "/internal/assistants", params={"company_id": str(theirs.id)}, headers=mine.as_()
    )
    assert listed.json()["total"] == 0
    still = await client.get(f"/internal/assistants/{their_assistant['id']}", headers=theirs.as_())
    assert still.json()["name"] == their_assistant["name"]


async def test_the_plan_limits_how_many_even_when_created_at_once(
    client: httpx.AsyncClient, new_company: NewCompany
) -> None:
    company = await new_company(assistant_limit=2)

    responses = await asyncio.gather(
        *(client.post("/internal/assistants", json=body(), headers=company.as_()) for _ in range(5))
    )

    assert sorted(r.status_code for r in responses) == [201, 201, 429, 429, 429]
    refused = next(r for r in responses if r.status_code == 429)
    problem = assert_problem(refused, 429, "quota-exceeded")
    assert (problem["limit"], problem["allowed"], problem["used"]) == ("assistants", 2, 2)


async def test_a_company_whose_plan_is_not_known_yet_is_asked_to_retry(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/internal/assistants",
        json=body(),
        headers=TEST_SIGNER.headers(QuerySettings(), role="owner"),
    )

    assert_problem(response, 503, "plan-unknown")
    assert response.headers["retry-after"] == "2"
