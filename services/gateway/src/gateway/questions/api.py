import asyncio
import logging
from typing import Any
from uuid import uuid4

from fastapi import APIRouter

from common.auth import Identity, Permission, require
from common.bus import publish_event
from common.contracts.questions import AnswerOut, QuestionIn
from common.events import QuestionAsked, QuestionAskedV1
from common.problems import Problem
from gateway.dependencies import CurrentGateway, CurrentIdentity, Gateway

router = APIRouter(prefix="/v1/questions", tags=["questions"])
logger = logging.getLogger(__name__)


async def _take_message(gateway: Gateway, identity: Identity) -> Any:
    """One of this month's messages, taken before the question is sent; once they are all
    used, tenants' 429 (with Retry-After) is the answer, passed on as it is."""
    return await gateway.tenants.call("POST", "/internal/usage/messages", token=identity.token)


async def _give_back_message(gateway: Gateway, identity: Identity, reservation: Any) -> None:
    """A question that was never sent costs no message. Best effort: the caller is already
    being told the question failed, and a message lost here is one of thousands."""
    try:
        await gateway.tenants.call(
            "POST",
            "/internal/usage/messages/release",
            token=identity.token,
            json={"period_start": reservation["period_start"]},
        )
    except Problem as problem:
        logger.warning("could not give back a message", extra={"code": problem.code})


@router.post("")
async def ask_question(
    body: QuestionIn, identity: CurrentIdentity, gateway: CurrentGateway
) -> AnswerOut:
    """Answers from the caller's company's documents only, citing the passages used. Each
    question counts against the plan's monthly messages (429 once they are used)."""
    require(identity, Permission.QUESTIONS_ASK)
    reservation = await _take_message(gateway, identity)
    question_id = uuid4()
    event = QuestionAsked.new(
        identity.company_id,
        QuestionAskedV1(question_id=question_id, question=body.question, asked_by=identity.user_id),
    )
    answer = gateway.answers.expect(question_id)
    try:
        try:
            await publish_event(gateway.broker, event)
        except Exception as exc:
            logger.exception("could not publish question.asked")
            await _give_back_message(gateway, identity, reservation)
            raise Problem(503, "bus-unavailable", "The question could not be queued.") from exc
        try:
            answered = await asyncio.wait_for(answer, gateway.settings.answer_timeout_seconds)
        except TimeoutError as exc:
            # Sent, so counted: the answer may still come, and query did the work.
            raise Problem(
                504,
                "answer-timeout",
                "No answer came in time; try again.",
                question_id=str(question_id),
            ) from exc
    finally:
        gateway.answers.forget(question_id)
    return AnswerOut(**answered.model_dump())
