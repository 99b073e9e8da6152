from common.db.alembic import run_env
from ingest.db import metadata
from ingest.documents import models  # noqa: F401  (registers the tables)

run_env(metadata)
