"""Live document status for server-sent events: every replica reads every
`document.status_changed` and hands it to the streams open on that document here."""

import asyncio
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from uuid import UUID

from faststream.kafka import KafkaBroker

from common.bus import subscribe_fanout
from common.events import DocumentStatusChanged, DocumentStatusChangedV1

# A stream that stops reading gets its oldest updates dropped, never blocks the others.
QUEUE_SIZE = 100


class StatusHub:
    def __init__(self) -> None:
        self._streams: dict[tuple[UUID, UUID], set[asyncio.Queue[DocumentStatusChangedV1]]] = (
            defaultdict(set)
        )

    def register(self, broker: KafkaBroker) -> None:
        def on_status(event: DocumentStatusChanged) -> None:
            """Passes a document's new status to the streams following it."""
            self.publish(event.company_id, event.payload)

        subscribe_fanout(
            broker,
            topic=DocumentStatusChanged.topic,
            event_type=DocumentStatusChanged,
            handler=on_status,
            title=f"{DocumentStatusChanged.topic}:gateway-replica",
        )

    @contextmanager
    def follow(
        self, company_id: UUID, document_id: UUID
    ) -> Iterator[asyncio.Queue[DocumentStatusChangedV1]]:
        """Keyed by company too: an event only ever reaches its own company's streams."""
        key = (company_id, document_id)
        queue: asyncio.Queue[DocumentStatusChangedV1] = asyncio.Queue(QUEUE_SIZE)
        self._streams[key].add(queue)
        try:
            yield queue
        finally:
            self._streams[key].discard(queue)
            if not self._streams[key]:
                del self._streams[key]

    def publish(self, company_id: UUID, status: DocumentStatusChangedV1) -> None:
        for queue in self._streams.get((company_id, status.document_id), ()):
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(status)
