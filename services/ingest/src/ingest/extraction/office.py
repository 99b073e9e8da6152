"""Word (.docx), PowerPoint (.pptx) and Excel (.xlsx) files. Each is a zip checked for bombs
before its library opens it."""

import io
import re
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from datetime import date, datetime, time
from typing import Any

import docx
import docx.exceptions
import docx.opc.exceptions
import openpyxl
import pptx
import pptx.exc
from docx.table import Table as WordTable
from docx.text.paragraph import Paragraph as WordParagraph
from openpyxl.utils.exceptions import InvalidFileException
from pptx.enum.shapes import PP_PLACEHOLDER
from pptx.shapes.autoshape import Shape
from pptx.shapes.base import BaseShape
from pptx.shapes.graphfrm import GraphicFrame
from pptx.shapes.group import GroupShape
from pptx.slide import Slide
from pptx.text.text import _Paragraph as SlideParagraph

from common.formats import DocumentFormat
from ingest.extraction.errors import ExtractionError
from ingest.extraction.model import Block, BlockKind, ExtractedDocument, ExtractionLimits
from ingest.extraction.tabular import TableReader, cell_text
from ingest.extraction.zipsafety import DAMAGED, check_zip

# What the Office libraries raise on a file that is a sound zip but not a sound document:
# missing parts, malformed XML, wrong content types.
_DAMAGED_ERRORS = (
    docx.opc.exceptions.PackageNotFoundError,
    docx.exceptions.PythonDocxError,
    pptx.exc.PythonPptxError,
    InvalidFileException,
    zipfile.BadZipFile,
    zlib.error,
    KeyError,
    ValueError,
    SyntaxError,
    EOFError,
)
_HEADING_STYLE = re.compile(r"Heading ([1-9])")
# Custom heading styles are usually based on a built-in one; this many steps finds it.
_STYLE_ANCESTORS = 4
_SLIDE_BODY = {PP_PLACEHOLDER.BODY, PP_PLACEHOLDER.OBJECT}
_DRAWINGML = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
# Python-docx's Paragraph.text reads only plain runs and links; tracked insertions, content
# controls and fields hold text too. Deleted text (w:del) stays out.
_PARAGRAPH_RUNS = (
    "./w:r | ./w:hyperlink/w:r | ./w:ins/w:r | ./w:ins/w:hyperlink/w:r | ./w:smartTag/w:r"
    " | ./w:fldSimple/w:r | ./w:sdt/w:sdtContent/w:r"
)

WORD = "Word document"
POWERPOINT = "PowerPoint presentation"
EXCEL = "Excel workbook"


def extract_docx(raw: bytes, limits: ExtractionLimits) -> ExtractedDocument:
    check_zip(raw, limits, WORD)
    try:
        document = docx.Document(io.BytesIO(raw))
        reader = TableReader()
        blocks = list(_word_blocks(document.iter_inner_content(), reader))
    except _DAMAGED_ERRORS as error:
        raise ExtractionError(DAMAGED.format(kind=WORD)) from error
    if not blocks:
        raise ExtractionError(
            "This Word document contains no text. If its pages are scanned images, upload them "
            "as a PDF or as images so their text can be read."
        )
    return ExtractedDocument(format=DocumentFormat.DOCX, blocks=blocks, warnings=reader.warnings)


def extract_pptx(raw: bytes, limits: ExtractionLimits) -> ExtractedDocument:
    check_zip(raw, limits, POWERPOINT)
    warnings: list[str] = []
    try:
        slides = list(pptx.Presentation(io.BytesIO(raw)).slides)
        if len(slides) > limits.max_pages:
            warnings.append(
                f"Only the first {limits.max_pages} of {len(slides)} slides were processed. "
                "Split the presentation to have all of it searchable."
            )
        reader = TableReader()
        blocks = [
            block
            for number, slide in enumerate(slides[: limits.max_pages], start=1)
            for block in _slide_blocks(slide, number, reader)
        ]
    except _DAMAGED_ERRORS as error:
        raise ExtractionError(DAMAGED.format(kind=POWERPOINT)) from error
    if not blocks:
        raise ExtractionError(
            "This presentation contains no text. If its slides are pictures of text, export "
            "them as a PDF or as images and upload that, so their text can be read."
        )
    return ExtractedDocument(
        format=DocumentFormat.PPTX,
        blocks=blocks,
        page_count=len(slides),
        warnings=warnings + reader.warnings,
    )


def extract_xlsx(raw: bytes, limits: ExtractionLimits) -> ExtractedDocument:
    check_zip(raw, limits, EXCEL)
    reader = TableReader()
    blocks: list[Block] = []
    try:
        # Formulas give their last computed values; read-only streams rows instead of loading
        # every cell of every sheet.
        workbook = openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
        try:
            for sheet in workbook.worksheets:
                # Declared dimensions are often wrong, and would pad rows to absurd widths.
                sheet.reset_dimensions()
                rows = (
                    [_cell_value(value) for value in row]
                    for row in sheet.iter_rows(values_only=True)
                )
                blocks.extend(reader.blocks(rows, section=str(sheet.title)))
        finally:
            workbook.close()
    except _DAMAGED_ERRORS as error:
        raise ExtractionError(DAMAGED.format(kind=EXCEL)) from error
    if not blocks:
        raise ExtractionError("This Excel workbook contains no data.")
    return ExtractedDocument(format=DocumentFormat.XLSX, blocks=blocks, warnings=reader.warnings)


def _word_blocks(
    content: Iterable[WordParagraph | WordTable], reader: TableReader
) -> Iterator[Block]:
    section: str | None = None
    for item in content:
        if isinstance(item, WordTable):
            yield from reader.blocks(_word_table_rows(item), section=section)
            continue
        text = cell_text(_paragraph_text(item))
        if not text:
            continue
        level = _heading_level(item)
        if level:
            section = text
            yield Block(text, BlockKind.HEADING, section=section, level=level)
        elif _is_list_item(item):
            yield Block(text, BlockKind.LIST_ITEM, section=section)
        else:
            yield Block(text, section=section)


def _paragraph_text(paragraph: WordParagraph) -> str:
    return "".join(str(run.text) for run in paragraph._p.xpath(_PARAGRAPH_RUNS))


def _heading_level(paragraph: WordParagraph) -> int:
    style = paragraph.style
    for _ in range(_STYLE_ANCESTORS):
        if style is None:
            return 0
        if style.name == "Title":
            return 1
        match = _HEADING_STYLE.fullmatch(style.name or "")
        if match:
            return int(match.group(1))
        style = style.base_style
    return 0


def _is_list_item(paragraph: WordParagraph) -> bool:
    properties = paragraph._p.pPr
    if properties is not None and properties.numPr is not None:
        return True
    style = paragraph.style
    return style is not None and (style.name or "").startswith("List")


def _word_table_rows(table: WordTable) -> Iterator[list[str]]:
    for row in table.rows:
        values: list[str] = []
        previous = None
        for cell in row.cells:
            # A cell spanning columns comes once per column; its text counts once.
            text = " ".join(_paragraph_text(paragraph) for paragraph in cell.paragraphs)
            values.append("" if cell._tc is previous else text)
            previous = cell._tc
        yield values


def _slide_blocks(slide: Slide, number: int, reader: TableReader) -> Iterator[Block]:
    title_shape = slide.shapes.title
    title = cell_text(title_shape.text_frame.text) if title_shape is not None else ""
    section = title or None
    if title:
        yield Block(title, BlockKind.SLIDE_TITLE, page=number, section=section)
    for shape in _reading_order(slide.shapes):
        if title_shape is not None and shape.shape_id == title_shape.shape_id:
            continue
        if isinstance(shape, GraphicFrame) and shape.has_table:
            rows = ([cell.text for cell in row.cells] for row in shape.table.rows)
            yield from reader.blocks(rows, section=section, page=number)
        elif isinstance(shape, Shape) and shape.has_text_frame:
            in_body = shape.is_placeholder and shape.placeholder_format.type in _SLIDE_BODY
            for paragraph in shape.text_frame.paragraphs:
                text = cell_text(paragraph.text)
                if text:
                    kind = (
                        BlockKind.LIST_ITEM
                        if _is_bullet(paragraph, in_body)
                        else BlockKind.PARAGRAPH
                    )
                    yield Block(text, kind, page=number, section=section)
    if slide.has_notes_slide:
        notes_frame = slide.notes_slide.notes_text_frame
        if notes_frame is not None:
            notes = "\n".join(
                text for paragraph in notes_frame.paragraphs if (text := cell_text(paragraph.text))
            )
            if notes:
                yield Block(notes, BlockKind.NOTES, page=number, section=section)


def _reading_order(shapes: Iterable[BaseShape]) -> Iterator[BaseShape]:
    """Top to bottom, then left to right: the order in the file is the drawing (z) order."""
    for shape in sorted(shapes, key=lambda shape: (shape.top or 0, shape.left or 0)):
        if isinstance(shape, GroupShape):
            yield from _reading_order(shape.shapes)
        else:
            yield shape


def _is_bullet(paragraph: SlideParagraph, in_body: bool) -> bool:
    """Body placeholders are bulleted unless a paragraph says otherwise; other text boxes only
    where a paragraph asks for a bullet."""
    if paragraph.level > 0:
        return True
    properties = paragraph._p.pPr
    tags = {child.tag for child in properties} if properties is not None else set()
    if tags & {f"{_DRAWINGML}buChar", f"{_DRAWINGML}buAutoNum"}:
        return True
    return in_body and f"{_DRAWINGML}buNone" not in tags


def _cell_value(value: Any) -> str:
    """A spreadsheet value as the person sees it in the cell (without number formats)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)
