import hashlib
import os
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from uuid import uuid4

import anyio
import pytest

from common.blobs import BlobTooLarge, LocalBlobStore, document_prefix


async def stream(chunks: Iterable[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


def files_under(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*") if not p.is_dir())


@pytest.fixture
def store(tmp_path: Path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path / "blobs")


class TestPutStream:
    async def test_stores_the_bytes_with_their_size_and_hash(self, store: LocalBlobStore) -> None:
        chunks = [b"first chunk,", b"", b"second chunk,", b"x" * 100_000]
        data = b"".join(chunks)
        key = f"{document_prefix(uuid4(), uuid4())}/original"

        stored = await store.put_stream(key, stream(chunks), max_bytes=len(data))

        assert stored.key == key
        assert stored.size_bytes == len(data)
        assert stored.sha256 == hashlib.sha256(data).hexdigest()
        assert await store.read_bytes(key) == data
        assert files_under(store.root) == [store.root / key]

    async def test_over_the_limit_raises_and_leaves_no_file(self, store: LocalBlobStore) -> None:
        key = "companies/c/documents/d/original"

        with pytest.raises(BlobTooLarge):
            await store.put_stream(key, stream([b"a" * 10, b"b" * 10]), max_bytes=15)

        assert files_under(store.root) == []

    async def test_a_failing_stream_leaves_no_file(self, store: LocalBlobStore) -> None:
        async def broken() -> AsyncIterator[bytes]:
            yield b"partial"
            raise ConnectionResetError("client went away")

        with pytest.raises(ConnectionResetError):
            await store.put_stream("companies/c/documents/d/original", broken(), max_bytes=100)

        assert files_under(store.root) == []

    async def test_a_failed_overwrite_keeps_the_old_blob(self, store: LocalBlobStore) -> None:
        key = "companies/c/documents/d/original"
        await store.put_stream(key, stream([b"old"]), max_bytes=10)

        with pytest.raises(BlobTooLarge):
            await store.put_stream(key, stream([b"new" * 10]), max_bytes=10)

        assert await store.read_bytes(key) == b"old"
        assert files_under(store.root) == [store.root / key]

    @pytest.mark.parametrize("key", ["../outside", "companies/../../outside", "/etc/outside"])
    async def test_a_key_escaping_the_root_is_refused(
        self, store: LocalBlobStore, tmp_path: Path, key: str
    ) -> None:
        with pytest.raises(ValueError, match="escapes"):
            await store.put_stream(key, stream([b"data"]), max_bytes=100)

        assert files_under(tmp_path) == []


class TestJson:
    async def test_put_json_then_get_json_round_trips(self, store: LocalBlobStore) -> None:
        key = "companies/c/documents/d/meta.json"
        value = {"title": "Handbook", "pages": 3, "tags": ["hr", "leave"], "nested": {"a": None}}

        await store.put_json(key, value)

        assert await store.get_json(key) == value
        assert files_under(store.root) == [store.root / key]

    async def test_put_json_overwrites(self, store: LocalBlobStore) -> None:
        key = "companies/c/documents/d/meta.json"
        await store.put_json(key, {"version": 1})
        await store.put_json(key, {"version": 2})

        assert await store.get_json(key) == {"version": 2}

    async def test_concurrent_writers_of_one_key_leave_one_whole_value(
        self, store: LocalBlobStore
    ) -> None:
        key = "companies/c/manifest.json"
        async with anyio.create_task_group() as group:
            for n in range(40):
                group.start_soon(store.put_json, key, {"writer": n, "pad": "x" * 50_000})
        value = await store.get_json(key)
        assert value is not None
        assert value["writer"] in range(40)
        assert [p.name for p in (store.root / "companies/c").iterdir()] == ["manifest.json"]

    async def test_get_json_of_a_missing_key_is_none(self, store: LocalBlobStore) -> None:
        assert await store.get_json("companies/c/documents/missing/meta.json") is None

    async def test_get_json_refuses_a_key_escaping_the_root(self, store: LocalBlobStore) -> None:
        with pytest.raises(ValueError, match="escapes"):
            await store.get_json("../meta.json")


class TestOpenRead:
    async def test_reads_a_stored_blob_from_any_offset(self, store: LocalBlobStore) -> None:
        key = f"{document_prefix(uuid4(), uuid4())}/original"
        await store.put_stream(key, stream([b"head,", b"middle,", b"tail"]), max_bytes=100)

        with store.open_read(key) as blob:
            assert blob.read(5) == b"head,"
            blob.seek(-4, os.SEEK_END)
            assert blob.read() == b"tail"

    def test_a_missing_blob_is_not_found(self, store: LocalBlobStore) -> None:
        with pytest.raises(FileNotFoundError):
            store.open_read("companies/c/documents/missing/original")

    @pytest.mark.parametrize("key", ["", "../outside", "companies/../../outside", "/etc/passwd"])
    def test_a_key_escaping_the_root_is_refused(
        self, store: LocalBlobStore, tmp_path: Path, key: str
    ) -> None:
        (tmp_path / "outside").write_bytes(b"another company's file")

        with pytest.raises(ValueError, match="escapes"):
            store.open_read(key)


async def test_delete_prefix_removes_one_document_only(store: LocalBlobStore) -> None:
    company = uuid4()
    kept, deleted = document_prefix(company, uuid4()), document_prefix(company, uuid4())
    await store.put_json(f"{kept}/meta.json", {"keep": True})
    await store.put_json(f"{deleted}/meta.json", {"keep": False})

    await store.delete_prefix(deleted)

    assert await store.get_json(f"{deleted}/meta.json") is None
    assert await store.get_json(f"{kept}/meta.json") == {"keep": True}


@pytest.mark.parametrize("prefix", ["", ".", "companies/..", "./companies/../"])
async def test_delete_prefix_refuses_to_name_the_whole_store(
    store: LocalBlobStore, prefix: str
) -> None:
    key = f"{document_prefix(uuid4(), uuid4())}/meta.json"
    await store.put_json(key, {"keep": True})

    with pytest.raises(ValueError, match="escapes"):
        await store.delete_prefix(prefix)

    assert await store.get_json(key) == {"keep": True}
