"""A local OpenAI-compatible chat-completions server for tests: a real HTTP server in a thread
that streams `/v1/chat/completions` as OpenAI does (server-sent `chat.completion.chunk`s over
chunked HTTP/1.1, then `data: [DONE]`), records every request, and fails on demand."""

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

Failure = Literal["hang", "garbage", "cut"]


@dataclass(frozen=True)
class RecordedRequest:
    path: str
    headers: dict[str, str]
    """Lower-cased names."""
    body: Any


@dataclass
class FakeOpenAI:
    pieces: list[str] = field(default_factory=lambda: ["Veintitrés ", "días ", "al año."])
    status: int | None = None
    """Answer every request with this HTTP error and OpenAI's JSON error body."""
    failure: Failure | None = None
    """hang: one piece, then nothing; garbage: a data line that is not JSON; cut: no [DONE]."""
    piece_delay: float = 0.0
    requests: list[RecordedRequest] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = field(default=None, init=False, repr=False)
    _release: threading.Event = field(default_factory=threading.Event, init=False, repr=False)

    @property
    def base_url(self) -> str:
        assert self._server is not None, "not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def start(self) -> "FakeOpenAI":
        server = _Server(("127.0.0.1", 0), _Handler)
        server.fake = self
        self._server = server
        threading.Thread(target=server.serve_forever, name="fake-openai", daemon=True).start()
        return self

    def stop(self) -> None:
        self._release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "FakeOpenAI":
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def chunks(self, body: Any) -> Iterator[str]:
        """The `data:` payloads of one streamed completion, as OpenAI sends them."""
        model = body.get("model", "") if isinstance(body, dict) else ""
        base = {
            "id": "chatcmpl-local",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
            "system_fingerprint": "fp_local",
        }

        def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> str:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
            return json.dumps({**base, "choices": [choice]})

        yield chunk({"role": "assistant", "content": "", "refusal": None})
        for n, piece in enumerate(self.pieces):
            if self.failure == "garbage" and n == 1:
                yield '{"choices": [{"delta": {"content": "unterminated'
            yield chunk({"content": piece})
            if self.failure == "hang":
                self._release.wait(60)
                return
        if self.failure == "cut":
            return
        yield chunk({}, "stop")
        options = body.get("stream_options") if isinstance(body, dict) else None
        if isinstance(options, dict) and options.get("include_usage"):
            words = sum(len(piece.split()) for piece in self.pieces)
            usage = {"prompt_tokens": 100, "completion_tokens": words, "total_tokens": 100 + words}
            yield json.dumps({**base, "choices": [], "usage": usage})
        yield "[DONE]"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeOpenAI

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (a timeout under test) is expected here, not an error."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests read `requests` instead."""

    def _json(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def do_POST(self) -> None:
        fake = self.server.fake
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            body: Any = json.loads(raw)
        except ValueError:
            body = None
        headers = {name.lower(): value for name, value in self.headers.items()}
        fake.requests.append(RecordedRequest(self.path, headers, body))
        if self.path != "/v1/chat/completions":
            self._json(404, {"error": {"message": "Unknown path", "type": "invalid_request_error"}})
            return
        if fake.status is not None:
            error = {
                "message": "The server had an error while processing your request.",
                "type": "server_error",
                "param": None,
                "code": None,
            }
            self._json(fake.status, {"error": error})
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for data in fake.chunks(body):
            self._write_chunk(f"data: {data}\n\n".encode())
            if fake.piece_delay:
                time.sleep(fake.piece_delay)
        self._write_chunk(b"")
