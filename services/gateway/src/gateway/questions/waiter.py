"""Waiting for `question.answered` events: the synchronous face of an asynchronous answer.

Every gateway replica reads every answer and wakes the request waiting for it, if that
request is its own.
"""

import asyncio
from uuid import UUID

from faststream.kafka import KafkaBroker

from common.bus import subscribe_fanout
from common.events import QuestionAnswered, QuestionAnsweredV1


class AnswerWaiter:
    def __init__(self) -> None:
        self._pending: dict[UUID, asyncio.Future[QuestionAnsweredV1]] = {}

    def register(self, broker: KafkaBroker) -> None:
        def on_answer(event: QuestionAnswered) -> None:
            """Wakes the request waiting for this answer."""
            self.resolve(event.payload)

        subscribe_fanout(
            broker,
            topic=QuestionAnswered.topic,
            event_type=QuestionAnswered,
            handler=on_answer,
            title=f"{QuestionAnswered.topic}:gateway-replica",
        )

    def expect(self, question_id: UUID) -> asyncio.Future[QuestionAnsweredV1]:
        """Call before publishing the question, so a fast answer is not missed."""
        future: asyncio.Future[QuestionAnsweredV1] = asyncio.get_running_loop().create_future()
        self._pending[question_id] = future
        return future

    def forget(self, question_id: UUID) -> None:
        self._pending.pop(question_id, None)

    def resolve(self, answer: QuestionAnsweredV1) -> None:
        future = self._pending.pop(answer.question_id, None)
        if future is not None and not future.done():
            future.set_result(answer)
