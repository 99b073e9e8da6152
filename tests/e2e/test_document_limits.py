"""The plan's document characters and storage as a client meets them, through the gateway, the
broker and the four processes: a document past the characters left fails with the reason;
deleting a document gives back its characters and, once its files are gone, its storage."""

import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from devstack.client import Account, signup, upload, wait_for_status

pytestmark = pytest.mark.e2e

STARTER_CHARACTERS = 50_000
SENTENCE = "El teletrabajo se acuerda con el equipo y se registra en el calendario común. "


def text_file(characters: int) -> bytes:
    """About `characters` characters of plain text, distinct from every other file."""
    head = f"Política {uuid.uuid4()}\n\n"
    body = SENTENCE * ((characters - len(head)) // len(SENTENCE) + 1)
    return (head + body)[:characters].encode()


def usage(api: httpx.Client, account: Account) -> dict[str, Any]:
    response = api.get("/v1/company", headers=account.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()["usage"]
    return body


def eventually(check: Callable[[], bool], what: str, within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {within}s for {what}")
        time.sleep(0.3)


def uploaded(api: httpx.Client, account: Account, name: str, content: bytes) -> dict[str, Any]:
    accepted = upload(api, account, name, content, "text/plain")
    assert accepted.status_code == 202, accepted.text
    document, _ = wait_for_status(api, account, accepted.json()["id"])
    return document


def test_documents_past_the_plans_characters_fail_and_deleting_gives_back(
    api: httpx.Client,
) -> None:
    account = signup(api, "Sigma Caracteres")
    first_file, second_file = text_file(30_000), text_file(28_000)

    first = uploaded(api, account, "teletrabajo.txt", first_file)
    assert first["status"] == "ready", first
    second = uploaded(api, account, "vacaciones.txt", second_file)

    assert second["status"] == "failed", second
    left = STARTER_CHARACTERS - first["char_count"]
    assert second["failure_reason"].startswith(
        f"This document has {second['char_count']:,} characters; your plan allows "
        f"{STARTER_CHARACTERS:,} in all and {left:,} are left."
    )
    now = usage(api, account)
    assert now["document_characters"] == {
        "used": first["char_count"],
        "allowed": STARTER_CHARACTERS,
    }
    # The refused file is kept (the person may still read what went wrong) and counted.
    assert now["storage"]["used_bytes"] == len(first_file) + len(second_file)

    deleted = api.delete(f"/v1/documents/{first['id']}", headers=account.headers)
    assert deleted.status_code == 202, deleted.text
    assert usage(api, account)["document_characters"]["used"] == 0
    wait_for_status(api, account, first["id"], final=frozenset({"deleted"}))
    eventually(
        lambda: usage(api, account)["storage"]["used_bytes"] == len(second_file),
        "the deleted document's storage to come back",
    )

    again = uploaded(api, account, "vacaciones.txt", second_file)
    assert again["status"] == "ready", again
    assert usage(api, account)["document_characters"]["used"] == again["char_count"]
