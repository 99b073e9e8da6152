import io
from pathlib import Path
from types import SimpleNamespace
from typing import cast
from uuid import uuid4

import pytest
from fastapi import UploadFile

from common.blobs import LocalBlobStore, document_prefix
from common.formats import UNSUPPORTED_FORMAT
from common.problems import Problem
from gateway.dependencies import Gateway
from gateway.documents.service import _store, clean_filename
from gateway.settings import GatewaySettings

_LIMIT = 1000


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("manual.md", "manual.md"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\ana\\informe final.txt", "informe final.txt"),
        ("a<b>|c.md", "a_b_c.md"),
        ("", "upload"),
        (None, "upload"),
    ],
)
def test_clean_filename_keeps_only_a_safe_base_name(given: str | None, kept: str) -> None:
    assert clean_filename(given) == kept


def upload_file(data: bytes) -> UploadFile:
    return UploadFile(io.BytesIO(data), filename="upload")


def files_under(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*") if not p.is_dir())


@pytest.fixture
def gateway(tmp_path: Path) -> Gateway:
    # _store needs only the settings and the blob store; nothing else is reached.
    stand_in = SimpleNamespace(
        settings=GatewaySettings(max_upload_bytes=_LIMIT), blobs=LocalBlobStore(tmp_path)
    )
    return cast(Gateway, stand_in)


class TestStore:
    async def test_a_supported_file_is_kept(self, gateway: Gateway) -> None:
        data = b"# Vacaciones\n\nTreinta d\xc3\xadas al a\xc3\xb1o.\n"
        prefix = document_prefix(uuid4(), uuid4())

        stored = await _store(gateway, prefix, upload_file(data))

        assert stored.size_bytes == len(data)
        assert await gateway.blobs.read_bytes(stored.key) == data

    @pytest.mark.parametrize(
        ("data", "status", "code"),
        [
            (b"", 422, "empty-file"),
            (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504), 415, "unsupported-format"),
            (b"# Demasiado largo\n" * 1000, 413, "file-too-large"),
        ],
    )
    async def test_a_refused_file_leaves_nothing_behind(
        self, gateway: Gateway, data: bytes, status: int, code: str
    ) -> None:
        with pytest.raises(Problem) as refused:
            await _store(gateway, document_prefix(uuid4(), uuid4()), upload_file(data))

        assert (refused.value.status, refused.value.code) == (status, code)
        if code == "unsupported-format":
            assert refused.value.detail == UNSUPPORTED_FORMAT
        assert files_under(gateway.blobs.root) == []
