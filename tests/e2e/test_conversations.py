"""A conversation handed from the bot to a person, through the gateway and the four
processes: a trigger word flags it, the assigned operador finds it waiting (an unassigned one
does not), takes it, the bot stays silent while the person replies, and once resolved the bot
answers again; the bot's reply takes a reaction."""

from typing import Any

import httpx
import pytest

from devstack.client import assert_problem, create_assistant, invite, signup

pytestmark = pytest.mark.e2e
KEYWORD = "persona"
REPLY = "Hola, soy Rosa. ¿En qué le ayudo?"
END_USER = "cliente-42"


def test_a_person_takes_over_from_the_bot_and_hands_back(api: httpx.Client) -> None:
    owner = signup(api, "Omega Atención")
    operador, unassigned = invite(api, owner, "operador"), invite(api, owner, "operador")
    assistant = create_assistant(
        api, owner, handoff={"keywords": [KEYWORD]}, operator_ids=[operador.user_id]
    )

    def ask(question: str, **fields: Any) -> httpx.Response:
        return api.post(
            "/v1/questions",
            json={"question": question, "end_user_id": END_USER, "channel": "web"} | fields,
            headers=owner.headers,
        )

    flagged = ask(f"Quiero hablar con una {KEYWORD}", assistant_id=assistant["id"])
    assert flagged.status_code == 200, flagged.text
    handed = flagged.json()
    assert handed["needs_human"] is True
    assert (handed["handoff_reason"], handed["conversation_status"]) == ("keyword", "waiting_human")
    assert handed["answer"]
    conversation_id, bot_message_id = handed["conversation_id"], handed["message_id"]
    path = f"/v1/conversations/{conversation_id}"

    waiting = api.get(
        "/v1/conversations", params={"status": "waiting_human"}, headers=operador.headers
    )
    assert waiting.status_code == 200, waiting.text
    assert [c["id"] for c in waiting.json()["items"]] == [conversation_id]
    assert waiting.json()["items"][0]["end_user_id"] == END_USER
    not_theirs = api.get("/v1/conversations", headers=unassigned.headers)
    assert not_theirs.json()["items"] == []
    assert_problem(api.get(path, headers=unassigned.headers), 404, "conversation-not-found")

    taken = api.post(f"{path}/take", headers=operador.headers)
    assert taken.status_code == 200, taken.text
    assert (taken.json()["status"], taken.json()["assigned_to"]) == ("human", operador.user_id)
    assert_problem(api.post(f"{path}/take", headers=owner.headers), 409, "conversation-held")

    held = ask("¿Sigue ahí alguien?", conversation_id=conversation_id)
    assert held.status_code == 202, held.text
    assert (held.json()["answer"], held.json()["conversation_status"]) == (None, "human")

    replied = api.post(f"{path}/reply", json={"content": REPLY}, headers=operador.headers)
    assert replied.status_code == 201, replied.text
    reacted = api.post(
        f"/v1/messages/{bot_message_id}/reactions",
        json={"reaction": "helpful"},
        headers=operador.headers,
    )
    assert reacted.status_code == 201, reacted.text
    assert reacted.json()["reacted_by"] == operador.user_id

    conversation = api.get(path, headers=operador.headers)
    assert conversation.status_code == 200, conversation.text
    messages = conversation.json()["messages"]
    assert [(m["sender_type"], m["content"]) for m in messages[-2:]] == [
        ("end_user", "¿Sigue ahí alguien?"),
        ("human", REPLY),
    ]
    assert messages[-1]["sender_id"] == operador.user_id
    [bot_reply] = [m for m in messages if m["id"] == bot_message_id]
    assert bot_reply["reactions"] == {"helpful": 1}

    resolved = api.post(f"{path}/resolve", headers=operador.headers)
    assert resolved.status_code == 200, resolved.text
    assert (resolved.json()["status"], resolved.json()["resolved_by"]) == (
        "resolved",
        operador.user_id,
    )

    again = ask("Otra pregunta más, gracias", conversation_id=conversation_id)
    assert again.status_code == 200, again.text
    assert again.json()["answer"]
    assert again.json()["conversation_id"] == conversation_id
    assert again.json()["message_id"] not in (None, bot_message_id)
