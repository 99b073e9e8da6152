"""Ingest's internal document routes check the caller's permission again, after the gateway: a
role's for a person, the scopes' for an API key. Real app and Postgres; the tokens are signed
here with a key the app's verifier trusts."""

from typing import Any
from uuid import uuid4

import httpx

from devstack.client import assert_problem
from devstack.signer import TEST_SIGNER
from ingest.settings import IngestSettings

NO_DOCUMENT = f"/internal/documents/{uuid4()}"
BY_HASH = "/internal/documents/by-hash/" + "0" * 64


def headers(role: str = "operador", scopes: list[str] | None = None) -> dict[str, str]:
    return TEST_SIGNER.headers(IngestSettings(), role=role, scopes=scopes)


async def call(client: httpx.AsyncClient, method: str, path: str, **kwargs: Any) -> int:
    body = {"title": "Nuevo"} if method == "PATCH" else None
    response = await client.request(method, path, json=body, **kwargs)
    if response.status_code == 403:
        assert_problem(response, 403, "forbidden")
    return response.status_code


READS = [("GET", "/internal/documents"), ("GET", NO_DOCUMENT)]
WRITES = [("PATCH", NO_DOCUMENT), ("DELETE", NO_DOCUMENT), ("GET", BY_HASH)]


async def test_an_operador_reads_but_does_not_change(client: httpx.AsyncClient) -> None:
    operador = headers("operador")

    assert [await call(client, m, p, headers=operador) for m, p in READS] == [200, 404]
    assert [await call(client, m, p, headers=operador) for m, p in WRITES] == [403, 403, 403]


async def test_a_supervisor_changes_documents(client: httpx.AsyncClient) -> None:
    supervisor = headers("supervisor")

    # 404: allowed, and the document does not exist.
    assert [await call(client, m, p, headers=supervisor) for m, p in WRITES] == [404, 404, 404]


async def test_an_api_key_is_held_to_its_scopes_whatever_its_role(
    client: httpx.AsyncClient,
) -> None:
    reader = headers("operador", scopes=["documents:read"])
    writer = headers("operador", scopes=["documents:write"])
    asker = headers("owner", scopes=["questions:ask"])

    assert [await call(client, m, p, headers=reader) for m, p in READS] == [200, 404]
    assert [await call(client, m, p, headers=reader) for m, p in WRITES] == [403, 403, 403]
    assert [await call(client, m, p, headers=writer) for m, p in READS] == [403, 403]
    assert [await call(client, m, p, headers=writer) for m, p in WRITES] == [404, 404, 404]
    assert [await call(client, m, p, headers=asker) for m, p in READS + WRITES] == [403] * 5
