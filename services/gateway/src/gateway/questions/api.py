import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID, uuid4

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from common.auth import Identity, Permission, require
from common.bus import publish_event
from common.contracts.questions import AnswerOut, QuestionIn
from common.events import QuestionAnsweredV1, QuestionAsked, QuestionAskedV1
from common.problems import Problem
from gateway.dependencies import CurrentGateway, CurrentIdentity, Gateway
from gateway.questions.waiter import AnswerUpdate

router = APIRouter(prefix="/v1/questions", tags=["questions"])
logger = logging.getLogger(__name__)

EVENT_STREAM = "text/event-stream"
HEARTBEAT_SECONDS = 15.0


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


def _wants_stream(request: Request) -> bool:
    return EVENT_STREAM in request.headers.get("accept", "").lower()


async def _send(
    gateway: Gateway, identity: Identity, reservation: Any, event: QuestionAsked
) -> None:
    try:
        await publish_event(gateway.broker, event)
    except Exception as exc:
        logger.exception("could not publish question.asked")
        await _give_back_message(gateway, identity, reservation)
        raise Problem(503, "bus-unavailable", "The question could not be queued.") from exc


def _timed_out(question_id: UUID) -> Problem:
    # Sent, so counted: the answer may still come, and query did the work.
    return Problem(
        504, "answer-timeout", "No answer came in time; try again.", question_id=str(question_id)
    )


def _failed(answered: QuestionAnsweredV1) -> Problem:
    return Problem(
        502,
        "answer-failed",
        "The answer could not be written; try again.",
        question_id=str(answered.question_id),
        reason=answered.error,
    )


def _answer_out(answered: QuestionAnsweredV1) -> AnswerOut:
    return AnswerOut(**answered.model_dump(exclude={"error"}))


def _sse(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


@router.post(
    "",
    response_model=AnswerOut,
    responses={
        200: {
            "content": {EVENT_STREAM: {}},
            "description": "The answer; with `Accept: text/event-stream`, server-sent events:"
            " `delta` pieces, then `answer` (this JSON) or `error` (problem details)",
        },
        429: {},
        502: {},
        503: {},
        504: {},
    },
)
async def ask_question(
    body: QuestionIn, identity: CurrentIdentity, gateway: CurrentGateway, request: Request
) -> Any:
    """Answers from the caller's company's documents only, citing the passages used. Each
    question counts against the plan's monthly messages (429 once they are used). Ask with
    `Accept: text/event-stream` to read the answer as it is written."""
    require(identity, Permission.QUESTIONS_ASK)
    reservation = await _take_message(gateway, identity)
    question_id = uuid4()
    event = QuestionAsked.new(
        identity.company_id,
        QuestionAskedV1(question_id=question_id, question=body.question, asked_by=identity.user_id),
    )
    if _wants_stream(request):
        updates = gateway.answers.follow(question_id)
        try:
            await _send(gateway, identity, reservation, event)
        except Problem:
            gateway.answers.forget(question_id)
            raise
        return StreamingResponse(
            _answer_stream(gateway, question_id, updates),
            media_type=EVENT_STREAM,
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    answer = gateway.answers.expect(question_id)
    try:
        await _send(gateway, identity, reservation, event)
        try:
            answered = await asyncio.wait_for(answer, gateway.settings.answer_timeout_seconds)
        except TimeoutError as exc:
            raise _timed_out(question_id) from exc
    finally:
        gateway.answers.forget(question_id)
    if answered.error:
        raise _failed(answered)
    return _answer_out(answered)


async def _answer_stream(
    gateway: Gateway, question_id: UUID, updates: "asyncio.Queue[AnswerUpdate]"
) -> AsyncIterator[str]:
    """`delta` events with the answer's text as it is written, then `answer` or `error`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + gateway.settings.answer_timeout_seconds
    next_sequence = 0
    try:
        while (remaining := deadline - loop.time()) > 0:
            try:
                update = await asyncio.wait_for(updates.get(), min(remaining, HEARTBEAT_SECONDS))
            except TimeoutError:
                yield ": keep-alive\n\n"
                continue
            if isinstance(update, QuestionAnsweredV1):
                if update.error:
                    yield _sse("error", _failed(update).body())
                else:
                    yield _sse("answer", _answer_out(update).model_dump(mode="json"))
                return
            if update.sequence < next_sequence:
                continue  # a piece delivered again (the question was answered again)
            next_sequence = update.sequence + 1
            yield _sse("delta", {"sequence": update.sequence, "text": update.text})
        yield _sse("error", _timed_out(question_id).body())
    finally:
        gateway.answers.forget(question_id)
