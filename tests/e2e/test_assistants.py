"""Assistants through the gateway and the real query and tenants processes: the plan's limit,
operators checked against the company's people, and who sees which."""

import time
import uuid
from typing import Any

import httpx
import pytest

from devstack.client import Account, assert_problem, signup

pytestmark = pytest.mark.e2e


def create(api: httpx.Client, account: Account, **fields: Any) -> httpx.Response:
    body = {"name": f"Asistente {uuid.uuid4().hex[:6]}"} | fields
    # Query learns a new company's plan from tenants' event; give it a moment.
    deadline = time.monotonic() + 30
    while True:
        response = api.post("/v1/assistants", json=body, headers=account.headers)
        if response.status_code != 503 or time.monotonic() > deadline:
            return response
        time.sleep(0.5)


def test_a_starter_company_has_two_assistants(api: httpx.Client) -> None:
    account = signup(api, "Mu Servicios")

    first, second = create(api, account), create(api, account)
    third = create(api, account)

    assert (first.status_code, second.status_code) == (201, 201), second.text
    problem = assert_problem(third, 429, "quota-exceeded")
    assert (problem["limit"], problem["allowed"]) == ("assistants", 2)
    listed = api.get("/v1/assistants", headers=account.headers).json()
    assert listed["total"] == 2


def test_operators_must_be_people_of_the_company(api: httpx.Client) -> None:
    account, other = signup(api, "Nu Seguros"), signup(api, "Xi Seguros")

    theirs = create(api, account, operator_ids=[other.user_id])
    nobody = create(api, account, operator_ids=[str(uuid.uuid4())])
    mine = create(api, account, operator_ids=[account.user_id])

    assert_problem(theirs, 422, "unknown-operator")
    assert_problem(nobody, 422, "unknown-operator")
    assert mine.status_code == 201, mine.text
    assert mine.json()["operator_ids"] == [account.user_id]
    hidden = api.get(f"/v1/assistants/{mine.json()['id']}", headers=other.headers)
    assert_problem(hidden, 404, "assistant-not-found")
