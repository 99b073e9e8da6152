"""`/healthz` for every process: 200 once its dependencies answer, 503 otherwise."""

from collections.abc import Awaitable, Callable

from fastapi import APIRouter
from fastapi.responses import JSONResponse

Check = Callable[[], Awaitable[bool]]


def health_router(checks: dict[str, Check]) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/healthz", include_in_schema=False)
    async def healthz() -> JSONResponse:
        results: dict[str, str] = {}
        for name, check in checks.items():
            try:
                results[name] = "ok" if await check() else "failing"
            except Exception as exc:
                results[name] = f"failing: {type(exc).__name__}"
        healthy = all(value == "ok" for value in results.values())
        return JSONResponse(
            {"status": "ok" if healthy else "failing", "checks": results},
            status_code=200 if healthy else 503,
        )

    return router
