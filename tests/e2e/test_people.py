"""A company's people through the gateway and the real tenants process: invite, accept, the
hierarchy at the gateway and again in the service, and the audit log."""

import httpx
import pytest

from devstack.client import Account, assert_problem, invite, signup

pytestmark = pytest.mark.e2e
PASSWORD = "a-long-password-1"


def test_invited_people_get_their_role_and_see_what_it_allows(api: httpx.Client) -> None:
    owner = signup(api, "Gamma Seguros")
    supervisor = invite(api, owner, "supervisor")
    operador = invite(api, owner, "operador", PASSWORD)
    assert supervisor.company_id == owner.company_id

    login = api.post("/v1/auth/login", json={"email": operador.email, "password": PASSWORD})
    assert login.status_code == 200, login.text

    def listed(account: Account) -> set[str]:
        response = api.get("/v1/users", headers=account.headers)
        assert response.status_code == 200, response.text
        return {item["id"] for item in response.json()["items"]}

    assert listed(owner) == {owner.user_id, supervisor.user_id, operador.user_id}
    assert listed(supervisor) == {supervisor.user_id, operador.user_id}
    assert listed(operador) == {operador.user_id}

    # Refused at the gateway, by the token's role.
    assert_problem(
        api.post(
            "/v1/users/invitations", json={"email": "x@example.com"}, headers=supervisor.headers
        ),
        403,
        "forbidden",
    )
    assert_problem(api.get("/v1/audit-logs", headers=operador.headers), 403, "forbidden")
    assert_problem(
        api.delete(f"/v1/users/{owner.user_id}", headers=owner.headers), 409, "owner-protected"
    )

    promoted = api.patch(
        f"/v1/users/{operador.user_id}", json={"role": "supervisor"}, headers=owner.headers
    )
    assert promoted.status_code == 200, promoted.text

    log = api.get("/v1/audit-logs", params={"action": "user.role_changed"}, headers=owner.headers)
    assert log.status_code == 200, log.text
    [entry] = log.json()["items"]
    assert (entry["actor_id"], entry["resource_id"]) == (owner.user_id, operador.user_id)
    assert entry["request_id"]
    assert entry["ip_address"] == "127.0.0.1"


def test_another_companys_people_are_out_of_reach(api: httpx.Client) -> None:
    mine, theirs = signup(api, "Delta Uno"), signup(api, "Delta Dos")
    their_operador = invite(api, theirs, "operador")

    for method, path, body in (
        ("GET", f"/v1/users/{their_operador.user_id}", None),
        ("PATCH", f"/v1/users/{their_operador.user_id}", {"role": "supervisor"}),
        ("DELETE", f"/v1/users/{their_operador.user_id}", None),
    ):
        response = api.request(method, path, json=body, headers=mine.headers)
        assert_problem(response, 404, "user-not-found")
    # A company_id in the query string changes nothing.
    listed = api.get(
        "/v1/users", params={"company_id": theirs.company_id}, headers=mine.headers
    ).json()
    assert {item["id"] for item in listed["items"]} == {mine.user_id}
