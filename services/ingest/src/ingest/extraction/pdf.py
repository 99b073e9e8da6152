"""PDF text: each page's text layer, and OCR for pages that have none (scans).

PDFium parses and renders lazily, page by page, so a hostile PDF's work is bounded by the
page cap, the pixel cap on every rendered page and the OCR timeout per page."""

import io
import math
import threading
from dataclasses import dataclass

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from common.formats import DocumentFormat
from ingest.extraction.errors import ExtractionError
from ingest.extraction.model import Block, ExtractedDocument, ExtractionLimits
from ingest.extraction.ocr import ocr_png, page_blocks

__all__ = ["extract_pdf"]

# PDFium is not thread-safe, not even across documents, and extraction runs in worker
# threads: every PDFium call holds this lock; OCR runs outside it.
_PDFIUM_LOCK = threading.Lock()

_POINTS_PER_INCH = 72
_CM_PER_POINT = 2.54 / _POINTS_PER_INCH
# An oversized page is rendered at a lower resolution that fits the pixel cap; below this
# one, body text is too small for Tesseract to read, so the page's OCR is skipped instead.
_MIN_OCR_DPI = 100


@dataclass(frozen=True)
class _PageImage:
    png: bytes
    dpi: int


def _open(raw: bytes) -> pdfium.PdfDocument:
    try:
        return pdfium.PdfDocument(raw)
    except pdfium.PdfiumError as exc:
        if exc.err_code == pdfium_c.FPDF_ERR_PASSWORD:
            raise ExtractionError(
                "This PDF is protected with a password; upload a copy without a password."
            ) from exc
        if exc.err_code == pdfium_c.FPDF_ERR_SECURITY:
            raise ExtractionError(
                "This PDF uses a kind of encryption that cannot be opened; upload a copy "
                "without encryption or password protection."
            ) from exc
        raise ExtractionError(
            "This PDF is damaged or is not really a PDF, so it cannot be read. Open it on your "
            "computer to check it, save or export it again as PDF, and upload the new copy."
        ) from exc


def _letter_count(text: str) -> int:
    return sum(character.isalnum() for character in text)


def _largest_scale(width: float, height: float, max_pixels: int) -> float:
    """The largest scale s with (w*s + 1)(h*s + 1) <= max_pixels, which bounds the bitmap
    PDFium allocates (ceil(w*s) x ceil(h*s)) whatever the page's proportions."""
    a, b, c = width * height, width + height, 1 - max_pixels
    return (-b + math.sqrt(b * b - 4 * a * c)) / (2 * a)


def _render(
    page: pdfium.PdfPage, number: int, limits: ExtractionLimits, warnings: list[str]
) -> _PageImage | None:
    """The page as a grayscale PNG for OCR, or None where it has no area or (with a warning)
    is too large to read."""
    width, height = page.get_size()
    if width <= 0 or height <= 0:
        return None
    scale = min(
        limits.ocr_dpi / _POINTS_PER_INCH,
        _largest_scale(width, height, limits.max_image_pixels),
    )
    dpi = round(scale * _POINTS_PER_INCH)
    if dpi < min(_MIN_OCR_DPI, limits.ocr_dpi):
        warnings.append(
            f"Page {number} is too large to be read by OCR ({width * _CM_PER_POINT:.0f} x "
            f"{height * _CM_PER_POINT:.0f} cm), so any text in its images was skipped. If it is "
            "a scan, save it at a normal paper size and upload it again."
        )
        return None
    if dpi < limits.ocr_dpi:
        warnings.append(
            f"Page {number} is very large, so it was read by OCR at a reduced resolution "
            f"({dpi} dpi); some of its text may be missing."
        )
    bitmap = page.render(scale=scale, grayscale=True)
    try:
        buffer = io.BytesIO()
        # Fast compression: the PNG only travels through a pipe to Tesseract.
        bitmap.to_pil().save(buffer, "PNG", compress_level=1)
    finally:
        bitmap.close()
    return _PageImage(buffer.getvalue(), dpi)


def _read_page(
    document: pdfium.PdfDocument, number: int, limits: ExtractionLimits, warnings: list[str]
) -> tuple[str, _PageImage | None]:
    """The page's text layer and, where it holds too little text, an image of it to OCR."""
    try:
        page = document[number - 1]
    except pdfium.PdfiumError:
        warnings.append(f"Page {number} is damaged and could not be read, so it was skipped.")
        return "", None
    try:
        textpage = page.get_textpage()
        try:
            text: str = textpage.get_text_range()
        finally:
            textpage.close()
        # A page without any content (a blank separator page) has nothing to OCR.
        if (
            _letter_count(text) >= limits.min_text_chars_per_page
            or pdfium_c.FPDFPage_CountObjects(page) == 0
        ):
            return text, None
        return text, _render(page, number, limits, warnings)
    except pdfium.PdfiumError:
        warnings.append(f"Page {number} is damaged and could not be read, so it was skipped.")
        return "", None
    finally:
        page.close()


def extract_pdf(raw: bytes, limits: ExtractionLimits) -> ExtractedDocument:
    """The PDF's text as blocks with their page numbers; pages without a text layer are OCR'd.

    Refuses (ExtractionError) password-protected and damaged PDFs, PDFs with more pages than
    `limits.max_pages`, and PDFs in which no text can be read at all.
    """
    with _PDFIUM_LOCK:
        document = _open(raw)
    try:
        with _PDFIUM_LOCK:
            page_count = len(document)
        if page_count == 0:
            raise ExtractionError("This PDF has no pages. Check the file and upload it again.")
        if page_count > limits.max_pages:
            raise ExtractionError(
                f"This PDF has {page_count} pages; the limit is {limits.max_pages} pages per "
                "document. Split it into smaller files and upload them separately."
            )
        blocks: list[Block] = []
        warnings: list[str] = []
        ocr_pages = 0
        section: str | None = None
        for number in range(1, page_count + 1):
            with _PDFIUM_LOCK:
                text, image = _read_page(document, number, limits, warnings)
            if image is not None:
                ocr_text = ocr_png(image.png, limits, dpi=image.dpi)
                ocr_pages += 1
                # A scan's text layer, if any, is usually a stamp or a page number.
                if _letter_count(ocr_text) > _letter_count(text):
                    text = ocr_text
            page = page_blocks(text, page=number, section=section)
            if page:
                section = page[-1].section
            blocks += page
    finally:
        with _PDFIUM_LOCK:
            document.close()
    if not blocks:
        raise ExtractionError(
            "No text could be read from this PDF, not even by OCR: its pages are empty or "
            "unreadable. If it is a scan, upload a clearer scan (at least 300 dpi)."
        )
    return ExtractedDocument(
        format=DocumentFormat.PDF,
        blocks=blocks,
        page_count=page_count,
        ocr_pages=ocr_pages,
        warnings=warnings,
    )
