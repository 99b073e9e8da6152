"""Follow-up questions: a question that leans on the earlier turns ("¿y cuánto cuesta?",
"what about its warranty?") is rewritten with them before retrieval, so the search knows what
"it" is.

The rewrite is offline and deterministic, in Spanish and English, for every answer provider:
the search text is the end user's latest earlier question (as it was searched, so a chain of
follow-ups carries its subject forward) with the follow-up under it. With the `openai`
provider the model also reads the earlier turns themselves (prompts.build_messages), so it
understands the follow-up in context; only the search is rewritten here, with no model call.

A question depends on the earlier turns when it opens as a continuation ("¿y …", "and …",
"what about …"), when it has almost nothing of its own to search with ("¿cuánto cuesta?"), or
when it points back ("eso", "ese modelo", "¿lo tienen en rojo?", "su precio", "it", "its",
"them") and says little else. Words are read as the lexical search reads them
(query.index.sparse: its tokens, accent folding and stop words).
"""

from collections.abc import Collection, Sequence

from query.conversations.handoff import wants_a_person
from query.index.sparse import STOP_WORDS, TOKEN, fold


def _word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


MAX_CHAINED_QUESTIONS = 3
"""A rewrite holds at most this many questions: the first (it set the subject) and the
latest, so a long chain of follow-ups does not drown the search in old words."""

_CONTINUATIONS = (
    ("y",),
    ("e",),
    ("o",),
    ("ademas",),
    ("tambien",),
    ("entonces",),
    ("que", "tal"),
    ("and",),
    ("or",),
    ("also",),
    ("plus",),
    ("what", "about"),
    ("how", "about"),
    ("what", "else"),
)
# Words that point back to something said before, whatever else the question says.
_POINTING_BACK = _word_set(
    """eso esto ello aquello ese esa esos esas estos estas aquel aquella aquellos aquellas
    éste ésta éstos éstas ése ésa ésos ésas
    it its itself they them their theirs this these those"""
)
# "este"/"esta" point back ("¿cuánto cuesta este?", "esta cafetera") unless a stop word
# follows: then "esta" is most likely "está" typed without its accent ("¿dónde esta la …?").
_POINTING_BACK_UNLESS_STOP_WORD_FOLLOWS = frozenset({"este", "esta"})
# "that" points back at the start or after a stop word ("is that included?"), not as a
# relative after a noun ("a policy that covers …"): told apart by the word before it.
_THAT = "that"
_POSSESSIVES = frozenset({"su", "sus"})
_CLITICS = frozenset({"lo", "la", "los", "las", "le", "les"})
# A clitic pronoun stands before its verb: at the start, or after a question word, a
# pronoun or "no" ("¿cuándo lo envían?", "¿me lo cambian?", "¿no la tienen?").
_CLITIC_OPENERS = _word_set(
    """que como cuando donde cuanto cuanta cuantos cuantas quien cual se me te nos no ya
    tambien"""
)
_ARTICLE_CLITICS = frozenset({"la", "los", "las"})
"""Also articles: only a clitic after an opener, never at the start ("¿La oficina abre …?")."""
_NOT_A_VERB_AFTER = frozenset({"que", "de", "del"})
_ENCLITIC_ENDINGS = tuple(
    verb + pronoun
    for verb in ("ar", "er", "ir", "ando", "iendo")
    for pronoun in ("lo", "la", "los", "las", "selo", "sela", "selos", "selas")
)
# Words of asking that name no subject ("¿me puedes decir cuánto cuesta?").
_ASKING_WORDS = _word_set(
    """puedo puedes puede podemos podeis pueden podria podrias podrian decir dime digame
    saber sabes quiero quisiera gustaria necesito favor porfa hola gracias
    please tell know want like much many can could would hi hello thanks"""
)
_FEW_WORDS = 1
"""A question with no more content words than this cannot be searched alone."""
_FEW_WORDS_POINTING_BACK = 3
_FEW_WORDS_WEAK_POINTER = 2
"""Possessives and clitics are also said of things not in the conversation ("su horario")."""


def standalone_question(question: str, earlier_questions: Sequence[str]) -> str:
    """The text to search with: the question itself, or, when it is a follow-up, the latest
    earlier question that set a subject with the follow-up under it (one question a line).
    `earlier_questions` are the end user's earlier questions in this conversation, as they
    were searched, oldest first."""
    if not depends_on_earlier(question):
        return question
    subject = next((q for q in reversed(earlier_questions) if _sets_a_subject(q)), None)
    if subject is None:
        return question
    chain = [line.strip() for line in subject.splitlines() if line.strip()]
    if len(chain) >= MAX_CHAINED_QUESTIONS:
        chain = [chain[0], *chain[len(chain) - MAX_CHAINED_QUESTIONS + 2 :]]
    return "\n".join([*chain, " ".join(question.split())])


def depends_on_earlier(question: str) -> bool:
    """Whether the question leans on the earlier turns for its subject."""
    tokens = TOKEN.findall(question)
    cased = [token.lower() for token in tokens]
    words = [fold(token) for token in cased]
    if not words:
        return False
    if any(tuple(words[: len(opening)]) == opening for opening in _CONTINUATIONS):
        return True
    strong, weak = _pointers(cased, words)
    own = len(_content_words(words, skip=strong | weak))
    if own <= _FEW_WORDS and not _names_something(tokens):
        return True
    if strong and own <= _FEW_WORDS_POINTING_BACK:
        return True
    return bool(weak) and own <= _FEW_WORDS_WEAK_POINTER


def _pointers(cased: list[str], words: list[str]) -> tuple[set[int], set[int]]:
    """The positions of the words that point back: plainly (demonstratives, "it"), or
    weakly (possessives, clitic pronouns), which alone say less."""
    strong: set[int] = set()
    weak: set[int] = set()
    for at, (token, word) in enumerate(zip(cased, words, strict=True)):
        before = words[at - 1] if at else None
        after = words[at + 1] if at + 1 < len(words) else None
        if token in _POINTING_BACK:
            strong.add(at)
        elif token in _POINTING_BACK_UNLESS_STOP_WORD_FOLLOWS:
            if after is None or after not in STOP_WORDS:
                strong.add(at)
        elif word == _THAT:
            if before is None or before in STOP_WORDS:
                strong.add(at)
        elif word in _POSSESSIVES:
            weak.add(at)
        elif word in _CLITICS:
            opens = before in _CLITIC_OPENERS or (before is None and word not in _ARTICLE_CLITICS)
            if opens and after not in _NOT_A_VERB_AFTER:
                weak.add(at)
        elif word.isalpha() and _is_enclitic(word):
            weak.add(at)
    return strong, weak


def _names_something(tokens: list[str]) -> bool:
    """A name ("¿Quién es Carlos?") or a code ("¿Qué es el XR-200?"): a subject of its own,
    however short the question."""
    named = any(token[:1].isupper() for token in tokens[1:])
    coded = any(not token.isalpha() and not token.isdigit() for token in tokens)
    return named or coded


def _is_enclitic(word: str) -> bool:
    """An infinitive or gerund with its object attached ("devolverlo", "enviándola")."""
    for ending in _ENCLITIC_ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= 2:
            return True
    return False


def _content_words(words: list[str], *, skip: Collection[int] = ()) -> set[str]:
    return {
        word
        for at, word in enumerate(words)
        if at not in skip
        and word not in STOP_WORDS
        and word not in _ASKING_WORDS
        and (len(word) > 1 or word.isdigit())
    }


def _sets_a_subject(question: str) -> bool:
    """An earlier question a follow-up can lean on: one with words to search, and not a
    request to talk to a person."""
    words = [fold(token) for token in TOKEN.findall(question)]
    return bool(_content_words(words)) and not wants_a_person(question)
