from common.db.alembic import run_env
from tenants import models  # noqa: F401  (registers every table on the metadata)
from tenants.db import metadata

run_env(metadata)
