import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID, uuid4

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse

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


# Refusals the query service may give when what the question named went away after the
# gateway looked (the assistant retired, say): the same answers the gateway's own check gives.
_REFUSALS = {
    "assistant-not-found": (404, "The assistant is not there (any more)."),
    "conversation-not-found": (404, "The conversation is not there."),
    "conversation-mismatch": (422, "That conversation belongs to another assistant."),
    "conversation-superseded": (
        409,
        "That conversation is resolved and its end user has opened another since; continue"
        " the open one (ask without conversation_id).",
    ),
}


def _failed(answered: QuestionAnsweredV1) -> Problem:
    if answered.error in _REFUSALS:
        status, detail = _REFUSALS[answered.error]
        return Problem(status, answered.error, detail, question_id=str(answered.question_id))
    return Problem(
        502,
        "answer-failed",
        "The answer could not be written; try again.",
        question_id=str(answered.question_id),
        reason=answered.error,
    )


def _answer_out(answered: QuestionAnsweredV1) -> AnswerOut:
    return AnswerOut(**answered.model_dump(exclude={"error"}))


def _answer_response(answered: QuestionAnsweredV1) -> JSONResponse:
    """200 with the bot's answer; 202 when a person holds the conversation and will reply."""
    return JSONResponse(
        _answer_out(answered).model_dump(mode="json"),
        status_code=200 if answered.answer is not None else 202,
    )


async def _check_named(gateway: Gateway, identity: Identity, body: QuestionIn) -> None:
    """404 for an assistant or conversation the caller cannot see (another company's, or an
    operador's unassigned one), before a message is taken; query checks again."""
    if body.assistant_id is not None:
        await gateway.query.call(
            "GET", f"/internal/assistants/{body.assistant_id}", token=identity.token
        )
    if body.conversation_id is not None:
        conversation = await gateway.query.call(
            "GET",
            f"/internal/conversations/{body.conversation_id}",
            token=identity.token,
            params={"messages": 0},
        )
        named = {
            "assistant_id": str(body.assistant_id) if body.assistant_id else None,
            "end_user_id": body.end_user_id,
            "channel": body.channel,
        }
        for name, value in named.items():
            if value is not None and str(conversation.get(name)) != value:
                raise Problem(
                    422,
                    "conversation-mismatch",
                    f"The conversation's {name} is not {value!r}; leave it out to continue it.",
                    field=name,
                )


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
        202: {
            "model": AnswerOut,
            "description": "A person holds the conversation: the message is in it, the bot"
            " stays silent (`answer` null) and the person replies",
        },
        404: {},
        422: {},
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
    `Accept: text/event-stream` to read the answer as it is written.

    Every question is a turn of a conversation: `conversation_id` continues one (a follow-up
    is read with the earlier turns), otherwise the end user's open conversation on the
    channel (with the assistant) is continued or a new one opened. `assistant_id` answers as
    that assistant, from its documents, with its instructions and hand-off rules."""
    require(identity, Permission.QUESTIONS_ASK)
    await _check_named(gateway, identity, body)
    reservation = await _take_message(gateway, identity)
    question_id = uuid4()
    event = QuestionAsked.new(
        identity.company_id,
        QuestionAskedV1(
            question_id=question_id,
            question=body.question,
            asked_by=identity.user_id,
            assistant_id=body.assistant_id,
            conversation_id=body.conversation_id,
            end_user_id=body.end_user_id,
            channel=body.channel or "api",
        ),
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
    return _answer_response(answered)


async def _answer_stream(
    gateway: Gateway, question_id: UUID, updates: "asyncio.Queue[AnswerUpdate]"
) -> AsyncIterator[str]:
    """`delta` events with the answer's text as it is written, then `answer` or `error`.

    The pieces are best effort and travel on their own topic, so one may come late (after
    the answer) or not at all. The deltas sent are always the answer's beginning, in order:
    a piece after a gap is not sent, and when the answer comes, the text the deltas have not
    carried yet goes out as one last delta. Joined, the deltas are the answer."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + gateway.settings.answer_timeout_seconds
    next_sequence = 0
    written: list[str] = []
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
                    return
                sent = "".join(written)
                if update.answer and update.answer.startswith(sent) and update.answer != sent:
                    rest = update.answer[len(sent) :]
                    yield _sse("delta", {"sequence": next_sequence, "text": rest})
                yield _sse("answer", _answer_out(update).model_dump(mode="json"))
                return
            if update.sequence != next_sequence:
                continue  # a repeat, or a piece after a lost one: the answer will carry it
            next_sequence += 1
            written.append(update.text)
            yield _sse("delta", {"sequence": update.sequence, "text": update.text})
        yield _sse("error", _timed_out(question_id).body())
    finally:
        gateway.answers.forget(question_id)
