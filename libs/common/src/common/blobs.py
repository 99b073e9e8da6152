"""The blob store for uploaded files: a local directory here, Google Cloud Storage in production.

Keys are always under the company's prefix, so one company's key can never name another's file.
"""

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO
from uuid import UUID

import anyio


def document_prefix(company_id: UUID, document_id: UUID) -> str:
    return f"companies/{company_id}/documents/{document_id}"


class BlobTooLarge(Exception):
    pass


@dataclass(frozen=True)
class StoredBlob:
    key: str
    size_bytes: int
    sha256: str


class LocalBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        # The root itself is no key either: delete_prefix("") would wipe every company's files.
        if path == self.root or not path.is_relative_to(self.root):
            raise ValueError(f"blob key escapes the store: {key!r}")
        return path

    async def put_stream(
        self, key: str, chunks: AsyncIterator[bytes], *, max_bytes: int
    ) -> StoredBlob:
        """Streams to a temporary file, hashing as it goes, and moves it into place at the end:
        memory stays bounded and a half-written file is never visible under `key`."""
        path = self._path(key)
        await anyio.to_thread.run_sync(lambda: path.parent.mkdir(parents=True, exist_ok=True))
        digest = hashlib.sha256()
        size = 0
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as tmp:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > max_bytes:
                        raise BlobTooLarge(f"more than {max_bytes} bytes")
                    digest.update(chunk)
                    await anyio.to_thread.run_sync(tmp.write, chunk)
            await anyio.to_thread.run_sync(os.replace, tmp_name, path)
        except BaseException:
            await anyio.to_thread.run_sync(lambda: Path(tmp_name).unlink(missing_ok=True))
            raise
        return StoredBlob(key=key, size_bytes=size, sha256=digest.hexdigest())

    async def put_json(self, key: str, value: dict[str, Any]) -> None:
        path = self._path(key)

        def write() -> None:
            path.parent.mkdir(parents=True, exist_ok=True)
            # A temporary file of its own: two writers of one key never share one.
            fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".json-")
            try:
                with os.fdopen(fd, "w") as tmp:
                    tmp.write(json.dumps(value, default=str))
                os.replace(tmp_name, path)
            except BaseException:
                os.unlink(tmp_name)
                raise

        await anyio.to_thread.run_sync(write)

    async def get_json(self, key: str) -> dict[str, Any] | None:
        path = self._path(key)

        def read() -> dict[str, Any] | None:
            try:
                data: dict[str, Any] = json.loads(path.read_text())
            except FileNotFoundError:
                return None
            return data

        return await anyio.to_thread.run_sync(read)

    async def read_bytes(self, key: str) -> bytes:
        return await anyio.to_thread.run_sync(self._path(key).read_bytes)

    def open_read(self, key: str) -> BinaryIO:
        """The stored blob as a seekable stream, for reading a part of a large file without
        loading it. Blocking: call it in a worker thread, and close what it returns."""
        return self._path(key).open("rb")

    async def delete_prefix(self, prefix: str) -> None:
        path = self._path(prefix)
        await anyio.to_thread.run_sync(lambda: shutil.rmtree(path, ignore_errors=True))
