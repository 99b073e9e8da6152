"""Starts the broker, prepares the database, migrates, and runs the four services."""

import asyncio
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx

from devstack.broker import LocalBroker, free_port
from devstack.database import SERVICES_WITH_SCHEMA, database_urls, prepare_database
from devstack.keys import ensure_signing_key

SERVICES = ("tenants", "ingest", "query", "gateway")


@dataclass
class StackConfig:
    workdir: Path
    database: str
    admin_dsn: str = "postgresql://postgres@127.0.0.1:5432/postgres"
    db_host: str = "127.0.0.1"
    db_port: int = 5432
    ports: dict[str, int] = field(default_factory=dict)
    """Fixed ports by service name; a free one is chosen for any not named."""
    log_to_files: bool = False
    extra_env: dict[str, str] = field(default_factory=dict)
    """Environment for every service, over the stack's own (for example a shorter token TTL)."""


class ServiceFailed(RuntimeError):
    pass


class LocalStack:
    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.workdir = config.workdir.resolve()
        self.ports = {name: config.ports.get(name) or free_port() for name in SERVICES}
        self.broker = LocalBroker(
            log_file=self.workdir / "logs" / "broker.log" if config.log_to_files else None
        )
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self._logs: dict[str, IO[bytes]] = {}

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    @property
    def signing_key_file(self) -> Path:
        return self.workdir / "keys" / "token-signing.pem"

    def service_env(self, service: str) -> dict[str, str]:
        env = {
            **os.environ,
            "SERVICE_NAME": service,
            "HTTP_PORT": str(self.ports[service]),
            "KAFKA_BOOTSTRAP_SERVERS": self.broker.bootstrap_servers,
            "JWKS_URL": f"{self.url('tenants')}/internal/jwks.json",
            "BLOB_ROOT": str(self.workdir / "blobs"),
            "PYTHONUNBUFFERED": "1",
        }
        if service in SERVICES_WITH_SCHEMA:
            env.update(
                database_urls(
                    service, self.config.db_host, self.config.db_port, self.config.database
                )
            )
        if service == "tenants":
            env["TOKEN_SIGNING_KEY_FILE"] = str(self.signing_key_file)
        if service == "query":
            env["QDRANT_PATH"] = str(self.workdir / "qdrant")
        if service == "gateway":
            env["GATEWAY_PORT"] = str(self.ports["gateway"])
            for upstream in ("tenants", "ingest", "query"):
                env[f"{upstream.upper()}_URL"] = self.url(upstream)
        env.update(self.config.extra_env)
        return env

    def _output(self, name: str) -> IO[bytes] | None:
        if not self.config.log_to_files:
            return None
        path = self.workdir / "logs" / f"{name}.log"
        self._logs[name] = open(path, "ab")  # noqa: SIM115
        return self._logs[name]

    def log_tail(self, name: str, lines: int = 40) -> str:
        path = self.workdir / "logs" / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def start(self) -> None:
        (self.workdir / "logs").mkdir(parents=True, exist_ok=True)
        ensure_signing_key(self.signing_key_file)
        self.broker.start()
        asyncio.run(prepare_database(self.config.admin_dsn, self.config.database))
        for service in SERVICES_WITH_SCHEMA:
            self.migrate(service)
        for service in SERVICES:
            output = self._output(service)
            self.processes[service] = subprocess.Popen(
                [sys.executable, "-m", service, "serve"],
                env=self.service_env(service),
                stdout=output,
                stderr=subprocess.STDOUT if output else None,
                start_new_session=True,
            )
        for service in SERVICES:
            self.wait_healthy(service)

    def migrate(self, service: str) -> None:
        result = subprocess.run(
            [sys.executable, "-m", service, "migrate"],
            env=self.service_env(service),
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise ServiceFailed(f"{service} migrate failed:\n{result.stdout}\n{result.stderr}")

    def wait_healthy(self, service: str, timeout: float = 180.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            process = self.processes[service]
            if process.poll() is not None:
                raise ServiceFailed(
                    f"{service} exited with {process.returncode}\n{self.log_tail(service)}"
                )
            try:
                if httpx.get(f"{self.url(service)}/healthz", timeout=2.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise ServiceFailed(f"{service} not healthy after {timeout}s\n{self.log_tail(service)}")

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for name, process in self.processes.items():
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            log = self._logs.pop(name, None)
            if log:
                log.close()
        self.broker.stop()
