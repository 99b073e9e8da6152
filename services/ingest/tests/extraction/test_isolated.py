"""Extraction's child process: whatever a file makes a parser do, the consumer survives it
and the document fails with a reason. The misbehaviour is played by standard functions (the
child must be able to import what it runs)."""

import os
import time

import pytest

from ingest.extraction import ExtractionError, ExtractionLimits, extract_document
from ingest.extraction.isolated import ExtractionCrashed, run_isolated

GIB = 1024 * 1024 * 1024
LIMITS = {"memory_bytes": 2 * GIB, "timeout_seconds": 60.0}


async def test_the_result_comes_back_from_the_child() -> None:
    raw = "# Título\n\nLas vacaciones se piden con antelación.".encode()
    extracted = await run_isolated(extract_document, raw, ExtractionLimits(), **LIMITS)
    assert extracted == extract_document(raw, ExtractionLimits())


async def test_the_child_s_own_refusal_keeps_its_reason() -> None:
    with pytest.raises(ExtractionError, match="empty"):
        await run_isolated(extract_document, b"", ExtractionLimits(), **LIMITS)


async def test_a_file_that_takes_too_much_memory_fails_the_document() -> None:
    with pytest.raises(ExtractionError, match="more memory"):
        await run_isolated(bytearray, 3 * GIB, memory_bytes=GIB, timeout_seconds=60.0)


async def test_a_file_that_takes_too_long_is_stopped() -> None:
    started = time.monotonic()
    with pytest.raises(ExtractionError, match="longer than 1 seconds"):
        await run_isolated(time.sleep, 120, memory_bytes=GIB, timeout_seconds=1.0)
    assert time.monotonic() - started < 20


async def test_a_reader_that_dies_fails_the_document() -> None:
    with pytest.raises(ExtractionError, match="made the reader fail"):
        await run_isolated(os.abort, memory_bytes=GIB, timeout_seconds=60.0)


async def test_a_reader_s_bug_is_reported_as_a_crash() -> None:
    with pytest.raises(ExtractionCrashed, match="ValueError"):
        await run_isolated(int, "not a number", memory_bytes=GIB, timeout_seconds=60.0)


async def test_after_a_failure_the_next_document_is_read() -> None:
    with pytest.raises(ExtractionError):
        await run_isolated(os.abort, memory_bytes=GIB, timeout_seconds=60.0)
    assert await run_isolated(len, b"abc", memory_bytes=GIB, timeout_seconds=60.0) == 3
