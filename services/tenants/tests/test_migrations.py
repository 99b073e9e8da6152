import uuid

from common.db.alembic import downgrade, upgrade
from devstack.pytest_plugin import forced_rls_tables, migrations_dir, run_sql, service_database_urls


def test_downgrade_to_base_and_upgrade_again(scratch_database: str) -> None:
    owner_url = service_database_urls("tenants", scratch_database)["MIGRATION_DATABASE_URL"]
    expected = {
        table: True
        for table in (
            "companies",
            "users",
            "outbox",
            "inbox",
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


def test_companies_and_people_are_carried_forward_and_back(scratch_database: str) -> None:
    owner_url = service_database_urls("tenants", scratch_database)["MIGRATION_DATABASE_URL"]
    upgrade(migrations_dir("tenants"), owner_url, "0001")
    company, user = uuid.uuid4(), uuid.uuid4()
    run_sql(
        scratch_database,
        "INSERT INTO tenants.companies (id, name, slug) VALUES ($1, 'Old Co', $2)",
        company,
        f"old-co-{company.hex[:8]}",
    )
    run_sql(
        scratch_database,
        "INSERT INTO tenants.users (id, company_id, email, password_hash, first_name, last_name)"
        " VALUES ($1, $2, 'boss@old.example', 'x', 'Old', 'Boss')",
        user,
        company,
    )

    upgrade(migrations_dir("tenants"), owner_url)
    [row] = run_sql(
        scratch_database,
        "SELECT plan, monthly_message_limit, user_limit, storage_mb_limit, messages_used"
        " FROM tenants.companies",
    )
    assert dict(row) == {
        "plan": "free",
        "monthly_message_limit": 500,
        "user_limit": 2,
        "storage_mb_limit": 0,
        "messages_used": 0,
    }
    [person] = run_sql(scratch_database, "SELECT role, failed_login_attempts FROM tenants.users")
    assert (person["role"], person["failed_login_attempts"]) == ("owner", 0)

    downgrade(migrations_dir("tenants"), owner_url, "0001")
    [kept] = run_sql(scratch_database, "SELECT id FROM tenants.users")
    assert kept["id"] == user
