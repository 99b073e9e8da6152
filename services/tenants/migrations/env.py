from common.db.alembic import run_env
from tenants.accounts import models  # noqa: F401  (registers the tables on the metadata)
from tenants.db import metadata

run_env(metadata)
