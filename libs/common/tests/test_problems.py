from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel, Field
from sqlalchemy.exc import OperationalError

from common.problems import PROBLEM_JSON, PROBLEM_TYPE_BASE, Problem, install_problem_handlers

SECRET = "connection string postgres://admin:hunter2@db"


class NewDocument(BaseModel):
    title: str = Field(min_length=1)
    pages: int


def problem_app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/documents/{document_id}")
    async def get_document(document_id: str) -> dict[str, str]:
        raise Problem(
            404,
            "document-not-found",
            f"No document {document_id} in this company.",
            headers={"X-Trace": "abc"},
            document_id=document_id,
        )

    @app.post("/documents")
    async def create_document(document: NewDocument, limit: int = 10) -> dict[str, str]:
        return {"title": document.title}

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError(SECRET)

    @app.get("/database-down")
    async def database_down() -> None:
        raise OperationalError("SELECT 1", {}, ConnectionRefusedError(SECRET))

    @app.get("/socket-down")
    async def socket_down() -> None:
        raise ConnectionRefusedError(SECRET)

    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=problem_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


def assert_problem(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body: dict[str, object] = response.json()
    assert body["status"] == status
    assert isinstance(body["type"], str)
    assert body["type"].startswith(PROBLEM_TYPE_BASE)
    assert isinstance(body["title"], str)
    assert body["title"]
    return body


class TestInstallProblemHandlers:
    async def test_a_raised_problem_renders_as_problem_json(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.get("/documents/d-1")

        body = assert_problem(response, 404)
        assert body == {
            "type": PROBLEM_TYPE_BASE + "document-not-found",
            "title": "Not Found",
            "status": 404,
            "detail": "No document d-1 in this company.",
            "instance": "/documents/d-1",
            "document_id": "d-1",
        }
        assert response.headers["x-trace"] == "abc"

    async def test_a_validation_error_is_422_listing_the_errors(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.post("/documents?limit=many", json={"title": ""})

        body = assert_problem(response, 422)
        assert body["type"] == PROBLEM_TYPE_BASE + "validation-error"
        assert body["instance"] == "/documents"
        errors = body["errors"]
        assert isinstance(errors, list)
        locations = {error["location"] for error in errors}
        assert locations == {"query.limit", "body.title", "body.pages"}
        assert all(error["message"] for error in errors)
        assert "body.pages" in str(body["detail"])

    async def test_a_body_that_is_not_json_is_422(self, client: httpx.AsyncClient) -> None:
        response = await client.post(
            "/documents", content=b"{nope", headers={"content-type": "application/json"}
        )

        assert_problem(response, 422)

    async def test_an_unknown_route_is_404_problem_json(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/no/such/route")

        body = assert_problem(response, 404)
        assert body["type"] == PROBLEM_TYPE_BASE + "not-found"
        assert body["instance"] == "/no/such/route"

    async def test_a_wrong_method_is_405_problem_json(self, client: httpx.AsyncClient) -> None:
        response = await client.delete("/documents")

        body = assert_problem(response, 405)
        assert body["type"] == PROBLEM_TYPE_BASE + "method-not-allowed"
        assert "allow" in response.headers

    async def test_an_unexpected_error_is_500_without_its_text(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.get("/boom")

        body = assert_problem(response, 500)
        assert body["type"] == PROBLEM_TYPE_BASE + "internal-error"
        assert "hunter2" not in response.text
        assert "RuntimeError" not in response.text

    @pytest.mark.parametrize("path", ["/database-down", "/socket-down"])
    async def test_an_unavailable_dependency_is_503_without_its_text(
        self, client: httpx.AsyncClient, path: str
    ) -> None:
        response = await client.get(path)

        body = assert_problem(response, 503)
        assert body["type"] == PROBLEM_TYPE_BASE + "dependency-unavailable"
        assert response.headers["retry-after"].isdigit()
        assert "hunter2" not in response.text


class TestProblem:
    def test_title_defaults_to_the_status_phrase(self) -> None:
        assert Problem(403, "forbidden", "No.").title == "Forbidden"

    def test_from_body_round_trips_a_body(self) -> None:
        original = Problem(
            409,
            "document-exists",
            "A document with this hash exists.",
            title="Duplicate document",
            document_id="d-1",
            errors=[{"location": "body.file", "message": "duplicate"}],
        )
        body = original.body("/v1/documents")

        rebuilt = Problem.from_body(409, body)

        assert rebuilt.code == "document-exists"
        assert rebuilt.title == "Duplicate document"
        assert rebuilt.detail == "A document with this hash exists."
        assert rebuilt.body("/v1/documents") == body
        assert "instance" not in rebuilt.body()

    @pytest.mark.parametrize("body", [None, "Bad Gateway", ["x"], {"detail": "no type"}])
    def test_from_body_of_something_else_is_an_upstream_error(self, body: object) -> None:
        problem = Problem.from_body(502, body)

        assert problem.status == 502
        assert problem.code == "upstream-error"
