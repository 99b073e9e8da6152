"""The plan's limits as a client meets them: questions past the month's messages and files
past the storage answer 429 problem+json naming the limit, and the company's usage says so.
Everything goes through the gateway, the broker and the four processes."""

from typing import Any

import httpx
import pytest

from devstack.client import Account, assert_problem, signup, upload, wait_for_status

pytestmark = pytest.mark.e2e

MB = 1024 * 1024
QUESTION = "¿Cuántos días de vacaciones hay?"


def tailor(
    api: httpx.Client, operator: dict[str, str], account: Account, **limits: int | None
) -> None:
    """Sets the company's limits as a platform operator does, through the gateway."""
    response = api.patch(
        f"/v1/admin/companies/{account.company_id}", json={"limits": limits}, headers=operator
    )
    assert response.status_code == 200, response.text


def usage(api: httpx.Client, account: Account) -> dict[str, Any]:
    response = api.get("/v1/company", headers=account.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()["usage"]
    return body


def test_a_question_past_the_months_messages_is_a_429(
    api: httpx.Client, operator: dict[str, str]
) -> None:
    account = signup(api, "Omicron Cuotas")
    company = api.get("/v1/company", headers=account.headers).json()
    assert company["plan"] == "starter"
    assert company["usage"]["messages"] == {
        "used": 0,
        "allowed": 3000,
        "period_start": company["usage"]["messages"]["period_start"],
        "resets_at": company["usage"]["messages"]["resets_at"],
    }
    assert company["usage"]["users"] == {"used": 1, "allowed": 3}
    allowed = 2
    tailor(api, operator, account, monthly_message_limit=allowed)
    first = api.post("/v1/questions", headers=account.headers, json={"question": QUESTION})
    assert first.status_code == 200, first.text

    last = api.post("/v1/questions", headers=account.headers, json={"question": QUESTION})
    assert last.status_code == 200, last.text
    refused = api.post("/v1/questions", headers=account.headers, json={"question": QUESTION})

    body = assert_problem(refused, 429)
    assert body["type"].endswith("/quota-exceeded")
    assert (body["limit"], body["used"], body["allowed"]) == ("monthly_messages", allowed, allowed)
    assert 0 < int(refused.headers["retry-after"]) <= 31 * 24 * 3600
    assert usage(api, account)["messages"]["used"] == allowed


def test_an_upload_past_the_storage_is_a_429_and_only_kept_files_count(
    api: httpx.Client, operator: dict[str, str]
) -> None:
    account = signup(api, "Pi Almacén")
    first = b"# Vacaciones\n\nVeintitr\xc3\xa9s d\xc3\xadas al a\xc3\xb1o.\n"
    accepted = upload(api, account, "vacaciones.md", first, "text/markdown")
    assert accepted.status_code == 202, accepted.text
    storage = usage(api, account)["storage"]
    assert storage == {"used_bytes": len(first), "allowed_bytes": 5 * MB}
    # Known to ingest by then, so the copy is refused at the gateway, before it is counted.
    wait_for_status(api, account, accepted.json()["id"])

    duplicate = upload(api, account, "copia.md", first, "text/markdown")
    assert_problem(duplicate, 409)
    assert usage(api, account)["storage"]["used_bytes"] == len(first)

    tailor(api, operator, account, storage_mb_limit=1)
    big = b"# Teletrabajo\n\n" + b"Dos dias por semana.\n" * (MB // 20)
    refused = upload(api, account, "teletrabajo.md", big, "text/markdown")

    body = assert_problem(refused, 429)
    assert (body["limit"], body["used"], body["allowed"]) == ("storage_mb", len(first), MB)
    assert usage(api, account)["storage"] == {"used_bytes": len(first), "allowed_bytes": MB}


def test_an_owner_renames_the_company_and_a_bad_name_is_a_422(api: httpx.Client) -> None:
    account = signup(api, "Rho Antiguo")
    slug = api.get("/v1/company", headers=account.headers).json()["slug"]

    renamed = api.patch("/v1/company", headers=account.headers, json={"name": "Rho Nuevo"})

    assert renamed.status_code == 200, renamed.text
    assert (renamed.json()["name"], renamed.json()["slug"]) == ("Rho Nuevo", slug)
    assert_problem(api.patch("/v1/company", headers=account.headers, json={"name": ""}), 422)
