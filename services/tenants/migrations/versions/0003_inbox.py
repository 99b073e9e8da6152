"""The inbox of the tenants service's consumers (storage given back for documents).

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

from alembic import op

from common.db.migrations import create_inbox_table

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_inbox_table("tenants")


def downgrade() -> None:
    op.execute("DROP TABLE tenants.inbox")
