"""The walking skeleton, end to end: two companies, an upload that becomes an answer with a
citation for its owner and nothing for the other company, and bad input answered as 4xx
problem+json. Everything goes through the gateway, the broker and the four processes."""

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from devstack.client import Account, assert_problem, signup, wait_for_status
from devstack.stack import LocalStack

pytestmark = pytest.mark.e2e

POLICY_MD = """# Manual del empleado de Acme

## Vacaciones

Los empleados de Acme tienen derecho a veintitrés días laborables de vacaciones pagadas al año.
Las vacaciones se solicitan con dos semanas de antelación a través del portal interno.

## Teletrabajo

Se puede teletrabajar dos días por semana, previo acuerdo con el responsable del equipo.
""".encode()

QUESTION = "¿Cuántos días de vacaciones pagadas tienen los empleados de Acme?"


def test_upload_to_cited_answer_stays_within_the_company(api: httpx.Client) -> None:
    company_a = signup(api, "Acme Iberia")
    company_b = signup(api, "Beta Logística")
    assert company_a.company_id != company_b.company_id

    upload = api.post(
        "/v1/documents",
        headers=company_a.headers,
        files={"file": ("manual-empleado.md", POLICY_MD, "text/markdown")},
        data={"title": "Manual del empleado"},
    )
    assert upload.status_code == 202, upload.text
    document_id = upload.json()["id"]
    assert upload.json()["status"] == "pending"
    assert upload.headers["location"] == f"/v1/documents/{document_id}"

    document, seen = wait_for_status(api, company_a, document_id)
    assert document["status"] == "ready", document
    stages = ("pending", "extracting", "chunking", "embedding", "indexing", "ready")
    assert seen == [s for s in stages if s in seen], seen
    assert document["title"] == "Manual del empleado"
    assert document["chunk_count"] >= 1

    answer = api.post("/v1/questions", headers=company_a.headers, json={"question": QUESTION})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["found"] is True
    assert "veintitrés días" in body["answer"]
    cited = [c for c in body["citations"] if c["document_id"] == document_id]
    assert cited, body
    assert cited[0]["title"] == "Manual del empleado"
    assert "veintitrés" in cited[0]["snippet"]
    assert 0 < cited[0]["score"] <= 1

    other = api.post("/v1/questions", headers=company_b.headers, json={"question": QUESTION})
    assert other.status_code == 200, other.text
    assert all(c["document_id"] != document_id for c in other.json()["citations"])
    assert "veintitrés" not in other.json()["answer"]

    assert_problem(api.get(f"/v1/documents/{document_id}", headers=company_b.headers), 404)
    listed_b = api.get("/v1/documents", headers=company_b.headers)
    assert listed_b.status_code == 200
    assert document_id not in [d["id"] for d in listed_b.json()["items"]]
    listed_a = api.get("/v1/documents", headers=company_a.headers)
    assert document_id in [d["id"] for d in listed_a.json()["items"]]

    login = api.post(
        "/v1/auth/login",
        json={"email": f" {company_a.email.upper()} ", "password": "correct horse battery"},
    )
    assert login.status_code == 200, login.text
    assert login.json()["token_type"] == "bearer"
    assert login.json()["expires_in"] > 0
    relisted = api.get(
        "/v1/documents", headers={"Authorization": f"Bearer {login.json()['access_token']}"}
    )
    assert document_id in [d["id"] for d in relisted.json()["items"]]


def test_an_unreadable_file_fails_with_a_reason(api: httpx.Client) -> None:
    account = signup(api, "Gamma Archivos")
    broken_pdf = b"%PDF-1.7\n" + bytes(range(256)) * 8
    upload = api.post(
        "/v1/documents",
        headers=account.headers,
        files={"file": ("informe.pdf", broken_pdf, "application/pdf")},
    )
    assert upload.status_code == 202, upload.text
    document, _ = wait_for_status(api, account, upload.json()["id"])
    assert document["status"] == "failed"
    assert document["failure_reason"]


def expired_token(stack: LocalStack, api: httpx.Client, account: Account) -> str:
    """A token signed with the platform's real key, exactly like a real one but expired."""
    kid = api.get("/.well-known/jwks.json").json()["keys"][0]["kid"]
    claims = jwt.decode(account.access_token, options={"verify_signature": False})
    past = datetime.now(UTC) - timedelta(hours=1)
    claims.update(iat=past - timedelta(minutes=15), exp=past)
    key = load_pem_private_key(stack.signing_key_file.read_bytes(), password=None)
    return jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": kid})  # type: ignore[arg-type]


def test_bad_input_is_a_4xx_problem(api: httpx.Client, stack: LocalStack) -> None:
    account = signup(api, "Delta Errores")
    headers = account.headers

    missing = assert_problem(api.get("/v1/documents"), 401)
    assert "Authorization" in missing["detail"]
    assert api.get("/v1/documents").headers["www-authenticate"] == "Bearer"
    assert_problem(api.get("/v1/documents", headers={"Authorization": "Bearer not.a.jwt"}), 401)
    assert_problem(api.get("/v1/documents", headers={"Authorization": "Basic abc"}), 401)
    tampered = account.access_token[:-4] + (
        "AAAA" if not account.access_token.endswith("AAAA") else "BBBB"
    )
    assert_problem(api.get("/v1/documents", headers={"Authorization": f"Bearer {tampered}"}), 401)
    expired = assert_problem(
        api.get(
            "/v1/documents",
            headers={"Authorization": f"Bearer {expired_token(stack, api, account)}"},
        ),
        401,
    )
    assert "expired" in expired["detail"]

    assert_problem(
        api.post("/v1/auth/login", json={"email": account.email, "password": "wrong password"}),
        401,
    )
    assert_problem(
        api.post(
            "/v1/auth/login", json={"email": "nobody@nowhere.example", "password": "whatever1"}
        ),
        401,
    )
    duplicate = api.post(
        "/v1/auth/signup",
        json={
            "company_name": "Otra",
            "email": account.email.upper(),
            "password": "another password",
            "first_name": "Luis",
            "last_name": "Pérez",
        },
    )
    assert_problem(duplicate, 409)
    assert_problem(
        api.post(
            "/v1/auth/signup",
            json={
                "company_name": "",
                "email": "bad",
                "password": "short",
                "first_name": "",
                "last_name": "",
            },
        ),
        422,
    )
    assert_problem(
        api.post(
            "/v1/auth/login", content=b"{not json", headers={"content-type": "application/json"}
        ),
        422,
    )

    empty = api.post(
        "/v1/documents", headers=headers, files={"file": ("empty.txt", b"", "text/plain")}
    )
    assert_problem(empty, 422)
    assert_problem(api.post("/v1/documents", headers=headers, data={"title": "no file"}), 422)
    assert_problem(api.get(f"/v1/documents/{uuid.uuid4()}", headers=headers), 404)
    assert_problem(api.get("/v1/documents/not-a-uuid", headers=headers), 422)
    assert_problem(api.get("/v1/documents?limit=0", headers=headers), 422)

    assert_problem(api.post("/v1/questions", headers=headers, json={"question": ""}), 422)
    assert_problem(api.post("/v1/questions", headers=headers, json={"question": "   "}), 422)
    assert_problem(api.post("/v1/questions", headers=headers, json={"question": "¿" * 2001}), 422)
    assert_problem(api.post("/v1/questions", headers=headers, json={}), 422)
    assert_problem(api.get("/v1/no-such-route", headers=headers), 404)
