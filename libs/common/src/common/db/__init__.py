"""Async SQLAlchemy: the engine, the unit of work with its per-transaction tenant, migrations."""

from common.db.errors import violated_unique_constraint
from common.db.metadata import make_metadata
from common.db.pages import fetch_page
from common.db.session import Database, TenantScopeError

__all__ = [
    "Database",
    "TenantScopeError",
    "fetch_page",
    "make_metadata",
    "violated_unique_constraint",
]
