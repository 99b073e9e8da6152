from common.db.alembic import downgrade, upgrade
from devstack.pytest_plugin import forced_rls_tables, migrations_dir, service_database_urls


def test_downgrade_to_base_and_upgrade_again(scratch_database: str) -> None:
    owner_url = service_database_urls("tenants", scratch_database)["MIGRATION_DATABASE_URL"]
    expected = {
        table: True
        for table in (
            "companies",
            "users",
            "outbox",
            "invitations",
            "refresh_tokens",
            "api_keys",
            "audit_logs",
            "operators",
        )
    }

    upgrade(migrations_dir("tenants"), owner_url)
    assert forced_rls_tables(scratch_database, "tenants") == expected

    downgrade(migrations_dir("tenants"), owner_url, "base")
    assert forced_rls_tables(scratch_database, "tenants") == {}

    upgrade(migrations_dir("tenants"), owner_url)
    assert forced_rls_tables(scratch_database, "tenants") == expected
