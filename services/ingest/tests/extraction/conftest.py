"""Factories of the files the extractors are tested on, generated in the test: text PDFs
(reportlab), scans (Pillow renders the text, saved as an image-only PDF or an image)."""

import io
import unicodedata
from collections.abc import Callable

import pytest
from PIL import Image, ImageDraw, ImageFont
from reportlab.pdfgen import canvas


def _text_pdf(
    pages: list[list[str]],
    *,
    pagesize: tuple[float, float] = (595.0, 842.0),
    encrypt: str | None = None,
) -> bytes:
    """A PDF with a text layer: one entry per page, each a list of lines."""
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=pagesize, encrypt=encrypt)
    for lines in pages:
        text = pdf.beginText(72, pagesize[1] - 72)
        text.setFont("Helvetica", 11)
        for line in lines:
            text.textLine(line)
        pdf.drawText(text)
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def _scan(lines: list[str]) -> Image.Image:
    """Black text on white at a size Tesseract reads reliably. Pillow's built-in font has no
    accented letters, so the sentences use none."""
    font = ImageFont.load_default(size=48)
    image = Image.new("L", (1500, 80 + 64 * len(lines)), 255)
    draw = ImageDraw.Draw(image)
    for index, line in enumerate(lines):
        draw.text((40, 40 + 64 * index), line, fill=0, font=font)
    return image


@pytest.fixture
def text_pdf() -> Callable[..., bytes]:
    return _text_pdf


@pytest.fixture
def scan() -> Callable[[list[str]], Image.Image]:
    return _scan


@pytest.fixture
def scanned_pdf() -> Callable[[list[str]], bytes]:
    """An image-only PDF (no text layer) of the lines, as a scanner makes it."""

    def make(lines: list[str]) -> bytes:
        buffer = io.BytesIO()
        _scan(lines).save(buffer, "PDF", resolution=150)
        return buffer.getvalue()

    return make


@pytest.fixture
def plain() -> Callable[[str], str]:
    """Lower-cased and without accents, so assertions tolerate OCR's accent slips."""

    def normalise(text: str) -> str:
        decomposed = unicodedata.normalize("NFKD", text.lower())
        return "".join(
            character for character in decomposed if not unicodedata.combining(character)
        )

    return normalise
