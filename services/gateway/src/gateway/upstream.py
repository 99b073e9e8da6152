"""Calls to the services' internal HTTP APIs. Their problem+json answers pass through as they
are; an unreachable or failing service becomes a 503 problem, never a 500."""

import logging
from collections.abc import Mapping
from typing import Any

import httpx

from common.problems import Problem

logger = logging.getLogger(__name__)


class Upstream:
    def __init__(self, name: str, base_url: str, timeout: float) -> None:
        self.name = name
        self.client = httpx.AsyncClient(base_url=base_url, timeout=timeout)

    async def call(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        json: Any = None,
        params: dict[str, Any] | None = None,
        origin: Mapping[str, str] | None = None,
    ) -> Any:
        """`origin`: the original request's client address, user agent and request id (see
        gateway.dependencies.CurrentOrigin), for the service's audit log."""
        headers = dict(origin or {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            response = await self.client.request(
                method, path, json=json, params=params, headers=headers
            )
        except httpx.HTTPError as exc:
            logger.warning("upstream unreachable", extra={"upstream": self.name, "error": str(exc)})
            raise self.unavailable() from exc
        if response.status_code >= 500:
            logger.warning(
                "upstream failed", extra={"upstream": self.name, "status": response.status_code}
            )
            raise self.unavailable()
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code >= 400:
            problem = Problem.from_body(response.status_code, body)
            if response.status_code == 401:
                problem.headers.setdefault("WWW-Authenticate", "Bearer")
            # When to try again (a quota's reset) is part of the answer, not only the body.
            if retry_after := response.headers.get("retry-after"):
                problem.headers["Retry-After"] = retry_after
            raise problem
        return body

    def unavailable(self) -> Problem:
        return Problem(
            503,
            "service-unavailable",
            f"The {self.name} service is not answering; try again shortly.",
            headers={"Retry-After": "5"},
        )

    async def close(self) -> None:
        await self.client.aclose()
