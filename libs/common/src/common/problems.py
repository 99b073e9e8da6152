"""RFC 9457 problem details: every error an API returns has this shape."""

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE_BASE = "https://docs.knowledge-platform.dev/problems/"

logger = logging.getLogger(__name__)


class Problem(Exception):
    """An error the caller can act on; rendered as problem+json with `status`."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        title: str | None = None,
        headers: Mapping[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.title = title or HTTPStatus(status).phrase
        self.detail = detail
        self.headers = dict(headers or {})
        self.extensions = extensions

    def body(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": PROBLEM_TYPE_BASE + self.code,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        body.update(self.extensions)
        return body

    @classmethod
    def from_body(cls, status: int, body: Any) -> "Problem":
        """Rebuilds a problem another service answered with, so it can be passed on."""
        if isinstance(body, dict) and isinstance(body.get("type"), str):
            code = body["type"].removeprefix(PROBLEM_TYPE_BASE)
            extra = {
                k: v for k, v in body.items() if k not in {"type", "title", "status", "detail"}
            }
            extra.pop("instance", None)
            return cls(status, code, str(body.get("detail", "")), title=body.get("title"), **extra)
        return cls(status, "upstream-error", "An internal service answered unexpectedly.")


def problem_response(problem: Problem, instance: str | None = None) -> JSONResponse:
    return JSONResponse(
        problem.body(instance),
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers=problem.headers,
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Routes every error, including framework ones, through problem+json."""

    async def on_problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Problem)
        return problem_response(exc, request.url.path)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = [
            {
                "location": ".".join(str(p) for p in err.get("loc", ())),
                "message": err.get("msg", ""),
            }
            for err in exc.errors()
        ]
        detail = "; ".join(f"{e['location']}: {e['message']}" for e in errors)
        problem = Problem(422, "validation-error", detail or "Invalid request.", errors=errors)
        return problem_response(problem, request.url.path)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = HTTPStatus(exc.status_code).phrase.lower().replace(" ", "-")
        problem = Problem(exc.status_code, code, str(exc.detail), headers=exc.headers)
        return problem_response(problem, request.url.path)

    async def on_dependency_down(request: Request, exc: Exception) -> JSONResponse:
        logger.warning(
            "a dependency is unavailable", extra={"path": request.url.path, "error": repr(exc)}
        )
        problem = Problem(
            503,
            "dependency-unavailable",
            "A service this request needs is unavailable; try again shortly.",
            headers={"Retry-After": "5"},
        )
        return problem_response(problem, request.url.path)

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error", extra={"path": request.url.path})
        problem = Problem(500, "internal-error", "Something went wrong on our side.")
        return problem_response(problem, request.url.path)

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    for unavailable in (OperationalError, InterfaceError, OSError):
        app.add_exception_handler(unavailable, on_dependency_down)
    app.add_exception_handler(Exception, on_unexpected)
