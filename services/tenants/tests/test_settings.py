from pathlib import Path

import pytest

from tenants.__main__ import MIGRATIONS_DIR
from tenants.settings import TenantsSettings


class TestTenantsSettings:
    def test_defaults_run_the_local_stack_as_the_app_role(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        for name in TenantsSettings.model_fields:
            monkeypatch.delenv(name.upper(), raising=False)

        settings = TenantsSettings()

        assert settings.service_name == "tenants"
        assert settings.http_port == 8001
        assert "//tenants_app@" in settings.database_url
        assert "//tenants_owner@" in settings.migration_database_url
        assert settings.token_signing_key_file == Path(".dev/keys/token-signing.pem")
        assert settings.access_token_ttl_seconds == 900

    def test_reads_the_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("TOKEN_SIGNING_KEY_FILE", "/run/secrets/signing.pem")
        monkeypatch.setenv("ACCESS_TOKEN_TTL_SECONDS", "60")
        monkeypatch.setenv("TOKEN_ISSUER", "elsewhere")

        settings = TenantsSettings()

        assert settings.token_signing_key_file == Path("/run/secrets/signing.pem")
        assert settings.access_token_ttl_seconds == 60
        assert settings.token_issuer == "elsewhere"


def test_the_command_line_finds_the_migrations() -> None:
    assert (MIGRATIONS_DIR / "env.py").is_file()
    assert list((MIGRATIONS_DIR / "versions").glob("0001_*.py"))
