import sys
from functools import partial
from pathlib import Path

from common.runner import run_service
from tenants.main import create_app
from tenants.operators import cli as operators_cli
from tenants.settings import TenantsSettings

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


def main() -> None:
    # `python -m tenants operators ...` manages platform operators; no argument runs the service.
    if sys.argv[1:2] == ["operators"]:
        sys.exit(operators_cli.main(sys.argv[2:]))
    settings = TenantsSettings()
    sys.exit(run_service(settings, partial(create_app, settings), MIGRATIONS_DIR))


if __name__ == "__main__":
    main()
