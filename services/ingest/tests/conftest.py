from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from common.blobs import LocalBlobStore
from common.bus import create_broker
from common.db import Database
from common.embedding import Embedder
from common.service_app import Runtime
from devstack.signer import TEST_SIGNER
from ingest.documents.service import Pipeline
from ingest.main import create_app
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


@pytest.fixture
async def client(ingest_database: Database, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """Ingest's internal API on the test database, trusting tokens of devstack's TEST_SIGNER.
    The lifespan (broker, embedder) is not run: the routes need only the database."""
    settings = IngestSettings(blob_root=tmp_path)
    app = create_app(settings)
    app.state.runtime = Runtime(
        settings=settings,
        database=ingest_database,
        broker=create_broker(settings),
        verifier=TEST_SIGNER.verifier(settings),
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://ingest") as client:
        yield client
