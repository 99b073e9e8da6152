"""What every format's extractor produces: the document as blocks in reading order, each
knowing where it sits (page or slide, and the section it falls under), so chunks can follow
the document's structure and cite a page and a section."""

from dataclasses import dataclass, field
from enum import StrEnum

from common.formats import DocumentFormat


class BlockKind(StrEnum):
    HEADING = "heading"
    PARAGRAPH = "paragraph"
    LIST_ITEM = "list_item"
    TABLE_ROW = "table_row"
    """One row of a table or spreadsheet, rendered as 'Header: value; Header: value'."""
    SLIDE_TITLE = "slide_title"
    NOTES = "notes"
    """A slide's speaker notes."""


@dataclass(frozen=True)
class Block:
    text: str
    kind: BlockKind = BlockKind.PARAGRAPH
    page: int | None = None
    """1-based page (PDF, scans) or slide (PPTX); None where the format has no pages."""
    section: str | None = None
    """The title of the section the block falls under: nearest heading, slide title, or sheet."""
    level: int = 0
    """Heading level (1 = top); 0 for anything that is not a heading."""


@dataclass(frozen=True)
class ExtractedDocument:
    format: DocumentFormat
    blocks: list[Block]
    page_count: int | None = None
    ocr_pages: int = 0
    """How many pages (or images) had their text read by OCR."""
    warnings: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n\n".join(block.text for block in self.blocks)


@dataclass(frozen=True)
class ExtractionLimits:
    """Bounds that keep hostile or oversized files from exhausting memory, disk or time."""

    max_pages: int = 500
    max_uncompressed_bytes: int = 200 * 1024 * 1024
    """Total size the members of an Office (zip) file may expand to."""
    max_compression_ratio: float = 100.0
    """A zip member expanding more than this many times its compressed size is a bomb."""
    max_image_pixels: int = 50_000_000
    ocr_languages: str = "spa+eng"
    ocr_dpi: int = 300
    ocr_timeout_seconds: float = 120.0
    """Per page or image."""
    min_text_chars_per_page: int = 20
    """A PDF page with less text than this in its text layer is treated as a scan and OCR'd."""
