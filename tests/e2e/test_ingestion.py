"""Ingestion end to end: real office files and a scan become cited answers; the format is
judged by content; duplicates, live progress, metadata changes and deletion, all through the
gateway and the four processes."""

import io
import json
import time
import uuid

import httpx
import pytest
from docx import Document as WordDocument
from PIL import Image, ImageDraw, ImageFont

from devstack.client import Account, assert_problem, signup, upload, wait_for_status

pytestmark = pytest.mark.e2e

# Installed by `make install` (system-deps): a font with the accented letters Spanish needs.
SCAN_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
STAGES = ("pending", "extracting", "chunking", "embedding", "indexing", "ready")


def word_file(unique: str) -> bytes:
    document = WordDocument()
    document.add_heading("Política de gastos", level=1)
    document.add_paragraph(
        f"Las dietas de viaje de {unique} son de cuarenta y cinco euros por día en España."
    )
    document.add_heading("Material", level=1)
    document.add_paragraph("Los portátiles se renuevan cada cuatro años.")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def scanned_page(sentence: str) -> bytes:
    image = Image.new("L", (1800, 300), 255)
    font = ImageFont.truetype(SCAN_FONT, size=52)
    ImageDraw.Draw(image).text((40, 110), sentence, fill=0, font=font)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def ask(api: httpx.Client, account: Account, question: str) -> dict[str, object]:
    response = api.post("/v1/questions", headers=account.headers, json={"question": question})
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def cited_titles(api: httpx.Client, account: Account, question: str, document_id: str) -> set[str]:
    citations: list[dict[str, str]] = ask(api, account, question)["citations"]  # type: ignore[assignment]
    return {c["title"] for c in citations if c["document_id"] == document_id}


def test_a_word_file_is_answered_with_its_section(api: httpx.Client) -> None:
    account = signup(api, "Épsilon Viajes")
    accepted = upload(
        api,
        account,
        "gastos.bin",  # the name says nothing: the content says Word
        word_file("Épsilon"),
        "application/octet-stream",
        tags="finanzas, viajes",
        category="Políticas",
    )
    assert accepted.status_code == 202, accepted.text
    document, seen = wait_for_status(api, account, accepted.json()["id"])
    assert document["status"] == "ready", document
    assert seen == [s for s in STAGES if s in seen]
    assert document["detected_format"] == "docx"
    assert document["language"] == "es"
    assert document["progress"] == 100
    assert document["tags"] == ["finanzas", "viajes"]
    assert document["category"] == "Políticas"
    assert {"extracting_ms", "chunking_ms", "embedding_ms", "indexing_ms"} <= set(
        document["stage_timings"]
    )

    answer = ask(api, account, "¿Cuánto son las dietas de viaje por día?")
    assert "cuarenta y cinco euros" in str(answer["answer"])
    citation = next(c for c in answer["citations"] if c["document_id"] == document["id"])  # type: ignore[attr-defined]
    assert citation["section"] == "Política de gastos"


def test_a_scanned_image_is_read_by_ocr(api: httpx.Client) -> None:
    account = signup(api, "Zeta Archivo")
    image = scanned_page("El archivo central cierra los sábados por la tarde.")
    accepted = upload(api, account, "escaneo.png", image, "image/png")
    assert accepted.status_code == 202, accepted.text
    document, _ = wait_for_status(api, account, accepted.json()["id"])
    assert document["status"] == "ready", document
    assert document["ocr_pages"] == 1
    answer = ask(api, account, "¿Cuándo cierra el archivo central?")
    assert "sábados" in str(answer["answer"]).lower()


def test_the_format_is_judged_by_content(api: httpx.Client) -> None:
    account = signup(api, "Eta Formatos")
    fake = upload(api, account, "informe.pdf", bytes(range(256)) * 64, "application/pdf")
    assert assert_problem(fake, 415)["type"].endswith("/unsupported-format")
    legacy = upload(api, account, "viejo.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600)
    assert_problem(legacy, 415)


def test_the_same_content_twice_is_a_conflict(api: httpx.Client) -> None:
    account = signup(api, "Theta Copias")
    content = f"# Nota {uuid.uuid4()}\n\nEl comité se reúne los martes.\n".encode()
    first = upload(api, account, "nota.md", content, "text/markdown")
    assert first.status_code == 202, first.text
    # Once ingest has it, the gateway refuses the copy at once; a copy racing the first
    # upload ends `failed` as its duplicate instead (the ingest service tests show that).
    wait_for_status(api, account, first.json()["id"])
    second = upload(api, account, "copia.md", content, "text/markdown")
    problem = assert_problem(second, 409)
    assert problem["document_id"] == first.json()["id"]


def test_progress_streams_as_server_sent_events(api: httpx.Client) -> None:
    account = signup(api, "Iota Directo")
    accepted = upload(api, account, "manual.docx", word_file("Iota"))
    assert accepted.status_code == 202, accepted.text
    document_id = accepted.json()["id"]
    events = []
    url = f"/v1/documents/{document_id}/events"
    with api.stream("GET", url, headers=account.headers) as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        for line in stream.iter_lines():
            if line.startswith("data: "):
                events.append(json.loads(line.removeprefix("data: ")))
    statuses = [e["status"] for e in events]
    assert statuses[-1] == "ready", statuses
    assert statuses == [s for s in STAGES if s in statuses], statuses
    progress = [e["progress"] for e in events]
    assert progress == sorted(progress)
    assert progress[-1] == 100
    stranger = signup(api, "Kappa Curiosa")
    assert_problem(api.get(url, headers=stranger.headers), 404)


def test_metadata_can_change_and_a_deleted_document_is_never_cited(api: httpx.Client) -> None:
    account = signup(api, "Lambda Borrado")
    content = (
        b"# Aparcamiento\n\nLa plaza de aparcamiento del edificio norte es la treinta y dos.\n"
    )
    accepted = upload(api, account, "parking.md", content, "text/markdown")
    document_id = accepted.json()["id"]
    wait_for_status(api, account, document_id)
    question = "¿Cuál es la plaza de aparcamiento del edificio norte?"
    assert any(c["document_id"] == document_id for c in ask(api, account, question)["citations"])  # type: ignore[attr-defined]

    changed = api.patch(
        f"/v1/documents/{document_id}",
        headers=account.headers,
        json={"title": "Aparcamiento", "tags": ["edificio"], "category": "Instalaciones"},
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["title"], changed.json()["tags"]) == ("Aparcamiento", ["edificio"])
    # The new title reaches the index through the bus: citations follow it shortly.
    deadline = time.monotonic() + 30
    while (titles := cited_titles(api, account, question, document_id)) != {"Aparcamiento"}:
        assert time.monotonic() < deadline, titles
        time.sleep(0.5)
    for bad in ({"owner": "x"}, {"title": None}, {"tags": ["x" * 51]}):
        assert_problem(
            api.patch(f"/v1/documents/{document_id}", headers=account.headers, json=bad), 422
        )

    stranger = signup(api, "Mu Intrusa")
    assert_problem(api.delete(f"/v1/documents/{document_id}", headers=stranger.headers), 404)
    deleting = api.delete(f"/v1/documents/{document_id}", headers=account.headers)
    assert deleting.status_code == 202, deleting.text
    assert deleting.json()["status"] == "deleting"
    wait_for_status(api, account, document_id, frozenset({"deleted"}))
    assert_problem(api.get(f"/v1/documents/{document_id}", headers=account.headers), 404)
    assert all(c["document_id"] != document_id for c in ask(api, account, question)["citations"])  # type: ignore[attr-defined]
    listed = api.get("/v1/documents", headers=account.headers).json()["items"]
    assert document_id not in [d["id"] for d in listed]
    # The same content may come back once the old copy is gone.
    time.sleep(0.1)
    assert upload(api, account, "parking.md", content, "text/markdown").status_code == 202


def test_a_new_version_replaces_the_old_one_in_answers(api: httpx.Client) -> None:
    account = signup(api, "Nu Sedes")
    question = "¿Dónde está la sede de la empresa?"
    old = "# Sede\n\nLa sede de la empresa está en Sevilla, junto al río.\n"
    accepted = upload(api, account, "sede.md", old.encode(), "text/markdown")
    document_id = accepted.json()["id"]
    document, _ = wait_for_status(api, account, document_id)
    assert (document["version"], document["active_version"]) == (1, 1)
    title = document["title"]
    assert "Sevilla" in str(ask(api, account, question)["answer"])

    url = f"/v1/documents/{document_id}/versions"
    new = "# Sede\n\nLa sede de la empresa está en Bilbao, junto a la ría.\n"
    files = {"file": ("sede-2026.md", new.encode(), "text/markdown")}
    replaced = api.post(url, headers=account.headers, files=files)
    assert replaced.status_code == 202, replaced.text
    assert (replaced.json()["id"], replaced.json()["version"]) == (document_id, 2)

    # While the new version is processed, every answer comes from exactly one version.
    deadline = time.monotonic() + 120
    while True:
        answer = str(ask(api, account, question)["answer"])
        assert ("Sevilla" in answer) != ("Bilbao" in answer), answer
        document = api.get(f"/v1/documents/{document_id}", headers=account.headers).json()
        if document["active_version"] == 2:
            break
        assert time.monotonic() < deadline, document
    # The title stays: a new version replaces content, not what people call the document.
    assert (document["status"], document["version"], document["title"]) == ("ready", 2, title)
    final = ask(api, account, question)
    assert "Bilbao" in str(final["answer"])
    assert {c["document_id"] for c in final["citations"]} == {document_id}  # type: ignore[attr-defined]

    again = api.post(url, headers=account.headers, files=files)
    assert assert_problem(again, 409)["type"].endswith("/same-content")
    stranger = signup(api, "Xi Ajena")
    assert_problem(api.post(url, headers=stranger.headers, files=files), 404)
    unknown = f"/v1/documents/{uuid.uuid4()}/versions"
    assert_problem(api.post(unknown, headers=account.headers, files=files), 404)
