"""Sparse term vectors for the lexical half of hybrid retrieval: BM25's term-frequency part is
computed here, its IDF part by Qdrant (the collection's sparse vector has `Modifier.IDF`).

A text becomes terms: words (codes such as "XR-200" or "v2.1" stay whole) lowercased, stop
words dropped, and each word stemmed with the Snowball stemmer of the text's language, Spanish
or English. The language is guessed from the stop words the text uses; a text that gives no
clear sign (a short question, a list of codes) is stemmed with both, so its terms still meet
those of a document in either language. A term's index is a stable 32-bit hash of the term
(CRC-32): the same in every process and every release, so stored vectors stay comparable.
"""

import re
import unicodedata
import zlib
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

import snowballstemmer
from qdrant_client import models

# A word, or a code joined by '-', '.' or '/' ("XR-200", "v2.1", "ISO/IEC"): kept whole.
TOKEN = re.compile(r"\w+(?:[-./]\w+)*")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


SPANISH_STOP_WORDS = _words(
    """a al algo algunas algunos ante antes como con contra cual cuales cuando de del desde
    donde durante e el ella ellas ellos en entre era eran es esa esas ese eso esos esta
    estaba estan estas este esto estos fue fueron ha habia han hasta hay la las le les lo
    los mas me mi mis muy nada ni no nos nosotros o os otra otras otro otros para pero poco
    por porque que quien quienes se sea sean ser si sido sin sobre son su sus tambien tan
    tanto te tiene tienen todo todos tu tus un una unas uno unos usted ustedes y ya yo
    cuanto cuantos cuanta cuantas
    """
)
ENGLISH_STOP_WORDS = _words(
    """a about after all also am an and any are as at be been before being between both but by
    can could did do does doing during each few for from further had has have having he her
    here hers him his how i if in into is it its itself just me more most my no nor not of
    off on once only or other our ours out over own same she should so some such than that
    the their theirs them then there these they this those through to too under until up
    very was we were what when where which while who whom why will with would you your yours
    """
)
STOP_WORDS = SPANISH_STOP_WORDS | ENGLISH_STOP_WORDS


_STEMMERS = {language: snowballstemmer.stemmer(language) for language in ("spanish", "english")}


@lru_cache(maxsize=200_000)
def _stem(word: str, language: str) -> str:
    return str(_STEMMERS[language].stemWord(word))


@lru_cache(maxsize=200_000)
def term_index(term: str) -> int:
    """The term's dimension in the sparse vector: unsigned 32 bits, as Qdrant's indices are."""
    return zlib.crc32(term.encode("utf-8"))


def fold(token: str) -> str:
    """Lowercase without accents ("Información" → "informacion"), so a question typed without
    them still matches; ñ stays, it makes another word ("año", "ano")."""
    decomposed = unicodedata.normalize("NFD", token.lower().replace("ñ", "\0"))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).replace("\0", "ñ")


def language_of(words: list[str]) -> str | None:
    """'spanish' or 'english' when the text's stop words say so clearly; None otherwise."""
    spanish = sum(word in SPANISH_STOP_WORDS for word in words)
    english = sum(word in ENGLISH_STOP_WORDS for word in words)
    if spanish >= 2 * english + 1:
        return "spanish"
    if english >= 2 * spanish + 1:
        return "english"
    return None


def terms(text: str) -> list[str]:
    """The text's terms, in order, repeated as often as they occur."""
    words = [fold(token) for token in TOKEN.findall(text)]
    language = language_of(words)
    languages = (language,) if language else ("spanish", "english")
    result: list[str] = []
    for word in words:
        if word in STOP_WORDS or (len(word) == 1 and not word.isdigit()):
            continue
        if not word.isalpha():
            result.append(word)  # codes and numbers are matched as written
            continue
        result.extend({_stem(word, lang) for lang in languages})
    return result


@dataclass(frozen=True)
class SparseEncoder:
    """BM25 term weights: a document's term frequencies saturated (k1) and normalised by its
    length (b) against `average_terms`, the typical chunk's term count; a question's terms
    count once each. Qdrant multiplies both by the term's IDF over the collection."""

    k1: float = 1.2
    b: float = 0.75
    average_terms: float = 100.0

    def document(self, text: str) -> models.SparseVector:
        counts = Counter(term_index(term) for term in terms(text))
        length = sum(counts.values())
        norm = self.k1 * (1 - self.b + self.b * length / self.average_terms)
        indices = sorted(counts)
        values = [counts[i] * (self.k1 + 1) / (counts[i] + norm) for i in indices]
        return models.SparseVector(indices=indices, values=values)

    def query(self, text: str) -> models.SparseVector:
        indices = sorted({term_index(term) for term in terms(text)})
        return models.SparseVector(indices=indices, values=[1.0] * len(indices))
