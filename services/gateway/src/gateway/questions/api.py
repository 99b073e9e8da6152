import asyncio
import logging
from uuid import uuid4

from fastapi import APIRouter

from common.bus import publish_event
from common.contracts.questions import AnswerOut, QuestionIn
from common.events import QuestionAsked, QuestionAskedV1
from common.problems import Problem
from gateway.dependencies import CurrentGateway, CurrentIdentity

router = APIRouter(prefix="/v1/questions", tags=["questions"])
logger = logging.getLogger(__name__)


@router.post("")
async def ask_question(
    body: QuestionIn, identity: CurrentIdentity, gateway: CurrentGateway
) -> AnswerOut:
    """Answers from the caller's company's documents only, citing the passages used."""
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
            raise Problem(503, "bus-unavailable", "The question could not be queued.") from exc
        try:
            answered = await asyncio.wait_for(answer, gateway.settings.answer_timeout_seconds)
        except TimeoutError as exc:
            raise Problem(
                504,
                "answer-timeout",
                "No answer came in time; try again.",
                question_id=str(question_id),
            ) from exc
    finally:
        gateway.answers.forget(question_id)
    return AnswerOut(**answered.model_dump())
