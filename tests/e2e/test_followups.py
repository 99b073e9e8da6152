"""A follow-up question through the gateway and the four real processes: "¿y cuánto cuesta?"
in a conversation about one product is answered from that product's sheet."""

import httpx
import pytest

from devstack.client import signup, upload, wait_for_status

pytestmark = pytest.mark.e2e

AURORA_MD = """# Cafetera Aurora

## Descripción

El modelo Aurora es una cafetera espresso superautomática para oficinas, con molinillo
cerámico integrado y depósito de agua de 2,5 litros.

## Capacidad

La Aurora prepara hasta 120 cafés al día y se maneja desde una pantalla táctil con doce
recetas programables.

## Precio

Precio: el modelo Aurora cuesta 1.200 euros, IVA incluido, con la instalación en la oficina
gratuita.

## Garantía

La cafetera Aurora tiene tres años de garantía, con una revisión anual incluida.
""".encode()

BOREAL_MD = """# Molinillo Boreal

## Descripción

El modelo Boreal es un molinillo de café eléctrico de muelas planas para uso doméstico, con
40 niveles de molienda.

## Capacidad

El Boreal muele 200 gramos de café por minuto y su tolva admite 250 gramos de grano.

## Precio

Precio: el modelo Boreal cuesta 90 euros, IVA incluido, y el envío es gratuito.

## Garantía

El molinillo Boreal tiene dos años de garantía.
""".encode()


def test_how_much_after_a_product_is_answered_from_that_product(api: httpx.Client) -> None:
    account = signup(api, "Cafés Aurora y Boreal")
    sheets = {}
    for name, content in (("aurora", AURORA_MD), ("boreal", BOREAL_MD)):
        uploaded = upload(
            api, account, f"{name}.md", content, "text/markdown", title=f"Ficha {name}"
        )
        assert uploaded.status_code == 202, uploaded.text
        sheets[name] = uploaded.json()["id"]
    for document_id in sheets.values():
        document, _ = wait_for_status(api, account, document_id)
        assert document["status"] == "ready", document

    first = api.post(
        "/v1/questions",
        headers=account.headers,
        json={"question": "¿Qué es el modelo Aurora?", "end_user_id": "cliente-1"},
    )
    assert first.status_code == 200, first.text
    conversation_id = first.json()["conversation_id"]
    assert conversation_id
    follow_up = api.post(
        "/v1/questions",
        headers=account.headers,
        json={"question": "¿y cuánto cuesta?", "conversation_id": conversation_id},
    )

    assert follow_up.status_code == 200, follow_up.text
    body = follow_up.json()
    assert body["conversation_id"] == conversation_id
    assert body["found"] is True
    assert body["citations"][0]["document_id"] == sheets["aurora"], body
    assert body["answer"].startswith("Precio: el modelo Aurora cuesta 1.200 euros"), body

    # The conversation is what found Aurora: the same words alone find the other sheet first.
    alone = api.post(
        "/v1/questions",
        headers=account.headers,
        json={"question": "¿y cuánto cuesta?", "end_user_id": "cliente-2"},
    )
    assert alone.status_code == 200, alone.text
    assert alone.json()["conversation_id"] != conversation_id
    assert alone.json()["citations"][0]["document_id"] == sheets["boreal"], alone.json()
