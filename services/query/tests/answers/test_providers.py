"""The OpenAI-compatible provider against a real local server that speaks OpenAI's wire format."""

import logging
import re
import time
import uuid
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from devstack.broker import free_port
from devstack.openai_server import FakeOpenAI
from query.answers.providers import AnswerDraft, OpenAIProvider, ProviderFailed
from query.index.store import RetrievedChunk

KEY = "sk-test-5f0c1e2d"
QUESTION = "¿Cuántos días de vacaciones tenemos?"
PASSAGES = [
    RetrievedChunk(
        document_id=uuid.uuid4(),
        title="Manual del empleado",
        chunk_index=0,
        text="Los empleados tienen veintitrés días laborables de vacaciones al año.",
        score=0.71,
        page=2,
        section="Vacaciones",
    )
]


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


def provider(base_url: str, *, timeout: float = 5.0) -> OpenAIProvider:
    return OpenAIProvider(
        base_url=base_url, api_key=SecretStr(KEY), model="gpt-local", timeout_seconds=timeout
    )


async def read(draft: AnswerDraft) -> list[str]:
    return [piece async for piece in draft.pieces]


class TestOpenAIProvider:
    async def test_streams_the_pieces_the_server_sends(self, server: FakeOpenAI) -> None:
        server.pieces = ["Veintitrés ", "días ", "laborables."]
        openai = provider(server.base_url)

        draft = openai.write(QUESTION, PASSAGES)
        pieces = await read(draft)
        await openai.close()

        assert pieces == ["Veintitrés ", "días ", "laborables."]
        assert draft.metadata.model == "gpt-local"
        assert (draft.metadata.prompt_tokens, draft.metadata.completion_tokens) == (100, 3)
        assert [s.passage for s in draft.metadata.support] == PASSAGES
        [request] = server.requests
        assert request.path == "/v1/chat/completions"
        assert request.headers["authorization"] == f"Bearer {KEY}"
        assert request.body["model"] == "gpt-local"
        assert request.body["stream"] is True
        system, user = request.body["messages"]
        assert system["role"] == "system"
        assert "never instructions" in system["content"]
        assert (
            '<passage id="1" title="Manual del empleado" page="2" section="Vacaciones">\n'
            f"{PASSAGES[0].text}\n</passage>"
        ) in user["content"]
        assert QUESTION in user["content"]

    async def test_no_key_sends_no_authorization(self, server: FakeOpenAI) -> None:
        openai = OpenAIProvider(server.base_url, SecretStr(""), "llama", timeout_seconds=5)

        assert await read(openai.write(QUESTION, PASSAGES)) == server.pieces
        await openai.close()
        assert "authorization" not in server.requests[0].headers

    @pytest.mark.parametrize(
        ("status", "failure", "reason"),
        [
            (500, None, "HTTP 500: The server had an error"),
            (401, None, "HTTP 401"),
            (None, "garbage", "malformed stream"),
            (None, "cut", "ended before [DONE]"),
        ],
    )
    async def test_a_failing_server_is_a_clear_failure(
        self, server: FakeOpenAI, status: int | None, failure: str | None, reason: str
    ) -> None:
        server.status = status
        server.failure = failure  # type: ignore[assignment]
        openai = provider(server.base_url)

        with pytest.raises(ProviderFailed, match=re.escape(reason)):
            await read(openai.write(QUESTION, PASSAGES))
        await openai.close()

    async def test_a_server_that_stops_talking_times_out(self, server: FakeOpenAI) -> None:
        server.failure = "hang"
        openai = provider(server.base_url, timeout=0.5)
        started = time.monotonic()

        with pytest.raises(ProviderFailed, match=r"no answer within 0\.5s"):
            await read(openai.write(QUESTION, PASSAGES))
        await openai.close()
        assert time.monotonic() - started < 5

    async def test_a_server_that_is_not_there_is_a_clear_failure(self) -> None:
        openai = provider(f"http://127.0.0.1:{free_port()}/v1")

        with pytest.raises(ProviderFailed, match="could not reach the provider"):
            await read(openai.write(QUESTION, PASSAGES))
        await openai.close()

    async def test_the_key_never_reaches_the_error(
        self, server: FakeOpenAI, caplog: pytest.LogCaptureFixture
    ) -> None:
        openai = provider(server.base_url)
        echoed = f'{{"error": {{"message": "Incorrect API key provided: {KEY}."}}}}'

        caplog.set_level(logging.DEBUG)
        detail = openai._error_detail(echoed)
        server.status = 401
        with pytest.raises(ProviderFailed) as failed:
            await read(openai.write(QUESTION, PASSAGES))
        await openai.close()

        assert detail == "Incorrect API key provided: ***."
        assert KEY not in str(failed.value)
        assert KEY not in caplog.text
