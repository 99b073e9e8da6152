"""Sessions through the gateway and the real tenants process: refresh, reuse, logout and a
password change."""

import httpx
import pytest

from devstack.client import assert_problem, signup

pytestmark = pytest.mark.e2e
PASSWORD = "a-long-password-1"


def test_a_session_refreshes_logs_out_and_ends_with_a_password_change(api: httpx.Client) -> None:
    account = signup(api, "Omicron Sesiones", password=PASSWORD)
    pair = api.post("/v1/auth/login", json={"email": account.email, "password": PASSWORD}).json()

    renewed = api.post("/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert renewed.status_code == 200, renewed.text
    renewed_pair = renewed.json()
    assert renewed_pair["refresh_expires_in"] > 0
    documents = api.get(
        "/v1/documents", headers={"Authorization": f"Bearer {renewed_pair['access_token']}"}
    )
    assert documents.status_code == 200, documents.text

    # The spent token again: the whole family ends.
    replayed = api.post("/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert_problem(replayed, 401, "invalid-refresh-token")
    assert_problem(
        api.post("/v1/auth/refresh", json={"refresh_token": renewed_pair["refresh_token"]}),
        401,
        "invalid-refresh-token",
    )

    second = api.post("/v1/auth/login", json={"email": account.email, "password": PASSWORD})
    logout = api.post("/v1/auth/logout", json={"refresh_token": second.json()["refresh_token"]})
    assert logout.status_code == 204
    assert_problem(
        api.post("/v1/auth/refresh", json={"refresh_token": second.json()["refresh_token"]}),
        401,
        "invalid-refresh-token",
    )

    third = api.post("/v1/auth/login", json={"email": account.email, "password": PASSWORD}).json()
    changed = api.post(
        "/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": "a-brand-new-password"},
        headers={"Authorization": f"Bearer {third['access_token']}"},
    )
    assert changed.status_code == 204, changed.text
    assert_problem(
        api.post("/v1/auth/refresh", json={"refresh_token": third["refresh_token"]}),
        401,
        "invalid-refresh-token",
    )
    assert_problem(
        api.post("/v1/auth/login", json={"email": account.email, "password": PASSWORD}),
        401,
        "invalid-credentials",
    )
    relogin = api.post(
        "/v1/auth/login", json={"email": account.email, "password": "a-brand-new-password"}
    )
    assert relogin.status_code == 200, relogin.text

    wrong = api.post(
        "/v1/auth/password",
        json={"current_password": "not the password", "new_password": "another-new-password"},
        headers={"Authorization": f"Bearer {relogin.json()['access_token']}"},
    )
    assert_problem(wrong, 403, "wrong-password")
