"""Extraction in a process of its own, one per document.

Parsers of PDF, Office and image formats are large native libraries fed hostile input: a
file can make one take gigabytes, run for ever, or crash outright. In a child process with an
address-space cap and a deadline, any of that ends the child and fails the document with a
reason, while the consumer goes on with the next one.
"""

import multiprocessing
import multiprocessing.forkserver
import resource
import signal
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, TypeVar

import anyio

from ingest.extraction.errors import ExtractionError

T = TypeVar("T")

# Children fork from a server that has already imported the parsers (fast to start), and
# never from the consumer, whose threads and model must not be copied.
_CONTEXT = multiprocessing.get_context("forkserver")
_CONTEXT.set_forkserver_preload(["ingest.extraction"])

TOO_SLOW = (
    "Reading the file took longer than {seconds:g} seconds, so it was stopped. Split it into "
    "smaller files, or, for a scan, upload it at a lower resolution."
)
TOO_BIG = (
    "Reading the file needed more memory than a document may use, so it was stopped. It may "
    "hide a compression bomb; if it is genuine, split it into smaller files."
)
CRASHED = (
    "The file could not be read: it made the reader fail. It may be damaged; try saving it "
    "again (or exporting it to PDF) and upload that copy."
)


def start_server() -> None:
    """Starts the server children fork from, which imports the parsers: blocking, so call it
    in a worker thread at start-up, and the first document does not wait for it."""
    multiprocessing.forkserver.ensure_running()


class ExtractionCrashed(Exception):
    """The child failed with something other than an `ExtractionError`: a parser's bug."""


def _child(
    send: Connection, memory_bytes: int, function: Callable[..., Any], args: tuple[Any, ...]
) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    try:
        result: tuple[str, Any] = ("ok", function(*args))
    except ExtractionError as exc:
        result = ("refused", str(exc))
    except MemoryError:
        result = ("memory", None)
    except BaseException as exc:  # reported to the parent, which decides
        result = ("crashed", f"{type(exc).__name__}: {exc}")
    try:
        send.send(result)
    except MemoryError:
        send.send(("memory", None))
    finally:
        send.close()


async def run_isolated(
    function: Callable[..., T],
    *args: Any,
    memory_bytes: int,
    timeout_seconds: float,
) -> T:
    """`function(*args)` in a child process; `function` and its arguments must pickle.

    Raises ExtractionError with a reason a person can act on when the child runs out of
    memory or time or dies, or passes on the child's own ExtractionError; ExtractionCrashed
    when the function raised anything else.
    """
    receive, send = _CONTEXT.Pipe(duplex=False)
    process = _CONTEXT.Process(
        target=_child, args=(send, memory_bytes, function, args), daemon=True
    )
    await anyio.to_thread.run_sync(process.start)  # a round trip to the fork server
    send.close()  # the child's end: EOF here once the child is gone
    try:
        with anyio.fail_after(timeout_seconds):
            ready = False
            while not ready:  # short polls, so a cancelled consumer is not kept waiting
                ready = await anyio.to_thread.run_sync(receive.poll, 0.5)
        outcome, value = await anyio.to_thread.run_sync(receive.recv)
    except TimeoutError:
        raise ExtractionError(TOO_SLOW.format(seconds=timeout_seconds)) from None
    except EOFError:
        process.join(5)
        if process.exitcode == -signal.SIGKILL:  # the kernel's answer to memory exhaustion
            raise ExtractionError(TOO_BIG) from None
        raise ExtractionError(CRASHED) from None
    finally:
        receive.close()
        if process.is_alive():
            process.kill()
        await anyio.to_thread.run_sync(process.join)
    if outcome == "ok":
        result: T = value
        return result
    if outcome == "refused":
        raise ExtractionError(value)
    if outcome == "memory":
        raise ExtractionError(TOO_BIG)
    raise ExtractionCrashed(value)
