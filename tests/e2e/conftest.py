"""Starts the whole system as it runs for real: the broker and the four services as four
processes, on free ports, against the session's test database."""

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from devstack.pytest_plugin import ADMIN_DSN, fresh_database
from devstack.stack import LocalStack, StackConfig


@pytest.fixture(scope="session")
def stack_database() -> Iterator[str]:
    """A database of the stack's own: its outbox relays would otherwise drain the outboxes
    that the in-process service tests of the same run read."""
    with fresh_database("kp_test_stack") as name:
        yield name


@pytest.fixture(scope="session")
def stack(stack_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    workdir: Path = tmp_path_factory.mktemp("stack")
    stack = LocalStack(
        StackConfig(
            workdir=workdir,
            database=stack_database,
            admin_dsn=ADMIN_DSN,
            log_to_files=True,
            extra_env={"LOG_LEVEL": "INFO", "ANSWER_TIMEOUT_SECONDS": "60"},
        )
    )
    try:
        stack.start()
    except Exception:
        stack.stop()
        raise
    yield stack
    stack.stop()
    # Left in the pytest temp dir for a failed run's post-mortem.
    print(f"service logs: {workdir / 'logs'}")


@pytest.fixture(scope="session")
def api(stack: LocalStack) -> Iterator[httpx.Client]:
    """The gateway, as a client application sees it."""
    with httpx.Client(base_url=stack.url("gateway"), timeout=90.0) as client:
        yield client


@pytest.fixture(scope="session")
def operator(stack: LocalStack, api: httpx.Client) -> dict[str, str]:
    """A platform operator's headers: made with the real CLI, signed in through the gateway."""
    email = f"ops-{uuid.uuid4().hex[:8]}@platform.example"
    password = "operator password 1"
    created = subprocess.run(
        [sys.executable, "-m", "tenants", "operators", "create", "--email", email],
        env={**os.environ, **stack.service_env("tenants"), "OPERATOR_PASSWORD": password},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert created.returncode == 0, created.stderr
    login = api.post("/v1/admin/auth/login", json={"email": email, "password": password})
    assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['access_token']}"}
