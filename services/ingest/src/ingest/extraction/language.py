"""The document's main language, from a sample of its text."""

from langdetect import DetectorFactory, LangDetectException, detect_langs

DetectorFactory.seed = 0  # langdetect is random by default; the same text gets the same answer
SAMPLE_CHARS = 5000
MIN_CHARS = 20
MIN_PROBABILITY = 0.7


def detect_language(text: str) -> str | None:
    """An ISO 639-1 code ('es', 'en', ...), or None when the text is too short or too mixed."""
    sample = text[:SAMPLE_CHARS]
    if len(sample.strip()) < MIN_CHARS:
        return None
    try:
        best = detect_langs(sample)[0]
    except LangDetectException:
        return None
    return str(best.lang) if best.prob >= MIN_PROBABILITY else None
