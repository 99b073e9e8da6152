"""Waiting for `question.answered` events: the synchronous face of an asynchronous answer.

Every gateway replica reads every answer, and every piece of an answer being written
(`question.answer_delta`), and hands them to the request waiting for them, if that request
is its own.
"""

import asyncio
from uuid import UUID

from faststream.kafka import KafkaBroker

from common.bus import subscribe_fanout
from common.events import (
    QuestionAnswerDelta,
    QuestionAnswerDeltaV1,
    QuestionAnswered,
    QuestionAnsweredV1,
)

AnswerUpdate = QuestionAnswerDeltaV1 | QuestionAnsweredV1


class AnswerWaiter:
    def __init__(self) -> None:
        self._pending: dict[UUID, asyncio.Future[QuestionAnsweredV1]] = {}
        # Unbounded, but never long: one answer's pieces, then its end.
        self._streams: dict[UUID, asyncio.Queue[AnswerUpdate]] = {}

    def register(self, broker: KafkaBroker) -> None:
        def on_answer(event: QuestionAnswered) -> None:
            """Wakes the request waiting for this answer."""
            self.resolve(event.payload)

        def on_delta(event: QuestionAnswerDelta) -> None:
            """Passes a piece of an answer being written to the request streaming it."""
            self.add_delta(event.payload)

        subscribe_fanout(
            broker,
            topic=QuestionAnswered.topic,
            event_type=QuestionAnswered,
            handler=on_answer,
            title=f"{QuestionAnswered.topic}:gateway-replica",
        )
        subscribe_fanout(
            broker,
            topic=QuestionAnswerDelta.topic,
            event_type=QuestionAnswerDelta,
            handler=on_delta,
            title=f"{QuestionAnswerDelta.topic}:gateway-replica",
        )

    def expect(self, question_id: UUID) -> asyncio.Future[QuestionAnsweredV1]:
        """Call before publishing the question, so a fast answer is not missed."""
        future: asyncio.Future[QuestionAnsweredV1] = asyncio.get_running_loop().create_future()
        self._pending[question_id] = future
        return future

    def follow(self, question_id: UUID) -> asyncio.Queue[AnswerUpdate]:
        """The answer's pieces as they come, then the answer; call before publishing too."""
        queue: asyncio.Queue[AnswerUpdate] = asyncio.Queue()
        self._streams[question_id] = queue
        return queue

    def forget(self, question_id: UUID) -> None:
        self._pending.pop(question_id, None)
        self._streams.pop(question_id, None)

    def resolve(self, answer: QuestionAnsweredV1) -> None:
        future = self._pending.pop(answer.question_id, None)
        if future is not None and not future.done():
            future.set_result(answer)
        queue = self._streams.get(answer.question_id)
        if queue is not None:
            queue.put_nowait(answer)

    def add_delta(self, delta: QuestionAnswerDeltaV1) -> None:
        queue = self._streams.get(delta.question_id)
        if queue is not None:
            queue.put_nowait(delta)
