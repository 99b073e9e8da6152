from common.db.alembic import run_env
from query.assistants import models as assistant_models  # noqa: F401  (registers the tables)
from query.conversations import models as conversation_models  # noqa: F401
from query.db import metadata
from query.index import models as index_models  # noqa: F401

run_env(metadata)
