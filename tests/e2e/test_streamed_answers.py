"""Answers written by an OpenAI-compatible model and streamed to the client as server-sent
events, end to end: the stack runs with `ANSWER_PROVIDER=openai` against a local server that
speaks OpenAI's wire format, and the gateway relays the pieces, then the cited answer."""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from devstack.client import Account, signup, upload, wait_for_status
from devstack.openai_server import FakeOpenAI
from devstack.pytest_plugin import ADMIN_DSN, fresh_database
from devstack.stack import LocalStack, StackConfig

pytestmark = pytest.mark.e2e

OPENAI_KEY = "sk-e2e-streamed"
POLICY_MD = """# Manual del empleado de Acme

## Vacaciones

Los empleados de Acme tienen derecho a veintitrés días laborables de vacaciones pagadas al año.
""".encode()
QUESTION = "¿Cuántos días de vacaciones pagadas tienen los empleados de Acme?"
PIECES = ["Los empleados ", "tienen ", "veintitrés ", "días ", "laborables."]


@pytest.fixture(scope="module")
def model_server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(pieces=PIECES, piece_delay=0.05) as server:
        yield server


@pytest.fixture(scope="module")
def streamed_api(
    model_server: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[httpx.Client]:
    """A stack of its own: the session's answers extractively, this one through the model."""
    workdir: Path = tmp_path_factory.mktemp("streamed-stack")
    with fresh_database("kp_test_streamed") as database:
        stack = LocalStack(
            StackConfig(
                workdir=workdir,
                database=database,
                admin_dsn=ADMIN_DSN,
                log_to_files=True,
                extra_env={
                    "LOG_LEVEL": "INFO",
                    "ANSWER_TIMEOUT_SECONDS": "60",
                    "ANSWER_PROVIDER": "openai",
                    "OPENAI_BASE_URL": model_server.base_url,
                    "OPENAI_API_KEY": OPENAI_KEY,
                    "OPENAI_MODEL": "gpt-e2e",
                    "OPENAI_TIMEOUT_SECONDS": "10",
                },
            )
        )
        try:
            stack.start()
            with httpx.Client(base_url=stack.url("gateway"), timeout=90.0) as client:
                yield client
        finally:
            stack.stop()
            print(f"service logs: {workdir / 'logs'}")


@pytest.fixture(scope="module")
def account(streamed_api: httpx.Client) -> tuple[Account, str]:
    """A company with its manual indexed."""
    owner = signup(streamed_api, "Acme Streaming")
    uploaded = upload(streamed_api, owner, "manual.md", POLICY_MD, "text/markdown", title="Manual")
    assert uploaded.status_code == 202, uploaded.text
    document, _ = wait_for_status(streamed_api, owner, uploaded.json()["id"])
    assert document["status"] == "ready", document
    return owner, document["id"]


def read_events(api: httpx.Client, owner: Account, question: str) -> list[tuple[str, Any]]:
    events = []
    headers = {**owner.headers, "Accept": "text/event-stream"}
    with api.stream("POST", "/v1/questions", headers=headers, json={"question": question}) as sse:
        assert sse.status_code == 200, sse.read()
        assert sse.headers["content-type"].startswith("text/event-stream")
        name = None
        for line in sse.iter_lines():
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: "):
                events.append((name, json.loads(line.removeprefix("data: "))))
    return events


def test_the_answer_streams_in_pieces_then_arrives_whole_with_citations(
    streamed_api: httpx.Client, account: tuple[Account, str], model_server: FakeOpenAI
) -> None:
    owner, document_id = account
    model_server.requests.clear()

    events = read_events(streamed_api, owner, QUESTION)

    names = [name for name, _ in events]
    # Pieces are best effort: on a busy machine the last ones may come after the answer,
    # and the gateway then sends what they would have carried as one last delta.
    assert names[-1] == "answer", events
    assert set(names[:-1]) == {"delta"}, events
    assert 2 <= len(names) - 1 <= len(PIECES), events
    deltas = [data for _, data in events[:-1]]
    assert deltas[0]["text"] == PIECES[0]
    assert [data["sequence"] for data in deltas] == list(range(len(deltas)))
    answer = events[-1][1]
    assert "".join(data["text"] for data in deltas) == answer["answer"] == "".join(PIECES)
    assert answer["found"] is True
    assert answer["needs_human"] is False
    [cited] = [c for c in answer["citations"] if c["document_id"] == document_id]
    assert cited["title"] == "Manual"
    assert "veintitrés" in cited["snippet"]
    [request] = model_server.requests
    assert request.headers["authorization"] == f"Bearer {OPENAI_KEY}"
    assert request.body["model"] == "gpt-e2e"
    assert "veintitrés días laborables" in request.body["messages"][-1]["content"]


def test_the_json_answer_still_works(
    streamed_api: httpx.Client, account: tuple[Account, str]
) -> None:
    owner, document_id = account

    response = streamed_api.post(
        "/v1/questions", headers=owner.headers, json={"question": QUESTION}
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["answer"] == "".join(PIECES)
    assert document_id in [c["document_id"] for c in body["citations"]]


def test_a_failing_model_ends_the_stream_with_an_error_event(
    streamed_api: httpx.Client, account: tuple[Account, str], model_server: FakeOpenAI
) -> None:
    owner, _ = account
    model_server.status = 500
    try:
        events = read_events(streamed_api, owner, QUESTION)
        refused = streamed_api.post(
            "/v1/questions", headers=owner.headers, json={"question": QUESTION}
        )
    finally:
        model_server.status = None

    [(name, problem)] = events
    assert name == "error"
    assert problem["status"] == 502
    assert problem["type"].endswith("/answer-failed")
    assert refused.status_code == 502
    assert refused.json()["type"].endswith("/answer-failed")


def test_a_question_the_documents_cannot_answer_is_not_sent_to_the_model(
    streamed_api: httpx.Client, model_server: FakeOpenAI
) -> None:
    stranger = signup(streamed_api, "Sin Documentos")
    model_server.requests.clear()

    events = read_events(streamed_api, stranger, QUESTION)

    # No piece was written; the fallback comes as one delta, so joined they are the answer.
    [(first, delta), (last, answer)] = events
    assert (first, last) == ("delta", "answer")
    assert delta == {"sequence": 0, "text": answer["answer"]}
    assert answer["found"] is False
    assert answer["needs_human"] is True
    assert answer["citations"] == []
    assert model_server.requests == []
