"""Turning an uploaded file's bytes into the document's blocks of text, by format, where the
format is recognised from the content itself."""

from collections.abc import Callable

from common.formats import UNSUPPORTED_FORMAT, DocumentFormat, detect_format
from ingest.extraction.errors import ExtractionError
from ingest.extraction.html import extract_html
from ingest.extraction.images import extract_image
from ingest.extraction.model import ExtractedDocument, ExtractionLimits
from ingest.extraction.office import extract_docx, extract_pptx, extract_xlsx
from ingest.extraction.pdf import extract_pdf
from ingest.extraction.tabular import extract_csv
from ingest.extraction.text import extract_markdown, extract_plain_text

__all__ = ["ExtractedDocument", "ExtractionError", "ExtractionLimits", "extract_document"]

Extractor = Callable[[bytes, ExtractionLimits], ExtractedDocument]

_EXTRACTORS: dict[DocumentFormat, Extractor] = {
    DocumentFormat.PDF: extract_pdf,
    DocumentFormat.PNG: lambda raw, limits: extract_image(raw, DocumentFormat.PNG, limits),
    DocumentFormat.JPEG: lambda raw, limits: extract_image(raw, DocumentFormat.JPEG, limits),
    DocumentFormat.TIFF: lambda raw, limits: extract_image(raw, DocumentFormat.TIFF, limits),
    DocumentFormat.DOCX: extract_docx,
    DocumentFormat.PPTX: extract_pptx,
    DocumentFormat.XLSX: extract_xlsx,
    DocumentFormat.CSV: extract_csv,
    DocumentFormat.HTML: extract_html,
    DocumentFormat.MARKDOWN: extract_markdown,
    DocumentFormat.TEXT: extract_plain_text,
}


def extract_document(raw: bytes, limits: ExtractionLimits) -> ExtractedDocument:
    """Blocking (OCR, parsing): run it in a worker thread."""
    if not raw:
        raise ExtractionError("The file is empty.")
    document_format = detect_format(raw)
    if document_format is None:
        raise ExtractionError(UNSUPPORTED_FORMAT)
    return _EXTRACTORS[document_format](raw, limits)
