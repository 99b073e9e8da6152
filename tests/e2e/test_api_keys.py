"""API keys against the real stack: a server-to-server client uploads and asks with a key
instead of a user's token, held to the key's scopes (at the gateway and again in the services)
and to its rate limit; a revoked key stops working. Everything goes through the gateway, the
broker and the four processes."""

import uuid
from typing import Any

import httpx
import pytest

from devstack.client import Account, assert_problem, signup, wait_for_status

pytestmark = pytest.mark.e2e

HANDBOOK = """# Manual de proveedores de Kappa

## Pagos

Kappa paga las facturas de sus proveedores a cuarenta y cinco días de la fecha de recepción.
""".encode()
QUESTION = "¿A cuántos días paga Kappa las facturas de sus proveedores?"


def create_key(api: httpx.Client, owner: Account, **body: Any) -> dict[str, Any]:
    response = api.post(
        "/v1/api-keys", json={"name": f"erp-{uuid.uuid4().hex[:6]}", **body}, headers=owner.headers
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def as_client(owner: Account, created: dict[str, Any]) -> Account:
    """The key as the devstack client's Account: `Authorization: Bearer kp_...`."""
    return Account(owner.company_id, created["id"], "", created["key"])


def test_a_key_uploads_and_asks_within_its_scopes(api: httpx.Client) -> None:
    owner = signup(api, "Kappa Suministros")
    integration = as_client(
        owner,
        create_key(
            api,
            owner,
            scopes=["documents:read", "documents:write", "questions:ask"],
            rate_limit_per_minute=1000,
        ),
    )
    asker = create_key(api, owner, scopes=["questions:ask"])

    uploaded = api.post(
        "/v1/documents",
        files={"file": ("proveedores.md", HANDBOOK, "text/markdown")},
        data={"title": "Manual de proveedores"},
        headers={"X-API-Key": integration.access_token},
    )
    assert uploaded.status_code == 202, uploaded.text
    document, _ = wait_for_status(api, integration, uploaded.json()["id"])
    assert document["status"] == "ready", document

    # The asking key may not upload, nor read the library, but may ask.
    refused = api.post(
        "/v1/documents",
        files={"file": ("otro.md", b"# Otro\n\nTexto.", "text/markdown")},
        headers={"X-API-Key": asker["key"]},
    )
    assert assert_problem(refused, 403, "forbidden")["permission"] == "documents:write"
    assert_problem(api.get("/v1/documents", headers={"X-API-Key": asker["key"]}), 403)
    answer = api.post(
        "/v1/questions", json={"question": QUESTION}, headers={"X-API-Key": asker["key"]}
    )
    assert answer.status_code == 200, answer.text
    assert any(c["document_id"] == document["id"] for c in answer.json()["citations"])

    log = api.get("/v1/audit-logs", params={"action": "api_key.created"}, headers=owner.headers)
    assert log.status_code == 200, log.text
    assert log.json()["total"] == 2
    assert integration.access_token not in log.text


def test_a_key_is_rate_limited_and_stops_when_revoked(api: httpx.Client) -> None:
    owner = signup(api, "Lambda Datos")
    created = create_key(api, owner, scopes=["company:read"], rate_limit_per_minute=2)
    headers = {"X-API-Key": created["key"]}

    answers = [api.get("/v1/company", headers=headers) for _ in range(3)]

    assert [a.status_code for a in answers[:2]] == [200, 200], answers[0].text
    assert_problem(answers[2], 429, "rate-limited")
    assert int(answers[2].headers["retry-after"]) >= 1

    other = create_key(api, owner, scopes=["company:read"])
    assert api.get("/v1/company", headers={"X-API-Key": other["key"]}).status_code == 200
    revoked = api.delete(f"/v1/api-keys/{other['id']}", headers=owner.headers)
    assert revoked.status_code == 204, revoked.text
    assert_problem(api.get("/v1/company", headers={"X-API-Key": other["key"]}), 401)
    listed = api.get("/v1/api-keys", headers=owner.headers).json()["items"]
    assert {item["id"]: item["revoked_at"] is not None for item in listed} == {
        created["id"]: False,
        other["id"]: True,
    }
