import sys
from pathlib import Path

from common.runner import run_service
from query.main import create_app
from query.settings import QuerySettings

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


def main() -> None:
    settings = QuerySettings()
    sys.exit(run_service(settings, lambda: create_app(settings), MIGRATIONS_DIR))


if __name__ == "__main__":
    main()
