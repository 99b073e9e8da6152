"""A small client of the gateway's public API, for the end-to-end tests and the benchmarks."""

import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

PROBLEM_JSON = "application/problem+json"


@dataclass
class Account:
    company_id: str
    user_id: str
    email: str
    access_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


def signup(api: httpx.Client, company: str, password: str = "correct horse battery") -> Account:
    email = f"owner-{uuid.uuid4().hex[:8]}@{company.lower().replace(' ', '-')}.example"
    response = api.post(
        "/v1/auth/signup",
        json={
            "company_name": company,
            "email": email,
            "password": password,
            "first_name": "Ana",
            "last_name": "García",
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    return Account(body["company_id"], body["user_id"], email, body["access_token"])


def invite(
    api: httpx.Client, owner: Account, role: str, password: str = "a-long-password-1"
) -> Account:
    """Someone the owner invites with `role`, once they have accepted: signed in as them."""
    email = f"{role}-{uuid.uuid4().hex[:8]}@example.com"
    invited = api.post(
        "/v1/users/invitations", json={"email": email, "role": role}, headers=owner.headers
    )
    assert invited.status_code == 201, invited.text
    accepted = api.post(
        f"/v1/invitations/{invited.json()['token']}/accept",
        json={"first_name": "Rosa", "last_name": "Parks", "password": password},
    )
    assert accepted.status_code == 201, accepted.text
    body = accepted.json()
    return Account(body["company_id"], body["user_id"], email, body["access_token"])


def create_assistant(api: httpx.Client, account: Account, **fields: Any) -> dict[str, Any]:
    """A new assistant of the account's company, as the gateway returns it."""
    body = {"name": f"Asistente {uuid.uuid4().hex[:6]}"} | fields
    # Query learns a new company's plan from tenants' event; give it a moment.
    deadline = time.monotonic() + 30
    while True:
        response = api.post("/v1/assistants", json=body, headers=account.headers)
        if response.status_code != 503 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def upload(
    api: httpx.Client,
    account: Account,
    filename: str,
    content: bytes,
    content_type: str = "application/octet-stream",
    **form: Any,
) -> httpx.Response:
    return api.post(
        "/v1/documents",
        headers=account.headers,
        files={"file": (filename, content, content_type)},
        data=form,
    )


def wait_for_status(
    api: httpx.Client,
    account: Account,
    document_id: str,
    final: frozenset[str] = frozenset({"ready", "failed"}),
    timeout: float = 180.0,
) -> tuple[dict[str, Any], list[str]]:
    """Polls the document until its status is one of `final`; returns it and the statuses seen."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = api.get(f"/v1/documents/{document_id}", headers=account.headers)
        if response.status_code == 404 and "deleted" in final:
            return {"status": "deleted"}, [*seen, "deleted"]
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if not seen or seen[-1] != body["status"]:
            seen.append(body["status"])
        if body["status"] in final:
            return body, seen
        time.sleep(0.3)
    raise AssertionError(f"document {document_id} stuck; statuses seen: {seen}")


def list_documents(
    api: httpx.Client, account: Account, page_size: int = 100
) -> list[dict[str, Any]]:
    """Every document of the account's company, newest first, read page by page."""
    documents: list[dict[str, Any]] = []
    while True:
        response = api.get(
            "/v1/documents",
            headers=account.headers,
            params={"limit": page_size, "offset": len(documents)},
        )
        assert response.status_code == 200, response.text
        page: dict[str, Any] = response.json()
        documents += page["items"]
        if not page["items"] or len(documents) >= page["total"]:
            return documents


def assert_problem(
    response: httpx.Response, status: int, code: str | None = None
) -> dict[str, Any]:
    """A problem+json answer with `status` and, if given, the problem type ending in `code`."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["title"]
    assert body["type"]
    assert body["detail"]
    if code is not None:
        assert body["type"].rsplit("/", 1)[-1] == code, body
    return body
