"""`subscribe` on the real broker: retry, dead-letter, commit after processing.

Every test consumes in a consumer group of its own, from the topic's beginning, so it also
meets what earlier tests left on the shared topic: handlers act only on the test's own event
ids. Messages that must be seen in order share a key, hence a partition.
"""

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from uuid import UUID, uuid4

import pytest
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from faststream.kafka import KafkaBroker

from common.bus import (
    PermanentFailure,
    RetryPolicy,
    create_broker,
    dead_letter_topic,
    publish_event,
    subscribe,
)
from common.events import (
    QuestionAnswered,
    QuestionAnsweredV1,
    QuestionAsked,
    QuestionAskedV1,
    encode_event,
)
from common.settings import ServiceSettings

TOPIC = QuestionAsked.topic
DLT = dead_letter_topic(TOPIC)
FAST_RETRY = RetryPolicy(delays=(0.05, 0.05))
ATTEMPTS = len(FAST_RETRY.delays) + 1
# Joining a consumer group on the local broker takes seconds: wait generously.
WAIT = 60.0

Handler = Callable[[QuestionAsked], Awaitable[None]]


def question_asked(conversation_id: UUID | None = None) -> QuestionAsked:
    """Events of one conversation share its key, so they keep their order on one partition."""
    return QuestionAsked.new(
        uuid4(),
        QuestionAskedV1(
            question_id=uuid4(),
            question="Who approves leave?",
            asked_by=uuid4(),
            conversation_id=conversation_id or uuid4(),
        ),
    )


class Recorder:
    """The handler of one test: records its own events, ignores what other tests left."""

    def __init__(self, *events: QuestionAsked) -> None:
        self.mine = {event.id for event in events}
        self.calls: list[UUID] = []
        self.behaviour: dict[UUID, Callable[[int], None]] = {}

    def on(self, event: QuestionAsked, behaviour: Callable[[int], None]) -> None:
        """`behaviour(n)` runs on the n-th call for `event` (from 1); it may raise."""
        self.mine.add(event.id)
        self.behaviour[event.id] = behaviour

    async def __call__(self, event: QuestionAsked) -> None:
        if event.id not in self.mine:
            return
        self.calls.append(event.id)
        if event.id in self.behaviour:
            self.behaviour[event.id](self.calls.count(event.id))

    def count(self, event: QuestionAsked) -> int:
        return self.calls.count(event.id)


class _Hang(Exception):
    pass


def _hanging(recorder: Recorder) -> Handler:
    """The recorder's handler, which hangs (until cancelled) where the recorder raises _Hang."""

    async def handler(event: QuestionAsked) -> None:
        try:
            await recorder(event)
        except _Hang:
            await asyncio.Event().wait()

    return handler


@pytest.fixture
def group_id() -> str:
    return f"common-tests-{uuid4()}"


@pytest.fixture
async def start_consumer(
    bus_settings: ServiceSettings, bus_topics: tuple[str, ...]
) -> AsyncIterator[Callable[[str, Handler], Awaitable[KafkaBroker]]]:
    """Starts a broker with one subscriber; every broker started is stopped afterwards."""
    running: list[KafkaBroker] = []

    async def start(group_id: str, handler: Handler) -> KafkaBroker:
        broker = create_broker(bus_settings)
        subscribe(
            broker,
            topic=TOPIC,
            group_id=group_id,
            event_type=QuestionAsked,
            handler=handler,
            retry=FAST_RETRY,
        )
        await broker.start()
        running.append(broker)
        return broker

    yield start
    for broker in running:
        if broker.running:
            await broker.stop()


def dead_letter_of(
    group_id: str, body: bytes, topic_reader: Any
) -> Callable[[ConsumerRecord[Any, Any]], bool]:
    """This group's dead letter of this message: other groups and tests dead-letter too."""

    def match(record: ConsumerRecord[Any, Any]) -> bool:
        group = topic_reader.headers(record).get("dlt-consumer-group")
        return bool(group == group_id and record.value == body)

    return match


async def end_offsets(settings: ServiceSettings) -> dict[int, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers)
    await consumer.start()
    try:
        await consumer.topics()
        partitions = [
            TopicPartition(TOPIC, partition)
            for partition in consumer.partitions_for_topic(TOPIC) or ()
        ]
        ends = await consumer.end_offsets(partitions)
        return {tp.partition: offset for tp, offset in ends.items()}
    finally:
        await consumer.stop()


async def wait_for_commit(settings: ServiceSettings, group_id: str, ends: dict[int, int]) -> None:
    """Until the group's committed offsets reach the ends the topic had after publishing."""
    # Asks as a member-to-be of the group that never joins it: it only reads the commits.
    reader = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=group_id,
        enable_auto_commit=False,
    )
    await reader.start()
    try:
        deadline = time.monotonic() + WAIT
        while True:
            committed = {
                partition: await reader.committed(TopicPartition(TOPIC, partition)) or 0
                for partition in ends
            }
            if all(committed[partition] >= end for partition, end in ends.items()):
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"committed {committed}, expected at least {ends}")
            await asyncio.sleep(0.5)
    finally:
        await reader.stop()


async def test_a_handler_that_fails_twice_then_succeeds_is_not_dead_lettered(
    start_consumer: Any, group_id: str, topic_reader: Any, wait_until: Any
) -> None:
    flaky = question_asked()
    after = question_asked(flaky.payload.conversation_id)
    recorder = Recorder(flaky, after)

    def fail_twice(call: int) -> None:
        if call < 3:
            raise RuntimeError(f"database hiccup {call}")

    recorder.on(flaky, fail_twice)
    broker = await start_consumer(group_id, recorder)

    await publish_event(broker, flaky)
    await publish_event(broker, after)

    # `after` shares the partition: once it is handled, `flaky` is completely done.
    await wait_until(lambda: after.id in recorder.calls, WAIT, "the second event")
    assert recorder.calls == [flaky.id, flaky.id, flaky.id, after.id]
    match = dead_letter_of(group_id, encode_event(flaky), topic_reader)
    assert [record for record in await topic_reader.read(DLT) if match(record)] == []


async def test_a_handler_that_always_fails_ends_on_the_dead_letter_topic(
    start_consumer: Any, group_id: str, topic_reader: Any
) -> None:
    doomed = question_asked()
    recorder = Recorder()

    def always_fail(call: int) -> None:
        raise RuntimeError(f"qdrant is down for {doomed.id}")

    recorder.on(doomed, always_fail)
    broker = await start_consumer(group_id, recorder)

    await publish_event(broker, doomed)

    record = await topic_reader.wait_for(
        DLT, dead_letter_of(group_id, encode_event(doomed), topic_reader), WAIT
    )
    headers = topic_reader.headers(record)
    assert headers["dlt-reason"] == "retries-exhausted"
    assert f"RuntimeError: qdrant is down for {doomed.id}" in headers["dlt-error"]
    assert headers["dlt-source"].startswith(f"{TOPIC}/")
    assert record.key == doomed.key().encode()
    assert recorder.count(doomed) == ATTEMPTS


async def test_a_permanent_failure_is_dead_lettered_after_one_call(
    start_consumer: Any, group_id: str, topic_reader: Any
) -> None:
    hopeless = question_asked()
    recorder = Recorder()

    def refuse(call: int) -> None:
        raise PermanentFailure("the company was deleted")

    recorder.on(hopeless, refuse)
    broker = await start_consumer(group_id, recorder)

    await publish_event(broker, hopeless)

    record = await topic_reader.wait_for(
        DLT, dead_letter_of(group_id, encode_event(hopeless), topic_reader), WAIT
    )
    headers = topic_reader.headers(record)
    assert headers["dlt-reason"] == "permanent-failure"
    assert headers["dlt-error"] == "the company was deleted"
    assert recorder.count(hopeless) == 1


async def test_an_undecodable_message_is_dead_lettered_and_consuming_goes_on(
    start_consumer: Any, group_id: str, topic_reader: Any, wait_until: Any
) -> None:
    good = question_asked()
    junk = b"not json " + uuid4().hex.encode()
    recorder = Recorder(good)
    broker = await start_consumer(group_id, recorder)

    await broker.publish(junk, topic=TOPIC, key=good.key().encode())
    await publish_event(broker, good)

    await wait_until(lambda: good.id in recorder.calls, WAIT, "the good event after the junk")
    record = await topic_reader.wait_for(DLT, dead_letter_of(group_id, junk, topic_reader), WAIT)
    headers = topic_reader.headers(record)
    assert headers["dlt-reason"] == "undecodable"
    assert "not JSON" in headers["dlt-error"]
    assert record.key == good.key().encode()
    assert recorder.calls == [good.id]


async def test_an_event_of_another_type_is_dead_lettered_as_unexpected(
    start_consumer: Any, group_id: str, topic_reader: Any, wait_until: Any
) -> None:
    question_id = uuid4()
    stray = QuestionAnswered.new(
        uuid4(),
        QuestionAnsweredV1(question_id=question_id, answer="Nobody.", found=False, citations=[]),
    )
    good = question_asked(question_id)
    recorder = Recorder(good)
    broker = await start_consumer(group_id, recorder)

    await broker.publish(encode_event(stray), topic=TOPIC, key=stray.key().encode())
    await publish_event(broker, good)

    await wait_until(lambda: good.id in recorder.calls, WAIT, "the event after the stray one")
    record = await topic_reader.wait_for(
        DLT,
        dead_letter_of(group_id, encode_event(stray), topic_reader),
        WAIT,
    )
    headers = topic_reader.headers(record)
    assert headers["dlt-reason"] == "unexpected-type"
    assert headers["dlt-error"] == "question.answered v1"
    assert recorder.calls == [good.id]


async def test_processed_messages_are_committed_and_not_redelivered(
    start_consumer: Any,
    bus_settings: ServiceSettings,
    group_id: str,
    wait_until: Any,
) -> None:
    question_id = uuid4()
    handled, dead_lettered, marker = (question_asked(question_id) for _ in range(3))
    first = Recorder(handled, dead_lettered)

    def refuse(call: int) -> None:
        raise PermanentFailure("dead-lettered, and committed too")

    first.on(dead_lettered, refuse)
    broker = await start_consumer(group_id, first)

    await publish_event(broker, handled)
    await publish_event(broker, dead_lettered)
    await wait_until(
        lambda: first.calls == [handled.id, dead_lettered.id], WAIT, "both events handled"
    )
    await wait_for_commit(bus_settings, group_id, await end_offsets(bus_settings))
    await broker.stop()

    second = Recorder(handled, dead_lettered, marker)
    broker = await start_consumer(group_id, second)
    await publish_event(broker, marker)

    await wait_until(lambda: marker.id in second.calls, WAIT, "the marker")
    assert second.calls == [marker.id]


async def test_a_message_whose_handler_never_finished_comes_again(
    start_consumer: Any, group_id: str, wait_until: Any
) -> None:
    """Committing before the handler finished (FastStream's default) would lose it here."""
    interrupted = question_asked()
    first = Recorder(interrupted)

    def hang(call: int) -> None:
        raise _Hang

    first.on(interrupted, hang)
    broker = await start_consumer(group_id, _hanging(first))
    await publish_event(broker, interrupted)
    await wait_until(lambda: interrupted.id in first.calls, WAIT, "the handler to start")
    # Stopping waits out the graceful timeout, then cancels the handler mid-way.
    await broker.stop()

    second = Recorder(interrupted)
    await start_consumer(group_id, second)

    await wait_until(lambda: interrupted.id in second.calls, WAIT, "the redelivery")
    assert second.calls == [interrupted.id]
