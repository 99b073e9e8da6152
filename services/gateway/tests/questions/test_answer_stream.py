"""The server-sent events of a streamed answer: pieces in order, then the answer or an error."""

import json
import uuid
from types import SimpleNamespace
from typing import Any, cast

from common.events import Citation, QuestionAnswerDeltaV1, QuestionAnsweredV1
from gateway.dependencies import Gateway
from gateway.questions.api import _answer_stream
from gateway.questions.waiter import AnswerWaiter
from gateway.settings import GatewaySettings


def stand_in(waiter: AnswerWaiter, timeout: float = 5.0) -> Gateway:
    # The stream needs only the waiter and the answer timeout.
    return cast(
        Gateway,
        SimpleNamespace(answers=waiter, settings=GatewaySettings(answer_timeout_seconds=timeout)),
    )


def delta(question_id: uuid.UUID, sequence: int, text: str) -> QuestionAnswerDeltaV1:
    return QuestionAnswerDeltaV1(question_id=question_id, sequence=sequence, text=text)


def parse(stream: list[str]) -> list[tuple[str, Any]]:
    events = []
    for message in stream:
        if message.startswith(":"):
            continue
        name, data = message.strip().split("\n")
        events.append((name.removeprefix("event: "), json.loads(data.removeprefix("data: "))))
    return events


async def read_stream(gateway: Gateway, question_id: uuid.UUID) -> list[tuple[str, Any]]:
    updates = gateway.answers._streams[question_id]
    return parse([message async for message in _answer_stream(gateway, question_id, updates)])


class TestAnswerStream:
    async def test_pieces_in_order_then_the_whole_answer(self) -> None:
        waiter = AnswerWaiter()
        question_id, other = uuid.uuid4(), uuid.uuid4()
        waiter.follow(question_id)
        waiter.add_delta(delta(question_id, 0, "Veintitrés "))
        waiter.add_delta(delta(other, 0, "not mine"))
        waiter.add_delta(delta(question_id, 1, "días."))
        waiter.add_delta(delta(question_id, 1, "días."))  # delivered twice
        citation = Citation(document_id=uuid.uuid4(), title="Manual", snippet="23", score=0.8)
        waiter.resolve(
            QuestionAnsweredV1(
                question_id=question_id,
                answer="Veintitrés días.",
                found=True,
                citations=[citation],
            )
        )

        events = await read_stream(stand_in(waiter), question_id)

        assert events == [
            ("delta", {"sequence": 0, "text": "Veintitrés "}),
            ("delta", {"sequence": 1, "text": "días."}),
            (
                "answer",
                {
                    "question_id": str(question_id),
                    "answer": "Veintitrés días.",
                    "found": True,
                    "citations": [citation.model_dump(mode="json")],
                    "needs_human": False,
                    "conversation_id": None,
                    "message_id": None,
                    "conversation_status": None,
                    "handoff_reason": None,
                },
            ),
        ]
        assert question_id not in waiter._streams  # the stream forgets its question at its end

    async def test_pieces_that_come_late_or_after_a_lost_one_are_carried_by_a_last_delta(
        self,
    ) -> None:
        # Pieces travel on their own topic, best effort: here piece 1 is lost and pieces 2
        # and 3 come anyway (one after the answer). The deltas stay the answer's beginning.
        waiter = AnswerWaiter()
        question_id = uuid.uuid4()
        waiter.follow(question_id)
        waiter.add_delta(delta(question_id, 0, "Los empleados "))
        waiter.add_delta(delta(question_id, 2, "veintitrés "))
        waiter.resolve(
            QuestionAnsweredV1(
                question_id=question_id,
                answer="Los empleados tienen veintitrés días.",
                found=True,
                citations=[],
            )
        )
        waiter.add_delta(delta(question_id, 3, "días."))

        events = await read_stream(stand_in(waiter), question_id)

        assert events[:-1] == [
            ("delta", {"sequence": 0, "text": "Los empleados "}),
            ("delta", {"sequence": 1, "text": "tienen veintitrés días."}),
        ]
        assert events[-1][0] == "answer"
        assert "".join(data["text"] for _, data in events[:-1]) == events[-1][1]["answer"]

    async def test_an_answer_the_provider_failed_ends_in_an_error_event(self) -> None:
        waiter = AnswerWaiter()
        question_id = uuid.uuid4()
        waiter.follow(question_id)
        waiter.add_delta(delta(question_id, 0, "Veinti"))
        waiter.resolve(
            QuestionAnsweredV1(
                question_id=question_id,
                answer="The answer could not be written right now.",
                found=False,
                citations=[],
                error="provider-failed",
            )
        )

        events = await read_stream(stand_in(waiter), question_id)

        assert [name for name, _ in events] == ["delta", "error"]
        problem = events[-1][1]
        assert problem["status"] == 502
        assert problem["type"].endswith("/answer-failed")
        assert problem["question_id"] == str(question_id)
        assert problem["reason"] == "provider-failed"

    async def test_no_answer_in_time_ends_in_a_timeout_event(self) -> None:
        waiter = AnswerWaiter()
        question_id = uuid.uuid4()
        waiter.follow(question_id)

        events = await read_stream(stand_in(waiter, timeout=0.2), question_id)

        [(name, problem)] = events
        assert name == "error"
        assert problem["status"] == 504
        assert problem["type"].endswith("/answer-timeout")

    async def test_a_waiting_json_request_still_gets_its_answer(self) -> None:
        waiter = AnswerWaiter()
        question_id = uuid.uuid4()
        future = waiter.expect(question_id)
        waiter.add_delta(delta(question_id, 0, "ignored"))
        waiter.resolve(
            QuestionAnsweredV1(question_id=question_id, answer="sí", found=True, citations=[])
        )

        assert future.result().answer == "sí"
