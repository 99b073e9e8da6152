from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from common.blobs import LocalBlobStore
from common.db import Database
from common.embedding import Embedder
from ingest.documents.service import Pipeline
from ingest.settings import IngestSettings


@pytest.fixture(scope="session")
async def ingest_database(migrated_database: dict[str, dict[str, str]]) -> AsyncIterator[Database]:
    database = Database(migrated_database["ingest"]["DATABASE_URL"])
    yield database
    await database.dispose()


@pytest.fixture
def pipeline(ingest_database: Database, embedder: Embedder, tmp_path: Path) -> Pipeline:
    settings = IngestSettings(
        blob_root=tmp_path, chunk_max_tokens=40, chunk_overlap_tokens=8, chunks_per_event=2
    )
    return Pipeline(
        database=ingest_database,
        blobs=LocalBlobStore(tmp_path),
        embedder=embedder,
        settings=settings,
    )
