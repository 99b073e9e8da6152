"""Who writes an answer from the retrieved passages: the interface, and its two providers.

`extractive` quotes the documents offline; `openai` asks any OpenAI-compatible
chat-completions endpoint (OpenAI, Gemini's compatible endpoint, vLLM, Ollama), streamed.
Citations never come from a model's output: they are the passages the answer was given.
"""

import json
import logging
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx
from pydantic import SecretStr

from common.embedding import Embedder
from query.answers import extractive
from query.answers.prompts import ConversationTurn, build_messages
from query.index.store import RetrievedChunk
from query.settings import QuerySettings

logger = logging.getLogger(__name__)

SSE_DATA = "data:"
SSE_DONE = "[DONE]"
ERROR_DETAIL_CHARS = 200


class ProviderFailed(Exception):
    """The provider could not write the answer: an HTTP error, a timeout, a malformed stream."""


@dataclass(frozen=True)
class Support:
    """A passage the answer rests on, and the text quoted from it (the snippet centres on it)."""

    passage: RetrievedChunk
    quote: str = ""


@dataclass
class AnswerMetadata:
    """What a provider tells about its answer; complete once the pieces are all read."""

    provider: str
    model: str
    found: bool = True
    """False when the provider found nothing in the passages to answer with."""
    support: list[Support] = field(default_factory=list)
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


@dataclass
class AnswerDraft:
    """An answer being written: `pieces` yields its text in order."""

    pieces: AsyncIterator[str]
    metadata: AnswerMetadata


class AnswerProvider(Protocol):
    name: str
    reads_turns: bool
    """Whether it reads the conversation's earlier turns; one that does not is given the
    follow-up question rewritten with them instead."""

    def write(
        self,
        question: str,
        passages: Sequence[RetrievedChunk],
        *,
        turns: Sequence[ConversationTurn] = (),
        instructions: str | None = None,
    ) -> AnswerDraft:
        """Starts an answer from `passages` only; `turns` are the conversation so far and
        `instructions` an assistant's own system prompt. Reading the pieces raises
        ProviderFailed when the provider cannot finish."""
        ...


@dataclass
class ExtractiveProvider:
    """The best-supported sentences of the passages, quoted as they are, in one piece."""

    embedder: Embedder
    max_sentences: int
    min_score: float
    name: str = "extractive"
    reads_turns: bool = False

    def write(
        self,
        question: str,
        passages: Sequence[RetrievedChunk],
        *,
        turns: Sequence[ConversationTurn] = (),
        instructions: str | None = None,
    ) -> AnswerDraft:
        metadata = AnswerMetadata(provider=self.name, model=self.embedder.model_name)

        async def pieces() -> AsyncIterator[str]:
            sentences = extractive.split_sentences(list(passages))
            composed = None
            if sentences:
                vectors = await self.embedder.embed_async([question, *(s.text for s in sentences)])
                composed = extractive.compose(
                    vectors[0],
                    sentences,
                    vectors[1:],
                    max_sentences=self.max_sentences,
                    min_score=self.min_score,
                )
            if composed is None:
                metadata.found = False
                return
            metadata.support = [Support(s.chunk, s.text) for s, _ in composed.sentences]
            yield composed.text

        return AnswerDraft(pieces(), metadata)


@dataclass
class OpenAIProvider:
    """`POST {base_url}/chat/completions` with `stream: true`, read as server-sent events."""

    base_url: str
    api_key: SecretStr
    model: str
    timeout_seconds: float
    name: str = "openai"
    reads_turns: bool = True
    _client: httpx.AsyncClient | None = field(default=None, init=False, repr=False)

    @property
    def url(self) -> str:
        return self.base_url.rstrip("/") + "/chat/completions"

    def _http(self) -> httpx.AsyncClient:
        # One client for the process: connections (and TLS sessions) are reused.
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=httpx.Timeout(self.timeout_seconds))
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def write(
        self,
        question: str,
        passages: Sequence[RetrievedChunk],
        *,
        turns: Sequence[ConversationTurn] = (),
        instructions: str | None = None,
    ) -> AnswerDraft:
        metadata = AnswerMetadata(
            provider=self.name, model=self.model, support=[Support(p) for p in passages]
        )
        body = {
            "model": self.model,
            "messages": build_messages(question, passages, turns=turns, instructions=instructions),
            "stream": True,
            "stream_options": {"include_usage": True},
            "temperature": 0,
        }
        headers = {"Accept": "text/event-stream"}
        if key := self.api_key.get_secret_value():
            headers["Authorization"] = f"Bearer {key}"

        async def pieces() -> AsyncIterator[str]:
            try:
                async for piece in self._stream(body, headers, metadata):
                    yield piece
            except httpx.TimeoutException as exc:
                raise ProviderFailed(f"no answer within {self.timeout_seconds:g}s") from exc
            except (httpx.HTTPError, httpx.InvalidURL) as exc:
                raise ProviderFailed(f"could not reach the provider: {type(exc).__name__}") from exc

        return AnswerDraft(pieces(), metadata)

    async def _stream(
        self, body: dict[str, Any], headers: dict[str, str], metadata: AnswerMetadata
    ) -> AsyncIterator[str]:
        # httpx's timeout bounds each wait for bytes; this bounds a stream that trickles forever.
        deadline = time.monotonic() + self.timeout_seconds
        wrote = False
        async with self._http().stream("POST", self.url, json=body, headers=headers) as response:
            if response.status_code >= 400:
                await response.aread()
                raise ProviderFailed(
                    f"HTTP {response.status_code}: {self._error_detail(response.text)}"
                )
            async for line in response.aiter_lines():
                if time.monotonic() > deadline:
                    raise ProviderFailed(f"no answer within {self.timeout_seconds:g}s")
                if not line.startswith(SSE_DATA):
                    continue  # blank separators, comments (": keep-alive"), other fields
                data = line[len(SSE_DATA) :].strip()
                if data == SSE_DONE:
                    if not wrote:
                        raise ProviderFailed("the provider's answer was empty")
                    return
                for piece in self._pieces_of(data, metadata):
                    wrote = True
                    yield piece
        raise ProviderFailed("the stream ended before [DONE]")

    def _pieces_of(self, data: str, metadata: AnswerMetadata) -> list[str]:
        try:
            chunk = json.loads(data)
        except ValueError as exc:
            raise ProviderFailed(f"malformed stream: not JSON: {data[:80]!r}") from exc
        if not isinstance(chunk, dict):
            raise ProviderFailed("malformed stream: a chunk is not a JSON object")
        if chunk.get("error"):  # some servers report a failure inside the stream
            raise ProviderFailed(f"error in stream: {self._error_detail(json.dumps(chunk))}")
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            metadata.prompt_tokens = usage.get("prompt_tokens")
            metadata.completion_tokens = usage.get("completion_tokens")
        choices = chunk.get("choices")
        if choices is None and isinstance(usage, dict):
            return []  # the closing usage chunk, from servers that leave out its empty choices
        if not isinstance(choices, list):
            raise ProviderFailed("malformed stream: a chunk has no choices")
        pieces = []
        for choice in choices:
            delta = choice.get("delta") if isinstance(choice, dict) else None
            content = delta.get("content") if isinstance(delta, dict) else None
            if isinstance(content, str) and content:
                pieces.append(content)
        return pieces

    def _error_detail(self, text: str) -> str:
        """The provider's own words, short, and never with the key in them."""
        try:
            message = json.loads(text)["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = text
        detail = str(message)[:ERROR_DETAIL_CHARS]
        key = self.api_key.get_secret_value()
        return detail.replace(key, "***") if key else detail


def provider_from_settings(settings: QuerySettings, embedder: Embedder) -> AnswerProvider:
    if settings.answer_provider == "openai":
        return OpenAIProvider(
            base_url=settings.openai_base_url,
            api_key=settings.openai_api_key,
            model=settings.openai_model,
            timeout_seconds=settings.openai_timeout_seconds,
        )
    return ExtractiveProvider(
        embedder, max_sentences=settings.answer_sentences, min_score=settings.min_relevance
    )
