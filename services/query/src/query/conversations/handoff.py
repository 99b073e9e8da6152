"""When a conversation goes to a person: one of the assistant's trigger keywords, the end user
asking for a person, an answer the bot is not confident of, or no answer at all.

Text is compared as words, without case or accents ("Reclamacion" is "reclamación"), and a
keyword matches whole words only: "ira" is not said in "mirar".
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from common.events import HandoffReason
from query.index.sparse import fold


@dataclass(frozen=True)
class HandoffRules:
    """An assistant's hand-off settings; the defaults serve questions asked without one."""

    keywords: Sequence[str] = field(default_factory=tuple)
    on_low_confidence: bool = True
    min_confidence: float = 0.35
    on_user_request: bool = True


_WORD = re.compile(r"\w+")


def _words(text: str) -> list[str]:
    return [fold(word) for word in _WORD.findall(text)]


def _word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


def _said(keyword: list[str], words: list[str]) -> bool:
    """The keyword's words, in order and side by side; each may take a plural ending
    ("queja" is said in "quejas"), never any other."""
    width = len(keyword)
    return any(
        all(
            word == wanted or word in (wanted + "s", wanted + "es")
            for word, wanted in zip(words[at : at + width], keyword, strict=True)
        )
        for at in range(len(words) - width + 1)
    )


def says_a_keyword(question: str, keywords: Sequence[str]) -> bool:
    words = _words(question)
    return any(wanted and _said(wanted, words) for wanted in map(_words, keywords))


# What the end user may call a person, in Spanish and English (accents folded).
_PERSON_ES = (
    r"(?:persona|personas|ser humano|humano|humana|gente|agente|agentes|operador|operadora"
    r"|operadores|asesor|asesora|representante|empleado|empleada|alguien|responsable"
    r"|encargado|encargada|especialista|tecnico|tecnica|comercial|soporte"
    r"|atencion al cliente|servicio al cliente)"
)
_BEFORE_PERSON_ES = (
    r"(?:(?:un|una|el|la|los|las|algun|alguna|alguno|otro|otra|vuestro|vuestra|vuestros|tu|su"
    r"|sus)\s)?"
)
_PERSON_EN = (
    r"(?:human being|human|humans|real person|live person|live agent|person|people|agent"
    r"|representative|rep|operator|someone|somebody|anyone|anybody|staff|member of staff"
    r"|customer service|customer support|support|manager)"
)
_BEFORE_PERSON_EN = r"(?:(?:a|an|the|some|your|one of your|a real|a live)\s)?"
_ASKS_FOR_A_PERSON = [
    re.compile(pattern)
    for pattern in (
        # "quiero hablar con una persona", "¿me pasas con un agente?", "ponerme en contacto con…"
        r"\b(?:hablar|hablo|hable|habla|charlar|contactar|comunicar|comunicarme|pasar|pasarme"
        r"|pasame|pasas|pasa|pasais|pasen|pase|poner|ponerme|ponme|pones|ponga|pongan|conectar"
        r"|conectarme|conectame|transferir|transferirme|derivar|derivarme|derivame)"
        rf"\s(?:en contacto\s)?con\s{_BEFORE_PERSON_ES}{_PERSON_ES}\b",
        # "que me atienda una persona", "quiero un humano"
        rf"\b(?:atienda|atiendan|atender|quiero|necesito|prefiero|quisiera)\s{_BEFORE_PERSON_ES}"
        r"(?:persona|ser humano|humano|agente|operador|operadora|asesor|asesora|representante)\b",
        r"\b(?:persona|atencion|trato)\s(?:real|humana|humano|de verdad)\b",
        r"\bno\s(?:quiero|deseo)\s(?:hablar\scon\s)?(?:un|una|el|la)?\s?(?:bot|robot|maquina"
        r"|chatbot|ia)\b",
        # "talk to a human", "speak to someone", "can I chat with an agent"
        rf"\b(?:talk|speak|chat)\s(?:to|with)\s{_BEFORE_PERSON_EN}{_PERSON_EN}\b",
        rf"\b(?:connect|transfer|put|pass|forward|escalate|route|get)\s(?:me|this)\s"
        rf"(?:through\s)?(?:to|with)\s{_BEFORE_PERSON_EN}{_PERSON_EN}\b",
        r"\b(?:real|live|actual)\s(?:person|human|agent|people)\b",
        r"\bhuman\s(?:agent|being|support|operator|representative)\b",
        r"\b(?:want|need|d like|would like)\s(?:a|an|to\stalk\sto\sa)\s"
        r"(?:human|person|agent|operator|representative)\b",
    )
]
# A request made only of these ("¡Operador!", "agent please") asks for a person too.
_PERSON_WORDS = _word_set(
    """persona humano agente operador operadora asesor asesora representante human person
    agent operator representative"""
)
_COURTESY_WORDS = _word_set(
    """un una el la con por favor porfa hola quiero necesito please a an the hi hello i want
    need to"""
)
_NEGATED = re.compile(r"\b(?:no|not|never|nunca)\s(?:quiero|necesito|want|need)\b")
_NEGATION_REACH = 3
"""Words before a request that may take it back ("I don't want to talk to …")."""


def wants_a_person(question: str) -> bool:
    """Whether the end user asks to talk to a person rather than the bot."""
    words = _words(question)
    text = " ".join(words).replace("don t ", "not ").replace("do not ", "not ")
    for pattern in _ASKS_FOR_A_PERSON:
        for found in pattern.finditer(text):
            before = text[: found.start()].split()[-_NEGATION_REACH:]
            said = " ".join([*before, found.group()])
            if found.group().startswith("no ") or not _NEGATED.search(said):
                return True
    named = [word for word in words if word not in _COURTESY_WORDS]
    return bool(named) and all(word in _PERSON_WORDS for word in named)


def asked_for_handoff(question: str, rules: HandoffRules) -> HandoffReason | None:
    """Before answering: a trigger keyword, or the end user asking for a person."""
    if says_a_keyword(question, rules.keywords):
        return "keyword"
    if rules.on_user_request and wants_a_person(question):
        return "user_request"
    return None


def answer_needs_handoff(
    *, found: bool, confidence: float | None, rules: HandoffRules
) -> HandoffReason | None:
    """After answering: nothing found always goes to a person (the reply said so instead of
    guessing); an answer found on weak passages does when the rules say."""
    if not found:
        return "no_answer"
    if rules.on_low_confidence and (confidence is None or confidence < rules.min_confidence):
        return "low_confidence"
    return None
