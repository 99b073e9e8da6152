import io
import zipfile
from datetime import datetime

import docx
import openpyxl
import pptx
import pytest
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from pptx.util import Inches

from common.formats import DocumentFormat
from ingest.extraction.errors import ExtractionError
from ingest.extraction.model import Block, BlockKind, ExtractionLimits
from ingest.extraction.office import extract_docx, extract_pptx, extract_xlsx

LIMITS = ExtractionLimits()


def saved(document: docx.document.Document | pptx.presentation.Presentation) -> bytes:
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def with_member(raw: bytes, name: str, content: bytes) -> bytes:
    """The same package with one part's content replaced."""
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(raw)) as source,
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for member in source.infolist():
            data = content if member.filename == name else source.read(member)
            target.writestr(member.filename, data)
    return buffer.getvalue()


def word_document() -> bytes:
    document = docx.Document()
    document.add_heading("Política de viajes", level=1)
    document.add_paragraph("Los viajes se aprueban con antelación.")
    document.add_paragraph("Reservar con la agencia", style="List Bullet")
    document.add_paragraph("Guardar los recibos", style="List Number")
    table = document.add_table(rows=3, cols=2)
    for row, (city, allowance) in enumerate(
        [("Ciudad", "Dietas"), ("Madrid", "50 €"), ("Lima", "")]
    ):
        table.cell(row, 0).text = city
        table.cell(row, 1).text = allowance
    document.add_heading("Reembolsos", level=2)
    document.add_paragraph("Se pagan   a fin\tde mes.")
    return saved(document)


def presentation() -> bytes:
    deck = pptx.Presentation()
    first = deck.slides.add_slide(deck.slide_layouts[1])  # title and content
    first.shapes.title.text = "Resultados 2024"
    body = first.placeholders[1].text_frame
    body.text = "Las ventas subieron"
    body.add_paragraph().text = "Los costes bajaron"
    first.notes_slide.notes_text_frame.text = "Mencionar el nuevo cliente."
    second = deck.slides.add_slide(deck.slide_layouts[5])  # title only
    second.shapes.title.text = "Por región"
    note = second.shapes.add_textbox(Inches(1), Inches(6), Inches(4), Inches(1))
    note.text_frame.text = "Cifras en miles de euros."
    table = second.shapes.add_table(3, 2, Inches(1), Inches(2), Inches(6), Inches(2)).table
    for row, (region, total) in enumerate([("Región", "Total"), ("Norte", "120"), ("Sur", "95")]):
        table.cell(row, 0).text = region
        table.cell(row, 1).text = total
    return saved(deck)


def workbook() -> bytes:
    book = openpyxl.Workbook()
    sales = book.active
    sales.title = "Ventas"
    sales.append(["Mes", "Importe", "Cerrado"])
    sales.append(["Enero", 1250.5, True])
    sales.append([None, None, None])
    sales.append(["Febrero", 980.0, False])
    costs = book.create_sheet("Gastos")
    costs.append([])
    costs.append(["Concepto", "Fecha"])
    costs.append(["Luz", datetime(2024, 3, 1)])
    costs.append(["Agua", "=1+1"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


class TestExtractDocx:
    def test_blocks_keep_body_order_kinds_and_sections(self) -> None:
        document = extract_docx(word_document(), LIMITS)
        assert document.format is DocumentFormat.DOCX
        assert [(block.kind, block.text, block.section) for block in document.blocks] == [
            (BlockKind.HEADING, "Política de viajes", "Política de viajes"),
            (BlockKind.PARAGRAPH, "Los viajes se aprueban con antelación.", "Política de viajes"),
            (BlockKind.LIST_ITEM, "Reservar con la agencia", "Política de viajes"),
            (BlockKind.LIST_ITEM, "Guardar los recibos", "Política de viajes"),
            (BlockKind.TABLE_ROW, "Ciudad: Madrid; Dietas: 50 €", "Política de viajes"),
            (BlockKind.TABLE_ROW, "Ciudad: Lima", "Política de viajes"),
            (BlockKind.HEADING, "Reembolsos", "Reembolsos"),
            (BlockKind.PARAGRAPH, "Se pagan a fin de mes.", "Reembolsos"),
        ]
        assert [block.level for block in document.blocks if block.kind is BlockKind.HEADING] == [
            1,
            2,
        ]

    def test_title_style_is_a_top_heading(self) -> None:
        document = docx.Document()
        document.add_heading("Manual del empleado", level=0)
        document.add_paragraph("Bienvenida.")
        blocks = extract_docx(saved(document), LIMITS).blocks
        assert blocks[0] == Block(
            "Manual del empleado", BlockKind.HEADING, section="Manual del empleado", level=1
        )
        assert blocks[1].section == "Manual del empleado"

    def test_tracked_insertions_are_read_and_deletions_are_not(self) -> None:
        document = docx.Document()
        paragraph = document.add_paragraph("Plazo de ")
        inserted = paragraph.add_run("treinta")
        insertion = OxmlElement("w:ins", attrs={qn("w:id"): "1", qn("w:author"): "Ana"})
        inserted._r.addprevious(insertion)
        insertion.append(inserted._r)
        deletion = OxmlElement("w:del", attrs={qn("w:id"): "2", qn("w:author"): "Ana"})
        deleted_run = OxmlElement("w:r")
        deleted_text = OxmlElement("w:delText")
        deleted_text.text = "veinte"
        deleted_run.append(deleted_text)
        deletion.append(deleted_run)
        paragraph._p.append(deletion)
        paragraph.add_run(" días.")
        assert [block.text for block in extract_docx(saved(document), LIMITS).blocks] == [
            "Plazo de treinta días."
        ]

    def test_a_document_without_text_says_so(self) -> None:
        with pytest.raises(ExtractionError, match="contains no text"):
            extract_docx(saved(docx.Document()), LIMITS)

    def test_malformed_xml_is_reported_as_damaged(self) -> None:
        raw = with_member(word_document(), "word/document.xml", b"<w:document><w:body>")
        with pytest.raises(ExtractionError, match="seems damaged"):
            extract_docx(raw, LIMITS)

    def test_a_truncated_file_is_reported_as_damaged(self) -> None:
        raw = word_document()
        with pytest.raises(ExtractionError, match="seems damaged"):
            extract_docx(raw[: len(raw) // 2], LIMITS)


class TestExtractPptx:
    def test_each_slide_is_a_page_with_its_title_as_section(self) -> None:
        document = extract_pptx(presentation(), LIMITS)
        assert document.format is DocumentFormat.PPTX
        assert document.page_count == 2
        assert [
            (block.page, block.kind, block.text, block.section) for block in document.blocks
        ] == [
            (1, BlockKind.SLIDE_TITLE, "Resultados 2024", "Resultados 2024"),
            (1, BlockKind.LIST_ITEM, "Las ventas subieron", "Resultados 2024"),
            (1, BlockKind.LIST_ITEM, "Los costes bajaron", "Resultados 2024"),
            (1, BlockKind.NOTES, "Mencionar el nuevo cliente.", "Resultados 2024"),
            (2, BlockKind.SLIDE_TITLE, "Por región", "Por región"),
            (2, BlockKind.TABLE_ROW, "Región: Norte; Total: 120", "Por región"),
            (2, BlockKind.TABLE_ROW, "Región: Sur; Total: 95", "Por región"),
            (2, BlockKind.PARAGRAPH, "Cifras en miles de euros.", "Por región"),
        ]

    def test_slides_past_the_page_limit_are_left_out_with_a_warning(self) -> None:
        document = extract_pptx(presentation(), ExtractionLimits(max_pages=1))
        assert {block.page for block in document.blocks} == {1}
        assert document.page_count == 2
        assert "first 1 of 2 slides" in document.warnings[0]

    def test_a_presentation_without_text_says_so(self) -> None:
        with pytest.raises(ExtractionError, match="contains no text"):
            extract_pptx(saved(pptx.Presentation()), LIMITS)

    def test_malformed_xml_is_reported_as_damaged(self) -> None:
        raw = with_member(presentation(), "ppt/slides/slide1.xml", b"<p:sld>")
        with pytest.raises(ExtractionError, match="seems damaged"):
            extract_pptx(raw, LIMITS)


class TestExtractXlsx:
    def test_each_sheet_is_a_section_of_header_value_rows(self) -> None:
        document = extract_xlsx(workbook(), LIMITS)
        assert document.format is DocumentFormat.XLSX
        assert [(block.kind, block.section, block.text) for block in document.blocks] == [
            (BlockKind.TABLE_ROW, "Ventas", "Mes: Enero; Importe: 1250.5; Cerrado: TRUE"),
            (BlockKind.TABLE_ROW, "Ventas", "Mes: Febrero; Importe: 980; Cerrado: FALSE"),
            (BlockKind.TABLE_ROW, "Gastos", "Concepto: Luz; Fecha: 2024-03-01"),
            # A formula never computed by a spreadsheet application has no value to show.
            (BlockKind.TABLE_ROW, "Gastos", "Concepto: Agua"),
        ]

    def test_a_workbook_without_data_says_so(self) -> None:
        buffer = io.BytesIO()
        openpyxl.Workbook().save(buffer)
        with pytest.raises(ExtractionError, match="contains no data"):
            extract_xlsx(buffer.getvalue(), LIMITS)

    def test_malformed_xml_is_reported_as_damaged(self) -> None:
        raw = with_member(workbook(), "xl/worksheets/sheet1.xml", b"<worksheet><sheetData>")
        with pytest.raises(ExtractionError, match="seems damaged"):
            extract_xlsx(raw, LIMITS)
