import sys

from common.runner import run_service
from gateway.main import create_app
from gateway.settings import GatewaySettings


def main() -> None:
    settings = GatewaySettings()
    sys.exit(run_service(settings, lambda: create_app(settings), None))


if __name__ == "__main__":
    main()
