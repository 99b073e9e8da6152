import asyncio
import uuid

from common.events import QuestionAnsweredV1
from gateway.questions.waiter import AnswerWaiter


def answer(question_id: uuid.UUID) -> QuestionAnsweredV1:
    return QuestionAnsweredV1(question_id=question_id, answer="sí", found=True, citations=[])


async def test_an_answer_wakes_only_its_own_question() -> None:
    waiter = AnswerWaiter()
    mine, other = uuid.uuid4(), uuid.uuid4()
    future = waiter.expect(mine)
    waiter.resolve(answer(other))
    assert not future.done()
    waiter.resolve(answer(mine))
    assert (await asyncio.wait_for(future, 1)).question_id == mine


async def test_a_forgotten_question_ignores_a_late_answer() -> None:
    waiter = AnswerWaiter()
    question_id = uuid.uuid4()
    future = waiter.expect(question_id)
    waiter.forget(question_id)
    waiter.resolve(answer(question_id))
    assert not future.done()
