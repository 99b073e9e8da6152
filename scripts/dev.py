"""`make dev`: the whole system on this machine, until Ctrl-C."""

import os
import signal
import sys
import time
from pathlib import Path

from devstack.stack import LocalStack, ServiceFailed, StackConfig

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    config = StackConfig(
        workdir=ROOT / ".dev",
        database=os.environ.get("DEV_DATABASE", "knowledge"),
        admin_dsn=os.environ.get(
            "DEV_ADMIN_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
        ports={
            "gateway": int(os.environ.get("GATEWAY_PORT", "8000")),
            "tenants": int(os.environ.get("TENANTS_PORT", "8001")),
            "ingest": int(os.environ.get("INGEST_PORT", "8002")),
            "query": int(os.environ.get("QUERY_PORT", "8003")),
        },
    )
    stack = LocalStack(config)
    stopping = False

    def on_signal(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        stack.start()
        print(f"\nThe knowledge platform is up: {stack.url('gateway')}", flush=True)
        print(f"API docs: {stack.url('gateway')}/docs   (Ctrl-C stops everything)\n", flush=True)
        while not stopping:
            for name, process in stack.processes.items():
                if process.poll() is not None:
                    print(f"{name} exited with {process.returncode}; stopping", file=sys.stderr)
                    stopping = True
            time.sleep(0.5)
        return 0
    except ServiceFailed as exc:
        print(f"could not start: {exc}", file=sys.stderr)
        return 1
    finally:
        print("stopping…", flush=True)
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
