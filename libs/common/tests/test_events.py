import json
from uuid import UUID, uuid4

import pytest

from common.events import (
    EVENT_TYPES,
    Citation,
    CompanyCreated,
    CompanyCreatedV1,
    CompanyPlanChanged,
    CompanyPlanChangedV1,
    CompanyReactivated,
    CompanyStatusV1,
    CompanySuspended,
    DocumentChunksEmbedded,
    DocumentChunksEmbeddedV1,
    DocumentDeleted,
    DocumentDeletedV1,
    DocumentIndexed,
    DocumentIndexedV1,
    DocumentMetadataChanged,
    DocumentMetadataChangedV1,
    DocumentPurged,
    DocumentPurgedV1,
    DocumentStatusChanged,
    DocumentStatusChangedV1,
    DocumentStorageReleased,
    DocumentStorageReleasedV1,
    DocumentUploaded,
    DocumentUploadedV1,
    EmbeddedChunk,
    Event,
    QuestionAnswerDelta,
    QuestionAnswerDeltaV1,
    QuestionAnswered,
    QuestionAnsweredV1,
    QuestionAsked,
    QuestionAskedV1,
    UndecodableEvent,
    UserDeactivated,
    UserDeactivatedV1,
    UserInvited,
    UserInvitedV1,
    UserJoined,
    UserJoinedV1,
    UserRoleChanged,
    UserRoleChangedV1,
    decode_event,
    encode_event,
)

COMPANY = UUID("00000000-0000-4000-8000-00000000000a")
ENTITY = UUID("00000000-0000-4000-8000-0000000000e1")


def document_uploaded(document_id: UUID = ENTITY) -> DocumentUploaded:
    return DocumentUploaded.new(
        COMPANY,
        DocumentUploadedV1(
            document_id=document_id,
            title="Handbook",
            filename="handbook.pdf",
            content_type="application/pdf",
            size_bytes=1234,
            sha256="ab" * 32,
            blob_key=f"companies/{COMPANY}/documents/{document_id}/original",
            uploaded_by=uuid4(),
        ),
    )


def every_event() -> list[tuple[Event, UUID]]:
    """One event of every registered type, with the entity id its key must be."""
    return [
        (
            CompanyCreated.new(
                ENTITY,
                CompanyCreatedV1(
                    company_id=ENTITY, name="Acme", slug="acme", owner_user_id=uuid4()
                ),
            ),
            ENTITY,
        ),
        (
            CompanyPlanChanged.new(
                ENTITY,
                CompanyPlanChangedV1(company_id=ENTITY, old_plan="starter", new_plan="business"),
            ),
            ENTITY,
        ),
        (CompanySuspended.new(ENTITY, CompanyStatusV1(company_id=ENTITY, reason="x")), ENTITY),
        (CompanyReactivated.new(ENTITY, CompanyStatusV1(company_id=ENTITY)), ENTITY),
        (
            UserInvited.new(
                COMPANY,
                UserInvitedV1(
                    invitation_id=ENTITY,
                    email="a@b.example",
                    role="operador",
                    invited_by=uuid4(),
                    expires_at="2026-12-01T00:00:00+00:00",
                ),
            ),
            ENTITY,
        ),
        (
            UserJoined.new(
                COMPANY, UserJoinedV1(user_id=ENTITY, email="a@b.example", role="operador")
            ),
            ENTITY,
        ),
        (
            UserRoleChanged.new(
                COMPANY,
                UserRoleChangedV1(
                    user_id=ENTITY, old_role="operador", new_role="supervisor", changed_by=None
                ),
            ),
            ENTITY,
        ),
        (
            UserDeactivated.new(COMPANY, UserDeactivatedV1(user_id=ENTITY, deactivated_by=None)),
            ENTITY,
        ),
        (document_uploaded(), ENTITY),
        (
            DocumentChunksEmbedded.new(
                COMPANY,
                DocumentChunksEmbeddedV1(
                    document_id=ENTITY,
                    title="Handbook",
                    embedding_model="all-MiniLM-L6-v2",
                    batch_index=0,
                    batch_count=1,
                    chunk_count=1,
                    chunks=[
                        EmbeddedChunk(
                            index=0, text="hello", char_start=0, char_end=5, vector=[0.25, -1.0]
                        )
                    ],
                ),
            ),
            ENTITY,
        ),
        (
            DocumentIndexed.new(COMPANY, DocumentIndexedV1(document_id=ENTITY, chunk_count=3)),
            ENTITY,
        ),
        (
            DocumentStatusChanged.new(
                COMPANY,
                DocumentStatusChangedV1(
                    document_id=ENTITY, status="failed", progress=40, failure_reason="no text"
                ),
            ),
            ENTITY,
        ),
        (
            DocumentMetadataChanged.new(
                COMPANY,
                DocumentMetadataChangedV1(
                    document_id=ENTITY, title="Handbook 2026", tags=["hr"], category="Policies"
                ),
            ),
            ENTITY,
        ),
        (
            DocumentDeleted.new(
                COMPANY,
                DocumentDeletedV1(
                    document_id=ENTITY, blob_prefix=f"companies/{COMPANY}/documents/{ENTITY}"
                ),
            ),
            ENTITY,
        ),
        (DocumentPurged.new(COMPANY, DocumentPurgedV1(document_id=ENTITY)), ENTITY),
        (
            DocumentStorageReleased.new(
                COMPANY,
                DocumentStorageReleasedV1(document_id=ENTITY, bytes=2048, reason="deleted"),
            ),
            ENTITY,
        ),
        (
            QuestionAsked.new(
                COMPANY,
                QuestionAskedV1(
                    question_id=uuid4(),
                    question="What is the leave policy?",
                    asked_by=uuid4(),
                    conversation_id=ENTITY,
                ),
            ),
            ENTITY,
        ),
        (
            QuestionAnswered.new(
                COMPANY,
                QuestionAnsweredV1(
                    question_id=ENTITY,
                    answer="Twenty days.",
                    found=True,
                    citations=[
                        Citation(
                            document_id=uuid4(), title="Handbook", snippet="20 days", score=0.9
                        )
                    ],
                ),
            ),
            ENTITY,
        ),
        (
            QuestionAnswerDelta.new(
                COMPANY, QuestionAnswerDeltaV1(question_id=ENTITY, sequence=0, text="Twenty")
            ),
            ENTITY,
        ),
    ]


EVENT_NAMES = [type(event).__name__ for event, _ in every_event()]


def test_every_event_type_has_a_sample() -> None:
    assert {type(event) for event, _ in every_event()} == set(EVENT_TYPES)


class TestRoundTrip:
    @pytest.mark.parametrize(("event", "_key"), every_event(), ids=EVENT_NAMES)
    def test_decodes_to_the_same_typed_event(self, event: Event, _key: UUID) -> None:
        decoded = decode_event(encode_event(event))

        assert type(decoded) is type(event)
        assert decoded == event

    def test_encoded_envelope_carries_type_and_version(self) -> None:
        data = json.loads(encode_event(document_uploaded()))

        assert data["type"] == "document.uploaded"
        assert data["version"] == 1
        assert data["company_id"] == str(COMPANY)

    def test_an_answer_written_before_needs_human_still_decodes(self) -> None:
        [(answered, _)] = [(e, k) for e, k in every_event() if isinstance(e, QuestionAnswered)]
        data = json.loads(encode_event(answered))
        del data["payload"]["needs_human"], data["payload"]["error"]

        decoded = decode_event(json.dumps(data).encode())

        assert isinstance(decoded, QuestionAnswered)
        assert decoded.payload.needs_human is False
        assert decoded.payload.error is None


class TestUndecodable:
    @staticmethod
    def envelope(**changes: object) -> bytes:
        data = json.loads(encode_event(document_uploaded()))
        data.update(changes)
        return json.dumps(data).encode()

    def test_unknown_type(self) -> None:
        with pytest.raises(UndecodableEvent, match="unknown event type"):
            decode_event(self.envelope(type="document.shredded"))

    def test_unknown_version(self) -> None:
        with pytest.raises(UndecodableEvent, match="unknown event type"):
            decode_event(self.envelope(version=2))

    @pytest.mark.parametrize("raw", [b"not json", b"\xff\xfe\x00", b""])
    def test_not_json(self, raw: bytes) -> None:
        with pytest.raises(UndecodableEvent, match="not JSON"):
            decode_event(raw)

    @pytest.mark.parametrize("raw", [b"[1, 2]", b'"document.uploaded"', b"null", b"42"])
    def test_not_an_object(self, raw: bytes) -> None:
        with pytest.raises(UndecodableEvent, match="not a JSON object"):
            decode_event(raw)

    def test_invalid_payload(self) -> None:
        data = json.loads(encode_event(document_uploaded()))
        data["payload"]["sha256"] = "not-a-hash"

        with pytest.raises(UndecodableEvent, match=r"invalid document\.uploaded"):
            decode_event(json.dumps(data).encode())

    def test_payload_with_unknown_field(self) -> None:
        data = json.loads(encode_event(document_uploaded()))
        data["payload"]["surprise"] = True

        with pytest.raises(UndecodableEvent):
            decode_event(json.dumps(data).encode())

    def test_missing_envelope_field(self) -> None:
        data = json.loads(encode_event(document_uploaded()))
        del data["company_id"]

        with pytest.raises(UndecodableEvent):
            decode_event(json.dumps(data).encode())

    @pytest.mark.parametrize(
        "changes",
        [{"type": ["document.uploaded"]}, {"version": {"major": 1}}, {"type": {"a": 1}}],
    )
    def test_unhashable_type_or_version(self, changes: dict[str, object]) -> None:
        # A consumer must be able to dead-letter this, not crash on it and be fed it again.
        with pytest.raises(UndecodableEvent):
            decode_event(self.envelope(**changes))

    def test_nesting_deeper_than_the_parser_allows(self) -> None:
        with pytest.raises(UndecodableEvent):
            decode_event(b"[" * 100_000)


class TestNew:
    def test_a_fresh_event_starts_its_own_correlation(self) -> None:
        event = document_uploaded()

        assert event.correlation_id == event.id
        assert event.causation_id is None

    def test_an_event_with_a_cause_inherits_its_correlation(self) -> None:
        cause = document_uploaded()
        effect = DocumentIndexed.new(
            COMPANY, DocumentIndexedV1(document_id=ENTITY, chunk_count=1), cause=cause
        )
        later = DocumentIndexed.new(
            COMPANY, DocumentIndexedV1(document_id=ENTITY, chunk_count=2), cause=effect
        )

        assert effect.id != cause.id
        assert effect.correlation_id == cause.correlation_id == cause.id
        assert effect.causation_id == cause.id
        assert later.correlation_id == cause.id
        assert later.causation_id == effect.id

    def test_each_event_gets_a_new_id(self) -> None:
        assert document_uploaded().id != document_uploaded().id


class TestKey:
    @pytest.mark.parametrize(("event", "entity_id"), every_event(), ids=EVENT_NAMES)
    def test_key_is_the_entity_id(self, event: Event, entity_id: UUID) -> None:
        assert event.key() == str(entity_id)

    def test_a_question_outside_a_known_conversation_is_keyed_by_its_end_user(self) -> None:
        # The conversation it will join is found by its end user, channel and assistant, so
        # that is what keeps one end user's questions in order until it has an id.
        assistant_id = uuid4()

        def asked(end_user: str, channel: str = "web") -> QuestionAsked:
            return QuestionAsked.new(
                COMPANY,
                QuestionAskedV1(
                    question_id=uuid4(),
                    question="¿Y cuánto cuesta?",
                    asked_by=uuid4(),
                    assistant_id=assistant_id,
                    end_user_id=end_user,
                    channel=channel,
                ),
            )

        assert asked("cliente-1").key() == asked("cliente-1").key()
        assert asked("cliente-1").key() != asked("cliente-2").key()
        assert asked("cliente-1").key() != asked("cliente-1", channel="whatsapp").key()

    def test_key_follows_the_entity_not_the_event(self) -> None:
        document_id = uuid4()

        assert document_uploaded(document_id).key() == str(document_id)
        assert document_uploaded(document_id).key() == document_uploaded(document_id).key()

    def test_company_created_is_keyed_by_the_company_not_the_envelope(self) -> None:
        company_id = uuid4()
        event = CompanyCreated.new(
            COMPANY,
            CompanyCreatedV1(
                company_id=company_id, name="Acme", slug="acme", owner_user_id=uuid4()
            ),
        )

        assert event.key() == str(company_id)
