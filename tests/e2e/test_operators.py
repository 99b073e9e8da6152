"""The platform operator's console through the gateway, with an operator made by the real
CLI: plans, and a suspension that stops the company's token at once everywhere and stops
ingest and query from doing its work, until it is reactivated."""

import httpx
import pytest

from devstack.client import Account, assert_problem, signup

pytestmark = pytest.mark.e2e


def test_operators_see_every_company_and_tenants_see_no_console(
    api: httpx.Client, operator: dict[str, str]
) -> None:
    account = signup(api, "Theta Bank")

    listed = api.get("/v1/admin/companies", params={"q": "theta-bank"}, headers=operator)
    assert listed.status_code == 200, listed.text
    assert account.company_id in {item["id"] for item in listed.json()["items"]}

    assert_problem(api.get("/v1/admin/companies", headers=account.headers), 401, "unauthorized")
    assert_problem(api.get("/v1/users", headers=operator), 401, "unauthorized")


def ask(api: httpx.Client, account: Account) -> httpx.Response:
    return api.post(
        "/v1/questions", json={"question": "¿Qué dice el manual?"}, headers=account.headers
    )


def test_a_suspension_stops_the_company_at_once_until_reactivated(
    api: httpx.Client, operator: dict[str, str]
) -> None:
    account = signup(api, "Iota Seguros")
    other = signup(api, "Kappa Seguros")

    def set_status(status: str) -> None:
        response = api.patch(
            f"/v1/admin/companies/{account.company_id}",
            json={"status": status, "reason": "e2e"},
            headers=operator,
        )
        assert response.status_code == 200, response.text
        assert response.json()["status"] == status

    set_status("suspended")

    # The same token, a moment later: refused at the gateway and by tenants.
    assert_problem(api.get("/v1/documents", headers=account.headers), 403, "company-suspended")
    assert_problem(ask(api, account), 403, "company-suspended")
    assert api.get("/v1/documents", headers=other.headers).status_code == 200

    set_status("active")
    listed = api.get("/v1/documents", headers=account.headers)
    assert listed.status_code == 200, listed.text
