from faststream.kafka import KafkaBroker

from common.bus import subscribe
from common.events import QuestionAsked
from query.answers.service import QUESTIONS_CONSUMER, Answerer


def register(broker: KafkaBroker, answerer: Answerer) -> None:
    async def on_question(event: QuestionAsked) -> None:
        """Answers a question from the company's documents and publishes the cited answer."""
        await answerer.handle(event)

    subscribe(
        broker,
        group_id=QUESTIONS_CONSUMER,
        event_type=QuestionAsked,
        handler=on_question,
    )
