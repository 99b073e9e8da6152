"""Reading text from page images with Tesseract, and laying out a page's text as blocks.

The PDF extractor (scanned pages) and the image extractor both come here, so the tesseract
call, its limits and its messages live in one place. The layout heuristics serve both OCR
output and a PDF's text layer: each is a page of lines, and neither says which lines are
headings or where a paragraph ends."""

import logging
import os
import re
import shutil
import subprocess

from ingest.extraction.errors import ExtractionError
from ingest.extraction.model import Block, BlockKind, ExtractionLimits

__all__ = ["ocr_png", "page_blocks"]

logger = logging.getLogger(__name__)

_NOT_INSTALLED = (
    "Text recognition (OCR) is not available on this server, so scanned pages and images "
    "cannot be read. An administrator needs to install the Debian packages tesseract-ocr "
    "tesseract-ocr-spa tesseract-ocr-eng; then upload the file again."
)


def ocr_png(png: bytes, limits: ExtractionLimits, *, dpi: int | None = None) -> str:
    """The text Tesseract reads in a PNG image: lines, with blank lines between paragraphs.

    `dpi` is the image's resolution where it is known; without it Tesseract estimates it
    from the size of the text.
    """
    executable = shutil.which("tesseract")
    if executable is None:
        raise ExtractionError(_NOT_INSTALLED)
    command = [executable, "stdin", "stdout", "-l", limits.ocr_languages, "--psm", "1"]
    if dpi is not None:
        command += ["--dpi", str(dpi)]
    # OpenMP threads busy-wait and fight over the cores: one thread per page is several times
    # faster on a small host, and pages of several documents can be read side by side.
    environment = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    try:
        result = subprocess.run(  # noqa: S603 (a fixed command; the image goes through stdin)
            command,
            input=png,
            capture_output=True,
            timeout=limits.ocr_timeout_seconds,
            env=environment,
            check=False,
        )
    except FileNotFoundError as exc:
        raise ExtractionError(_NOT_INSTALLED) from exc
    except subprocess.TimeoutExpired as exc:
        raise ExtractionError(
            f"Reading a page of this file by OCR took longer than "
            f"{limits.ocr_timeout_seconds:g} seconds, so processing was stopped. Upload a "
            "clearer or smaller scan, or split the document into smaller files."
        ) from exc
    if result.returncode != 0:
        stderr = result.stderr.decode("utf-8", errors="replace")
        logger.warning("tesseract failed", extra={"exit_code": result.returncode, "stderr": stderr})
        if "Failed loading language" in stderr:
            raise ExtractionError(
                f"Text recognition (OCR) on this server lacks the language data for "
                f"'{limits.ocr_languages}', so scanned pages and images cannot be read. An "
                "administrator needs to install the Debian packages tesseract-ocr "
                "tesseract-ocr-spa tesseract-ocr-eng; then upload the file again."
            )
        raise ExtractionError(
            "Text recognition (OCR) failed on this file. Try uploading a clearer scan, or a "
            "PDF that already contains its text."
        )
    return result.stdout.decode("utf-8", errors="replace")


# PDFium marks a word it rejoined across a line-end hyphen with U+FFFE; the rest are stray
# control characters that some PDFs and OCR output carry.
_INVISIBLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200b\u3000]+")
_ENDS_SENTENCE = re.compile(r"[.!?:;…][\"'”\u2019»)\]]*$")
_ENDS_WITH_PUNCTUATION = re.compile(r"[.,;:!?…]$")
_BULLET = re.compile(r"^[•◦▪●○■□·*\-\u2013\u2014]\s+(?P<text>.+)$")
_NUMBERED_ITEM = re.compile(r"^(?:\d{1,2}|[a-z])[.)]\s+\S")
_HEADING_NUMBER = re.compile(r"^(?P<number>\d{1,2}(?:\.\d{1,2})*)\.?\s+\S")
_HYPHEN_AT_END = re.compile(r"(?<=[^\W\d_])-$")

_MAX_HEADING_CHARS = 80
_MAX_HEADING_WORDS = 12
# A line shorter than this share of the page's usual line length ends where its paragraph
# does, when it also ends a sentence; full lines end only because the text wrapped.
_SHORT_LINE_RATIO = 0.85


def _lines(text: str) -> list[str]:
    text = _INVISIBLE.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    return [_SPACES.sub(" ", line).strip() for line in text.split("\n")]


def _is_heading_candidate(line: str, usual_length: int) -> bool:
    """Shorter than the page's usual line, capitalised or numbered, and not ending like a
    sentence or a clause."""
    return (
        len(line) < min(_MAX_HEADING_CHARS, _SHORT_LINE_RATIO * usual_length)
        and len(line.split()) <= _MAX_HEADING_WORDS
        and (line[0].isupper() or line[0].isdigit())
        and sum(character.isalpha() for character in line) >= 3
        and not _ENDS_WITH_PUNCTUATION.search(line)
        and not _BULLET.match(line)
    )


def _heading_level(line: str) -> int:
    """'2.1 Permisos' is a level-2 heading; unnumbered headings are taken as level 1."""
    numbered = _HEADING_NUMBER.match(line)
    return numbered["number"].count(".") + 1 if numbered else 1


def _join(lines: list[str]) -> str:
    text = lines[0]
    for line in lines[1:]:
        if _HYPHEN_AT_END.search(text) and line[0].islower():
            text = text[:-1] + line
        else:
            text = f"{text} {line}"
    return text


def page_blocks(text: str, *, page: int, section: str | None) -> list[Block]:
    """A page's text as blocks: hard-wrapped lines joined into paragraphs and list items, and
    obvious headings (a short line without final punctuation between paragraphs) marked.

    Blank lines always end a paragraph. Without them (a PDF's text layer has none), a
    paragraph ends at a short line that ends a sentence, and a list item at any short line.
    `section` is the heading in force when the page starts; every block carries the latest
    heading before it.
    """
    lines = _lines(text)
    lengths = sorted(len(line) for line in lines if line)
    if not lengths:
        return []
    usual_length = lengths[int(len(lengths) * 0.9)]
    following = [""] * len(lines)
    for index in range(len(lines) - 2, -1, -1):
        following[index] = lines[index + 1] or following[index + 1]

    # Each group becomes one block: its kind, its lines, and its level if a heading.
    groups: list[tuple[BlockKind, list[str], int]] = []
    for index, line in enumerate(lines):
        if not line:
            continue
        before = lines[index - 1] if index else ""
        starts_block = not before or bool(_ENDS_SENTENCE.search(before))
        if (
            starts_block
            and following[index]
            and _is_heading_candidate(line, usual_length)
            and not _is_heading_candidate(following[index], usual_length)
        ):
            groups.append((BlockKind.HEADING, [line], _heading_level(line)))
            continue
        bullet = _BULLET.match(line)
        if bullet or _NUMBERED_ITEM.match(line):
            groups.append((BlockKind.LIST_ITEM, [bullet["text"] if bullet else line], 0))
            continue
        if not before or not groups or groups[-1][0] is BlockKind.HEADING:
            groups.append((BlockKind.PARAGRAPH, [line], 0))
            continue
        kind, current, _ = groups[-1]
        wrapped = len(before) >= _SHORT_LINE_RATIO * usual_length
        if wrapped or (kind is BlockKind.PARAGRAPH and not starts_block):
            current.append(line)
        else:
            groups.append((BlockKind.PARAGRAPH, [line], 0))

    blocks: list[Block] = []
    for kind, group, level in groups:
        if kind is BlockKind.HEADING:
            section = group[0]
        blocks.append(Block(_join(group), kind, page=page, section=section, level=level))
    return blocks
