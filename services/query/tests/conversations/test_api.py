"""Conversations through query's internal routes, on the real database as the app role:
lists and reads (an operador sees its assistants' only), a person taking one from the bot,
replying and resolving, reactions; and what the answering consumer then does. Conversations
are made the product's way: questions answered by the real Answerer."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest

from common.db import Database
from common.embedding import Embedder
from devstack.client import assert_problem
from query.answers.service import Answerer
from query.conversations.models import Message
from query.index.store import VectorStore
from query.settings import QuerySettings

# A test module cannot import the conftest's Company, which new_company gives.
NewCompany = Callable[[], Awaitable[Any]]
NewAssistant = Callable[..., Awaitable[str]]

MANUAL = [
    "Los empleados de Acme tienen veintitrés días laborables de vacaciones pagadas al año.",
    "Se puede teletrabajar dos días por semana, previo acuerdo con el responsable.",
]
VACATIONS = "¿Cuántos días de vacaciones tienen los empleados de Acme?"
REMOTE = "¿Cuántos días por semana se puede teletrabajar?"
GREETING = "Buenos días, tengo una consulta."
KEYWORD = "persona"


@pytest.fixture
def new_company(
    new_company: Callable[..., Awaitable[Any]],
    query_database: Database,
    store: VectorStore,
    embedder: Embedder,
    index_document: Callable[..., Awaitable[UUID]],
) -> NewCompany:
    """The conftest's company, with its manual indexed and its questions answered by the real
    Answerer."""
    answerer = Answerer(query_database, store, embedder, QuerySettings())

    async def with_manual() -> Any:
        company = await new_company(answerer=answerer)
        await index_document(company.id, MANUAL, title="Manual")
        return company

    return with_manual


@pytest.fixture
def new_assistant(create_assistant: Callable[..., Awaitable[dict[str, Any]]]) -> NewAssistant:
    """An assistant of the company that hands over on KEYWORD, with these operators; its id."""

    async def new_assistant(company: Any, *operators: UUID) -> str:
        created = await create_assistant(
            company, handoff={"keywords": [KEYWORD]}, operator_ids=[str(o) for o in operators]
        )
        return str(created["id"])

    return new_assistant


async def read(
    client: httpx.AsyncClient, company: Any, conversation_id: UUID | str, **params: Any
) -> dict[str, Any]:
    response = await client.get(
        f"/internal/conversations/{conversation_id}", params=params, headers=company.as_()
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


async def test_lists_filter_and_page_newest_activity_first(
    client: httpx.AsyncClient, new_company: NewCompany, new_assistant: NewAssistant
) -> None:
    company, other = await new_company(), await new_company()
    assistant = await new_assistant(company)
    answered_by_bot = await company.ask(VACATIONS, assistant_id=assistant, end_user_id="u1")
    waiting = await company.ask(
        f"Quiero hablar con una {KEYWORD}", assistant_id=assistant, end_user_id="u2", channel="web"
    )
    without_assistant = await company.ask(REMOTE, end_user_id="u3")
    await other.ask(VACATIONS, end_user_id="u1")
    assert (answered_by_bot.conversation_status, waiting.conversation_status) == (
        "bot",
        "waiting_human",
    )
    newest_first = [str(a.conversation_id) for a in (without_assistant, waiting, answered_by_bot)]

    async def listed(**params: Any) -> httpx.Response:
        return await client.get("/internal/conversations", params=params, headers=company.as_())

    everything = await listed()
    assert ids(everything) == newest_first
    assert everything.json()["total"] == 3
    assert ids(await listed(status="waiting_human")) == [str(waiting.conversation_id)]
    assert ids(await listed(assistant_id=assistant)) == newest_first[1:]
    assert ids(await listed(end_user_id="u1")) == [str(answered_by_bot.conversation_id)]
    assert ids(await listed(channel="web")) == [str(waiting.conversation_id)]
    assert ids(await listed(status="resolved")) == []
    first, second = await listed(limit=2), await listed(limit=2, offset=2)
    assert ids(first) + ids(second) == newest_first
    assert (second.json()["total"], second.json()["offset"]) == (3, 2)
    [item] = (await listed(end_user_id="u2")).json()["items"]
    assert item["handoff_reason"] == "keyword"
    assert item["handoff_at"] is not None
    assert item["message_count"] == 2

    assert_problem(await listed(status="closed"), 422)
    assert_problem(await listed(limit=0), 422)
    assert_problem(await listed(assistant_id=str(uuid4())), 404, "assistant-not-found")
    their_list = await client.get("/internal/conversations", headers=other.as_())
    assert str(answered_by_bot.conversation_id) not in ids(their_list)
    assert their_list.json()["total"] == 1


async def test_an_operador_sees_only_its_assistants_conversations(
    client: httpx.AsyncClient, new_company: NewCompany, new_assistant: NewAssistant
) -> None:
    company = await new_company()
    operador, unassigned = uuid4(), uuid4()
    mine = await new_assistant(company, operador)
    theirs = await new_assistant(company)
    in_mine = await company.ask(VACATIONS, assistant_id=mine, end_user_id="u1")
    in_theirs = await company.ask(VACATIONS, assistant_id=theirs, end_user_id="u1")
    no_assistant = await company.ask(VACATIONS, end_user_id="u1")
    as_operador = company.as_("operador", operador)

    listed = await client.get("/internal/conversations", headers=as_operador)
    assert ids(listed) == [str(in_mine.conversation_id)]
    assert listed.json()["total"] == 1
    alone = await client.get("/internal/conversations", headers=company.as_("operador", unassigned))
    assert ids(alone) == []
    supervisor = await client.get("/internal/conversations", headers=company.as_("supervisor"))
    assert len(ids(supervisor)) == 3
    api_key = await client.get(
        "/internal/conversations", headers=company.as_api_key("conversations:read")
    )
    assert len(ids(api_key)) == 3

    readable = await client.get(
        f"/internal/conversations/{in_mine.conversation_id}", headers=as_operador
    )
    assert readable.status_code == 200, readable.text
    for hidden in (in_theirs, no_assistant):
        path = f"/internal/conversations/{hidden.conversation_id}"
        assert_problem(await client.get(path, headers=as_operador), 404, "conversation-not-found")
        assert_problem(
            await client.post(f"{path}/take", headers=as_operador), 404, "conversation-not-found"
        )
        assert hidden.message_id is not None
        assert_problem(
            await client.post(
                f"/internal/messages/{hidden.message_id}/reactions",
                json={"reaction": "thumbs_up"},
                headers=as_operador,
            ),
            404,
            "message-not-found",
        )
    assert_problem(
        await client.get(
            "/internal/conversations", params={"assistant_id": theirs}, headers=as_operador
        ),
        404,
        "assistant-not-found",
    )


async def test_a_read_gives_the_latest_messages_oldest_first(
    client: httpx.AsyncClient, new_company: NewCompany
) -> None:
    company, other = await new_company(), await new_company()
    first = await company.ask(VACATIONS, end_user_id="u1")
    second = await company.ask(REMOTE, end_user_id="u1")
    assert first.conversation_id == second.conversation_id

    whole = await read(client, company, str(first.conversation_id))
    assert whole["message_count"] == 4
    assert [(m["sender_type"], m["content"]) for m in whole["messages"]] == [
        ("end_user", VACATIONS),
        ("bot", first.answer),
        ("end_user", REMOTE),
        ("bot", second.answer),
    ]
    bot = whole["messages"][1]
    assert (bot["id"], bot["found"], bot["reactions"]) == (str(first.message_id), True, {})
    assert bot["knowledge_sources"][0]["title"] == "Manual"
    assert whole["messages"][0]["sender_id"] == "u1"

    latest = await read(client, company, str(first.conversation_id), messages=2)
    assert [m["content"] for m in latest["messages"]] == [REMOTE, second.answer]
    bare = await read(client, company, str(first.conversation_id), messages=0)
    assert (bare["messages"], bare["end_user_id"], bare["status"]) == ([], "u1", "bot")

    path = f"/internal/conversations/{first.conversation_id}"
    assert_problem(await client.get(path, params={"messages": 1001}, headers=company.as_()), 422)
    # A key that may only ask finds the conversation it asks in, without reading it.
    asker = company.as_api_key("questions:ask")
    found = await client.get(path, params={"messages": 0}, headers=asker)
    assert found.status_code == 200, found.text
    assert_problem(await client.get(path, params={"messages": 1}, headers=asker), 403, "forbidden")
    assert_problem(await client.get(path, headers=other.as_()), 404, "conversation-not-found")
    assert_problem(
        await client.get(f"/internal/conversations/{uuid4()}", headers=company.as_()),
        404,
        "conversation-not-found",
    )


async def test_taking_a_conversation(
    client: httpx.AsyncClient, new_company: NewCompany, new_assistant: NewAssistant
) -> None:
    company = await new_company()
    operador = uuid4()
    assistant = await new_assistant(company, operador)
    waiting = await company.ask(f"Una {KEYWORD}, por favor", assistant_id=assistant)
    take = f"/internal/conversations/{waiting.conversation_id}/take"

    taken = await client.post(take, headers=company.as_("operador", operador))
    again = await client.post(take, headers=company.as_("operador", operador))
    by_another = await client.post(take, headers=company.as_("supervisor", uuid4()))
    by_a_key = await client.post(take, headers=company.as_api_key("conversations:handle"))

    assert taken.status_code == 200, taken.text
    assert taken.json()["status"] == "human"
    assert taken.json()["assigned_to"] == str(operador)
    assert taken.json()["taken_at"] is not None
    assert again.status_code == 200, again.text
    assert again.json()["taken_at"] == taken.json()["taken_at"]
    held = assert_problem(by_another, 409, "conversation-held")
    assert held["assigned_to"] == str(operador)
    assert_problem(by_a_key, 403, "forbidden")


async def test_of_people_taking_a_conversation_at_once_exactly_one_gets_it(
    client: httpx.AsyncClient, new_company: NewCompany, new_assistant: NewAssistant
) -> None:
    company = await new_company()
    assistant = await new_assistant(company)
    for end_user in ("u1", "u2", "u3"):
        waiting = await company.ask(
            f"Con una {KEYWORD}, por favor", assistant_id=assistant, end_user_id=end_user
        )
        assert waiting.conversation_status == "waiting_human"
        people = [uuid4() for _ in range(3)]
        responses = await asyncio.gather(
            *(
                client.post(
                    f"/internal/conversations/{waiting.conversation_id}/take",
                    headers=company.as_("supervisor", person),
                )
                for person in people
            )
        )
        assert sorted(r.status_code for r in responses) == [200, 409, 409]
        [winner] = [r.json() for r in responses if r.status_code == 200]
        stored = await read(client, company, str(waiting.conversation_id), messages=0)
        assert stored["assigned_to"] == winner["assigned_to"]


async def test_only_the_holder_replies(client: httpx.AsyncClient, new_company: NewCompany) -> None:
    company = await new_company()
    holder, bystander = uuid4(), uuid4()
    waiting = await company.ask(GREETING, end_user_id="u1")
    path = f"/internal/conversations/{waiting.conversation_id}"

    def reply(who: dict[str, str], content: str = "Hola, soy Rosa.") -> Awaitable[httpx.Response]:
        return client.post(f"{path}/reply", json={"content": content}, headers=who)

    assert_problem(await reply(company.as_("supervisor", holder)), 409, "conversation-not-taken")
    taken = await client.post(f"{path}/take", headers=company.as_("supervisor", holder))
    assert taken.status_code == 200, taken.text
    assert_problem(await reply(company.as_("owner", bystander)), 403, "held-by-another")
    assert_problem(await reply(company.as_("supervisor", holder), "   "), 422)
    assert_problem(await reply(company.as_api_key("conversations:handle")), 403, "forbidden")

    replied = await reply(company.as_("supervisor", holder), "  Hola, soy Rosa.  ")

    assert replied.status_code == 201, replied.text
    message = replied.json()
    assert (message["sender_type"], message["sender_id"]) == ("human", str(holder))
    assert message["content"] == "Hola, soy Rosa."
    stored = await read(client, company, str(waiting.conversation_id))
    assert stored["messages"][-1]["id"] == message["id"]
    assert stored["message_count"] == 3
    assert stored["last_message_at"] == message["created_at"]
    async with company.answerer.database.transaction(company.id) as session:
        row = await session.get(Message, UUID(message["id"]))
    assert row is not None
    assert row.sent_by == holder


async def test_resolving_a_conversation(
    client: httpx.AsyncClient, new_company: NewCompany, new_assistant: NewAssistant
) -> None:
    company = await new_company()
    holder, colleague = uuid4(), uuid4()
    assistant = await new_assistant(company, holder, colleague)
    waiting = await company.ask(GREETING, assistant_id=assistant, end_user_id="u1")
    other_waiting = await company.ask(GREETING, assistant_id=assistant, end_user_id="u2")
    path = f"/internal/conversations/{waiting.conversation_id}"
    as_holder, as_colleague = (
        company.as_("operador", holder),
        company.as_("operador", colleague),
    )

    assert_problem(await client.post(f"{path}/resolve", headers=as_holder), 403, "not-holder")
    await client.post(f"{path}/take", headers=as_holder)
    assert_problem(
        await client.post(f"{path}/resolve", headers=as_colleague), 403, "held-by-another"
    )
    resolved = await client.post(f"{path}/resolve", headers=as_holder)
    again = await client.post(f"{path}/resolve", headers=company.as_("supervisor"))

    assert resolved.status_code == 200, resolved.text
    body = resolved.json()
    assert (body["status"], body["assigned_to"], body["resolved_by"]) == (
        "resolved",
        None,
        str(holder),
    )
    assert body["resolved_at"] is not None
    assert again.status_code == 200, again.text
    assert again.json() == body
    assert_problem(
        await client.post(f"{path}/take", headers=as_holder), 409, "conversation-resolved"
    )
    assert_problem(
        await client.post(f"{path}/reply", json={"content": "¿Sigue ahí?"}, headers=as_holder),
        409,
        "conversation-not-taken",
    )
    # A supervisor closes any, held or not.
    other_path = f"/internal/conversations/{other_waiting.conversation_id}"
    await client.post(f"{other_path}/take", headers=as_colleague)
    closed = await client.post(f"{other_path}/resolve", headers=company.as_("supervisor"))
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "resolved"


async def test_reactions_one_per_reactor(
    client: httpx.AsyncClient, new_company: NewCompany
) -> None:
    company, other = await new_company(), await new_company()
    answered = await company.ask(VACATIONS, end_user_id="u1")
    conversation = await read(client, company, str(answered.conversation_id))
    question_message, bot_message = conversation["messages"]
    reactions = f"/internal/messages/{bot_message['id']}/reactions"

    def react(who: dict[str, str], **body: Any) -> Awaitable[httpx.Response]:
        return client.post(reactions, json={"reaction": "thumbs_up"} | body, headers=who)

    first = await react(company.as_())
    changed = await react(company.as_(), reaction="thumbs_down")
    supervisor = await react(company.as_("supervisor", uuid4()), reaction="helpful")
    key_id = uuid4()
    as_key = company.as_api_key("messages:react", key_id=key_id)
    for_end_user = await react(as_key, end_user_id="u1")
    by_key = await react(as_key)

    assert first.status_code == 201, first.text
    assert first.json()["reacted_by"] == str(company.owner)
    assert changed.status_code == 201, changed.text
    assert changed.json()["reaction"] == "thumbs_down"
    assert supervisor.status_code == 201, supervisor.text
    assert for_end_user.json()["reacted_by"] == "end_user:u1"
    assert by_key.json()["reacted_by"] == str(key_id)
    counted = await read(client, company, str(answered.conversation_id))
    assert counted["messages"][1]["reactions"] == {
        "thumbs_down": 1,
        "helpful": 1,
        "thumbs_up": 2,
    }

    assert_problem(
        await client.post(
            f"/internal/messages/{question_message['id']}/reactions",
            json={"reaction": "thumbs_up"},
            headers=company.as_(),
        ),
        422,
        "not-reactable",
    )
    assert_problem(await react(other.as_()), 404, "message-not-found")
    assert_problem(
        await client.post(
            f"/internal/messages/{uuid4()}/reactions",
            json={"reaction": "thumbs_up"},
            headers=company.as_(),
        ),
        404,
        "message-not-found",
    )
    assert_problem(await react(company.as_(), reaction="love"), 422)
    assert_problem(await react(company.as_(), end_user_id="u1"), 422, "end-user-not-allowed")
    assert_problem(
        await react(company.as_api_key("messages:react"), end_user_id="u9"),
        422,
        "end-user-mismatch",
    )
    assert_problem(await react(company.as_api_key("questions:ask")), 403, "forbidden")

    removed = await client.delete(reactions, headers=company.as_())
    assert removed.status_code == 204, removed.text
    assert_problem(await client.delete(reactions, headers=company.as_()), 404, "reaction-not-found")
    removed_for_end_user = await client.delete(
        reactions,
        params={"end_user_id": "u1"},
        headers=as_key,
    )
    assert removed_for_end_user.status_code == 204, removed_for_end_user.text
    assert_problem(await client.delete(reactions, headers=other.as_()), 404, "message-not-found")
    counted = await read(client, company, str(answered.conversation_id))
    assert counted["messages"][1]["reactions"] == {"helpful": 1, "thumbs_up": 1}


async def test_a_persons_reply_takes_reactions_too(
    client: httpx.AsyncClient, new_company: NewCompany
) -> None:
    company = await new_company()
    holder = uuid4()
    waiting = await company.ask(GREETING, end_user_id="u1")
    path = f"/internal/conversations/{waiting.conversation_id}"
    await client.post(f"{path}/take", headers=company.as_("supervisor", holder))
    replied = await client.post(
        f"{path}/reply", json={"content": "Le ayudo yo."}, headers=company.as_("supervisor", holder)
    )

    reacted = await client.post(
        f"/internal/messages/{replied.json()['id']}/reactions",
        json={"reaction": "helpful"},
        headers=company.as_api_key("messages:react"),
    )

    assert reacted.status_code == 201, reacted.text
    stored = await read(client, company, str(waiting.conversation_id))
    assert stored["messages"][-1]["reactions"] == {"helpful": 1}


async def test_while_a_person_holds_it_the_bot_is_silent(
    client: httpx.AsyncClient, new_company: NewCompany
) -> None:
    company = await new_company()
    waiting = await company.ask(GREETING, end_user_id="u1")
    path = f"/internal/conversations/{waiting.conversation_id}"
    taken = await client.post(f"{path}/take", headers=company.as_("supervisor"))
    assert taken.status_code == 200, taken.text

    named = await company.ask(VACATIONS, conversation_id=waiting.conversation_id)
    found_by_end_user = await company.ask(REMOTE, end_user_id="u1")

    for answered in (named, found_by_end_user):
        assert answered.answer is None
        assert answered.message_id is None
        assert (answered.conversation_id, answered.conversation_status) == (
            waiting.conversation_id,
            "human",
        )
    stored = await read(client, company, str(waiting.conversation_id))
    assert [(m["sender_type"], m["content"]) for m in stored["messages"][2:]] == [
        ("end_user", VACATIONS),
        ("end_user", REMOTE),
    ]
    assert (stored["message_count"], stored["status"]) == (4, "human")


async def test_after_resolving_the_bot_answers_again(
    client: httpx.AsyncClient, new_company: NewCompany
) -> None:
    company = await new_company()
    first = await company.ask(GREETING, end_user_id="u1")
    path = f"/internal/conversations/{first.conversation_id}"
    await client.post(f"{path}/take", headers=company.as_("supervisor"))
    resolved = await client.post(f"{path}/resolve", headers=company.as_("supervisor"))
    assert resolved.json()["status"] == "resolved"

    reopened = await company.ask(VACATIONS, conversation_id=first.conversation_id)

    assert reopened.conversation_id == first.conversation_id
    assert reopened.conversation_status == "bot"
    assert reopened.answer is not None
    assert "veintitrés" in reopened.answer
    stored = await read(client, company, str(first.conversation_id), messages=0)
    assert (stored["status"], stored["resolved_at"], stored["message_count"]) == ("bot", None, 4)

    await client.post(f"{path}/resolve", headers=company.as_("supervisor"))
    fresh = await company.ask(VACATIONS, end_user_id="u1")

    assert fresh.conversation_id not in (None, first.conversation_id)
    assert fresh.answer is not None
    listed = await client.get(
        "/internal/conversations", params={"end_user_id": "u1"}, headers=company.as_()
    )
    assert [item["status"] for item in listed.json()["items"]] == ["bot", "resolved"]
