"""Isolation of answers end to end: company B, with its owner's token and with an API key of
its own, tries every way we know to reach company A's documents, chunks, assistants,
conversations and messages (their ids in paths, filters, question fields and reaction
targets) and gets 404 (403 where the role check comes first) or an answer from nothing of
A's. Afterwards A's things are as they were. Everything goes through the gateway, the broker
and the four processes."""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

import httpx
import pytest

from devstack.client import Account, assert_problem, create_assistant, signup, wait_for_status

pytestmark = pytest.mark.e2e

SECRET = "ÁMBAR-7351"
SECRET_DOCUMENT = f"""# Protocolo confidencial de Alfa Custodia

## Caja fuerte

La combinación de la caja fuerte de la sede central de Alfa Custodia es {SECRET}.
Solo la dirección financiera conoce esta combinación.
""".encode()
SECRET_QUESTION = "¿Cuál es la combinación de la caja fuerte de la sede central de Alfa Custodia?"
B_DOCUMENT = b"""# Manual de Beta Mensajeria

## Repartos

Beta Mensajeria reparte los paquetes urgentes antes de las diez de la manana.
"""
TAG = "confidencial"
A_END_USER, A_CHANNEL = "cliente-alfa", "web"
COUNTS = ("conversations", "messages", "handoffs", "unanswered_questions")
B_KEY_SCOPES = ["documents:read", "questions:ask", "conversations:read", "messages:react"]


@dataclass
class World:
    a: Account
    b: Account
    b_key: str
    ids: dict[str, str]
    """A's ids (and B's own assistants'), by the names the attempts use."""
    day: date = field(default_factory=lambda: datetime.now(UTC).date())
    a_before: dict[str, Any] = field(default_factory=dict)
    """What A sees of its things before B tries anything."""

    def headers(self, who: Literal["owner", "key"]) -> dict[str, str]:
        return self.b.headers if who == "owner" else {"X-API-Key": self.b_key}

    def a_ids(self) -> set[str]:
        names = ("a_company", "a_assistant", "a_conversation", "a_message", "a_document")
        return {self.ids[name] for name in names}


def ready_document(api: httpx.Client, account: Account, name: str, content: bytes) -> str:
    uploaded = api.post(
        "/v1/documents",
        headers=account.headers,
        files={"file": (name, content, "text/markdown")},
        data={"title": name, "tags": TAG},
    )
    assert uploaded.status_code == 202, uploaded.text
    document, _ = wait_for_status(api, account, uploaded.json()["id"])
    assert document["status"] == "ready", document
    return str(document["id"])


def a_sees(api: httpx.Client, world: World) -> dict[str, Any]:
    """A's assistant, conversation (with its messages and their reactions) and document."""
    seen: dict[str, Any] = {}
    for name, path in (
        ("assistant", f"/v1/assistants/{world.ids['a_assistant']}"),
        ("conversation", f"/v1/conversations/{world.ids['a_conversation']}"),
        ("document", f"/v1/documents/{world.ids['a_document']}"),
    ):
        response = api.get(path, headers=world.a.headers)
        assert response.status_code == 200, response.text
        seen[name] = response.json()
    # Days fixed around the fixture's day, so a run past midnight (UTC) reads the same range.
    days = {"start": str(world.day - timedelta(days=1)), "end": str(world.day + timedelta(days=1))}
    usage = api.get("/v1/analytics/usage", params=days, headers=world.a.headers)
    assert usage.status_code == 200, usage.text
    seen["usage"] = usage.json()
    return seen


@pytest.fixture(scope="module")
def world(api: httpx.Client) -> World:
    a, b = signup(api, "Alfa Custodia"), signup(api, "Beta Mensajeria")
    a_document = ready_document(api, a, "protocolo.md", SECRET_DOCUMENT)
    a_assistant = create_assistant(api, a)["id"]
    asked = api.post(
        "/v1/questions",
        json={
            "question": SECRET_QUESTION,
            "assistant_id": a_assistant,
            "end_user_id": A_END_USER,
            "channel": A_CHANNEL,
        },
        headers=a.headers,
    )
    assert asked.status_code == 200, asked.text
    answer = asked.json()
    # A reaches its secret: so what B fails to reach below is there to be reached.
    assert SECRET in answer["answer"], answer
    assert {c["document_id"] for c in answer["citations"]} == {a_document}

    ready_document(api, b, "manual.md", B_DOCUMENT)  # B's own, under A's tag name too
    key = api.post(
        "/v1/api-keys", json={"name": "web-chat", "scopes": B_KEY_SCOPES}, headers=b.headers
    )
    assert key.status_code == 201, key.text
    ids = {
        "a_company": a.company_id,
        "a_user": a.user_id,
        "a_assistant": a_assistant,
        "a_conversation": str(answer["conversation_id"]),
        "a_message": str(answer["message_id"]),
        "a_document": a_document,
        # B's own assistants, aimed at A's document and at A's tag.
        "b_by_documents": create_assistant(
            api, b, documents={"scope": "documents", "document_ids": [a_document]}
        )["id"],
        "b_by_tags": create_assistant(api, b, documents={"scope": "tags", "tags": [TAG]})["id"],
    }
    world = World(a, b, key.json()["key"], ids)
    world.a_before = a_sees(api, world)
    # A's one question, as the analytics count it: through the gateway, from query's rows.
    a_days = world.a_before["usage"]["days"]
    assert {day["assistant_id"] for day in a_days} == {a_assistant}
    counted = {name: sum(day[name] for day in a_days) for name in COUNTS}
    handed_over = 1 if answer["handoff_reason"] else 0  # a weak answer may go to a person
    assert counted == dict(zip(COUNTS, (1, 2, handed_over, 0), strict=True))
    return world


def ids_in(value: Any) -> set[str]:
    """Every id a response names: the values of its `id` and `..._id` fields, at any depth
    (an end user's id or a channel is the caller's own text, and may be anything)."""
    found: set[str] = set()
    if isinstance(value, dict):
        for name, item in value.items():
            if (name == "id" or name.endswith("_id")) and name != "end_user_id":
                found.add(str(item))
            found |= ids_in(item)
    elif isinstance(value, list):
        for item in value:
            found |= ids_in(item)
    return found


def fill(value: Any, ids: dict[str, str]) -> Any:
    """`value` with each `{name}` in its strings replaced by that id."""
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, dict):
        return {name: fill(item, ids) for name, item in value.items()}
    return value


@dataclass(frozen=True)
class Attempt:
    who: Literal["owner", "key"]
    method: str
    path: str
    status: int
    code: str
    json: dict[str, Any] | None = None
    params: dict[str, Any] | None = None
    upload: bool = False


ASK = {"question": SECRET_QUESTION}
REFUSED = [
    pytest.param(Attempt("owner", "GET", "/v1/assistants/{a_assistant}", 404,
                         "assistant-not-found"), id="read-assistant"),
    pytest.param(Attempt("owner", "PATCH", "/v1/assistants/{a_assistant}", 404,
                         "assistant-not-found", json={"name": "Robado"}), id="change-assistant"),
    pytest.param(Attempt("owner", "DELETE", "/v1/assistants/{a_assistant}", 404,
                         "assistant-not-found"), id="retire-assistant"),
    pytest.param(Attempt("owner", "GET", "/v1/assistants/{a_company}", 404,
                         "assistant-not-found"), id="company-id-as-assistant"),
    pytest.param(Attempt("owner", "POST", "/v1/questions", 404, "assistant-not-found",
                         json=ASK | {"assistant_id": "{a_assistant}"}), id="ask-a-assistant"),
    pytest.param(Attempt("owner", "POST", "/v1/questions", 404, "conversation-not-found",
                         json=ASK | {"conversation_id": "{a_conversation}"}),
                 id="ask-in-a-conversation"),
    pytest.param(Attempt("owner", "POST", "/v1/questions", 404, "conversation-not-found",
                         json=ASK | {"conversation_id": "{a_conversation}",
                                     "assistant_id": "{b_by_documents}"}),
                 id="ask-in-a-conversation-with-own-assistant"),
    pytest.param(Attempt("owner", "POST", "/v1/questions", 422, "validation-error",
                         json=ASK | {"company_id": "{a_company}"}), id="company-id-in-question"),
    pytest.param(Attempt("owner", "GET", "/v1/conversations/{a_conversation}", 404,
                         "conversation-not-found"), id="read-conversation"),
    pytest.param(Attempt("owner", "GET", "/v1/conversations/{a_message}", 404,
                         "conversation-not-found"), id="message-id-as-conversation"),
    pytest.param(Attempt("owner", "GET", "/v1/conversations", 404, "assistant-not-found",
                         params={"assistant_id": "{a_assistant}"}),
                 id="list-conversations-of-a-assistant"),
    pytest.param(Attempt("owner", "POST", "/v1/conversations/{a_conversation}/take", 404,
                         "conversation-not-found"), id="take-conversation"),
    pytest.param(Attempt("owner", "POST", "/v1/conversations/{a_conversation}/reply", 404,
                         "conversation-not-found", json={"content": "Dime la combinación"}),
                 id="reply-in-conversation"),
    pytest.param(Attempt("owner", "POST", "/v1/conversations/{a_conversation}/resolve", 404,
                         "conversation-not-found"), id="resolve-conversation"),
    pytest.param(Attempt("owner", "POST", "/v1/messages/{a_message}/reactions", 404,
                         "message-not-found", json={"reaction": "thumbs_down"}),
                 id="react-to-message"),
    pytest.param(Attempt("owner", "DELETE", "/v1/messages/{a_message}/reactions", 404,
                         "message-not-found"), id="remove-reaction"),
    pytest.param(Attempt("owner", "GET", "/v1/analytics/usage", 404, "assistant-not-found",
                         params={"assistant_id": "{a_assistant}"}), id="analytics-of-a-assistant"),
    pytest.param(Attempt("owner", "GET", "/v1/documents/{a_document}", 404,
                         "document-not-found"), id="read-document"),
    pytest.param(Attempt("owner", "GET", "/v1/documents/{a_document}/events", 404,
                         "document-not-found"), id="follow-document"),
    pytest.param(Attempt("owner", "PATCH", "/v1/documents/{a_document}", 404,
                         "document-not-found", json={"title": "Robado"}), id="change-document"),
    pytest.param(Attempt("owner", "DELETE", "/v1/documents/{a_document}", 404,
                         "document-not-found"), id="delete-document"),
    pytest.param(Attempt("owner", "POST", "/v1/documents/{a_document}/versions", 404,
                         "document-not-found", upload=True), id="new-version-of-document"),
    pytest.param(Attempt("key", "GET", "/v1/conversations/{a_conversation}", 404,
                         "conversation-not-found"), id="key-read-conversation"),
    pytest.param(Attempt("key", "GET", "/v1/conversations", 404, "assistant-not-found",
                         params={"assistant_id": "{a_assistant}"}),
                 id="key-list-conversations-of-a-assistant"),
    pytest.param(Attempt("key", "POST", "/v1/questions", 404, "assistant-not-found",
                         json=ASK | {"assistant_id": "{a_assistant}"}), id="key-ask-a-assistant"),
    pytest.param(Attempt("key", "POST", "/v1/questions", 404, "conversation-not-found",
                         json=ASK | {"conversation_id": "{a_conversation}"}),
                 id="key-ask-in-a-conversation"),
    pytest.param(Attempt("key", "POST", "/v1/messages/{a_message}/reactions", 404,
                         "message-not-found",
                         json={"reaction": "thumbs_down", "end_user_id": A_END_USER}),
                 id="key-react-for-a-end-user"),
    pytest.param(Attempt("key", "DELETE", "/v1/messages/{a_message}/reactions", 404,
                         "message-not-found", params={"end_user_id": A_END_USER}),
                 id="key-remove-reaction-of-a-end-user"),
    pytest.param(Attempt("key", "GET", "/v1/documents/{a_document}", 404,
                         "document-not-found"), id="key-read-document"),
    pytest.param(Attempt("key", "POST", "/v1/conversations/{a_conversation}/take", 403,
                         "forbidden"), id="key-take-conversation"),
    pytest.param(Attempt("key", "GET", "/v1/analytics/usage", 403, "forbidden",
                         params={"assistant_id": "{a_assistant}"}), id="key-analytics"),
]  # fmt: skip


@pytest.mark.parametrize("attempt", REFUSED)
def test_b_is_refused(api: httpx.Client, world: World, attempt: Attempt) -> None:
    files = None
    if attempt.upload:
        files = {"file": ("protocolo.md", b"# Robado\n\nNada.", "text/markdown")}
    response = api.request(
        attempt.method,
        fill(attempt.path, world.ids),
        json=fill(attempt.json, world.ids),
        params=fill(attempt.params, world.ids),
        files=files,
        headers=world.headers(attempt.who),
    )

    assert_problem(response, attempt.status, attempt.code)
    assert SECRET not in response.text


LISTS = [
    pytest.param("owner", "/v1/assistants", {}, id="assistants"),
    pytest.param("owner", "/v1/conversations", {}, id="conversations"),
    pytest.param("owner", "/v1/conversations", {"end_user_id": A_END_USER, "channel": A_CHANNEL},
                 id="conversations-of-a-end-user"),
    pytest.param("owner", "/v1/conversations", {"end_user_id": "{a_user}"},
                 id="conversations-of-a-owner"),
    pytest.param("owner", "/v1/documents", {}, id="documents"),
    pytest.param("owner", "/v1/analytics/usage", {}, id="analytics"),
    pytest.param("key", "/v1/conversations", {"end_user_id": A_END_USER},
                 id="key-conversations-of-a-end-user"),
    pytest.param("key", "/v1/documents", {}, id="key-documents"),
]  # fmt: skip


@pytest.mark.parametrize(("who", "path", "params"), LISTS)
def test_b_lists_nothing_of_a(
    api: httpx.Client,
    world: World,
    who: Literal["owner", "key"],
    path: str,
    params: dict[str, str],
) -> None:
    response = api.get(path, params=fill(params, world.ids), headers=world.headers(who))

    assert response.status_code == 200, response.text
    assert ids_in(response.json()) & world.a_ids() == set()
    assert SECRET not in response.text


ASKED_FROM_NOTHING = [
    pytest.param("owner", {}, id="plain-question"),
    pytest.param("owner", {"assistant_id": "{b_by_documents}"}, id="own-assistant-on-a-documents"),
    pytest.param("owner", {"assistant_id": "{b_by_tags}"}, id="own-assistant-on-a-tag"),
    pytest.param("owner", {"end_user_id": A_END_USER, "channel": A_CHANNEL},
                 id="as-a-end-user-and-channel"),
    pytest.param("owner", {"end_user_id": "{a_user}"}, id="as-a-owner"),
    pytest.param("owner", {"end_user_id": "{a_conversation}", "channel": "{a_conversation}"},
                 id="a-conversation-id-as-end-user-and-channel"),
    pytest.param("key", {}, id="key-plain-question"),
    pytest.param("key", {"end_user_id": A_END_USER, "channel": A_CHANNEL},
                 id="key-as-a-end-user-and-channel"),
]  # fmt: skip


@pytest.mark.parametrize(("who", "fields"), ASKED_FROM_NOTHING)
def test_b_is_answered_from_nothing_of_a(
    api: httpx.Client, world: World, who: Literal["owner", "key"], fields: dict[str, str]
) -> None:
    response = api.post(
        "/v1/questions", json=ASK | fill(fields, world.ids), headers=world.headers(who)
    )

    assert response.status_code == 200, response.text
    answer = response.json()
    assert SECRET not in answer["answer"]
    assert world.ids["a_document"] not in {c["document_id"] for c in answer["citations"]}
    assert answer["conversation_id"] != world.ids["a_conversation"]
    # What was said in A's conversation is no history of B's.
    conversation = api.get(
        f"/v1/conversations/{answer['conversation_id']}", headers=world.headers(who)
    )
    assert conversation.status_code == 200, conversation.text
    assert [m["sender_type"] for m in conversation.json()["messages"]][-2:] == ["end_user", "bot"]
    assert SECRET not in conversation.text


def test_a_things_are_as_they_were(api: httpx.Client, world: World) -> None:
    """Run last: nothing B tried changed, retired, resolved or reacted to anything of A's."""
    assert a_sees(api, world) == world.a_before
