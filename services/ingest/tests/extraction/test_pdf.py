import io
import time
from collections.abc import Callable

import pytest
from reportlab.pdfgen import canvas

from common.formats import DocumentFormat
from ingest.extraction.errors import ExtractionError
from ingest.extraction.model import BlockKind, ExtractionLimits
from ingest.extraction.pdf import extract_pdf

PdfFactory = Callable[..., bytes]
LIMITS = ExtractionLimits()
SCAN = [
    "Politica de vacaciones",
    "",
    "Los empleados tienen derecho a treinta",
    "dias de vacaciones.",
]


class TestTextLayer:
    def test_each_page_keeps_its_number_and_text(self, text_pdf: PdfFactory) -> None:
        raw = text_pdf(
            [
                ["Los empleados tienen derecho a veintidós días de vacaciones al año."],
                ["La política de teletrabajo permite dos días por semana en casa."],
            ]
        )

        document = extract_pdf(raw, LIMITS)

        assert document.format is DocumentFormat.PDF
        assert (document.page_count, document.ocr_pages, document.warnings) == (2, 0, [])
        assert [(block.page, block.text) for block in document.blocks] == [
            (1, "Los empleados tienen derecho a veintidós días de vacaciones al año."),
            (2, "La política de teletrabajo permite dos días por semana en casa."),
        ]

    def test_wrapped_lines_join_and_headings_set_the_section(self, text_pdf: PdfFactory) -> None:
        raw = text_pdf(
            [
                [
                    "Manual del empleado",
                    "Los empleados tienen derecho a veintidós días laborables de vacaciones",
                    "pagadas al año, que se solicitan con quince días de antelación al",
                    "supervisor directo.",
                    "Las ausencias por enfermedad se justifican con el parte médico oficial.",
                    "2.1 Permisos retribuidos",
                    "La empresa concede permisos retribuidos en los siguientes casos:",
                    "• Matrimonio del empleado",
                    "• Nacimiento de un hijo",
                ],
                ["El resto de permisos se regula en el convenio colectivo vigente."],
            ]
        )

        blocks = extract_pdf(raw, LIMITS).blocks

        assert [(block.kind, block.level, block.section, block.page) for block in blocks] == [
            (BlockKind.HEADING, 1, "Manual del empleado", 1),
            (BlockKind.PARAGRAPH, 0, "Manual del empleado", 1),
            (BlockKind.PARAGRAPH, 0, "Manual del empleado", 1),
            (BlockKind.HEADING, 2, "2.1 Permisos retribuidos", 1),
            (BlockKind.PARAGRAPH, 0, "2.1 Permisos retribuidos", 1),
            (BlockKind.LIST_ITEM, 0, "2.1 Permisos retribuidos", 1),
            (BlockKind.LIST_ITEM, 0, "2.1 Permisos retribuidos", 1),
            (BlockKind.PARAGRAPH, 0, "2.1 Permisos retribuidos", 2),
        ]
        assert blocks[1].text == (
            "Los empleados tienen derecho a veintidós días laborables de vacaciones pagadas al "
            "año, que se solicitan con quince días de antelación al supervisor directo."
        )
        assert blocks[5].text == "Matrimonio del empleado"


class TestScannedPages:
    def test_a_page_without_text_layer_is_read_by_ocr(
        self, scanned_pdf: Callable[[list[str]], bytes], plain: Callable[[str], str]
    ) -> None:
        document = extract_pdf(scanned_pdf(SCAN), LIMITS)

        assert (document.page_count, document.ocr_pages) == (1, 1)
        assert {block.page for block in document.blocks} == {1}
        text = plain(document.text)
        assert all(word in text for word in ("vacaciones", "empleados", "treinta"))

    def test_a_page_over_the_pixel_cap_is_read_at_a_lower_resolution(
        self, scanned_pdf: Callable[[list[str]], bytes], plain: Callable[[str], str]
    ) -> None:
        # The scan is 10 x 2.3 inches: 2 million pixels at 300 dpi.
        document = extract_pdf(scanned_pdf(SCAN), ExtractionLimits(max_image_pixels=1_000_000))

        assert document.ocr_pages == 1
        assert "empleados" in plain(document.text)
        assert "reduced resolution" in document.warnings[0]

    def test_a_giant_page_is_skipped_without_rendering_it(self) -> None:
        buffer = io.BytesIO()
        pdf = canvas.Canvas(buffer, pagesize=(595, 842))
        pdf.drawString(72, 770, "Los empleados tienen derecho a vacaciones pagadas.")
        pdf.showPage()
        # 70 x 70 metres: 700 billion pixels at 300 dpi; a drawing and no text, so it needs OCR.
        pdf.setPageSize((200_000, 200_000))
        pdf.rect(1000, 1000, 50_000, 50_000, fill=1)
        pdf.showPage()
        pdf.save()

        started = time.monotonic()
        document = extract_pdf(buffer.getvalue(), LIMITS)

        assert time.monotonic() - started < 5
        assert (document.page_count, document.ocr_pages) == (2, 0)
        assert document.text == "Los empleados tienen derecho a vacaciones pagadas."
        assert document.warnings[0].startswith("Page 2 is too large to be read by OCR")


class TestRefusedPdfs:
    def test_password_protected(self, text_pdf: PdfFactory) -> None:
        raw = text_pdf([["Datos confidenciales de la empresa."]], encrypt="secret")

        with pytest.raises(ExtractionError, match="protected with a password"):
            extract_pdf(raw, LIMITS)

    @pytest.mark.parametrize(
        "damage",
        [
            pytest.param(lambda raw: b"%PDF-1.7\n" + b"\x00garbage" * 200, id="garbage"),
            pytest.param(lambda raw: raw[: len(raw) // 3], id="truncated"),
        ],
    )
    def test_damaged(self, text_pdf: PdfFactory, damage: Callable[[bytes], bytes]) -> None:
        raw = text_pdf([["Los empleados tienen derecho a vacaciones pagadas."]])

        with pytest.raises(ExtractionError, match="damaged"):
            extract_pdf(damage(raw), LIMITS)

    def test_over_the_page_cap(self, text_pdf: PdfFactory) -> None:
        raw = text_pdf([[f"Página {number} del manual del empleado."] for number in range(5)])

        with pytest.raises(ExtractionError, match="has 5 pages; the limit is 3 pages"):
            extract_pdf(raw, ExtractionLimits(max_pages=3))

    def test_without_any_text(self, text_pdf: PdfFactory) -> None:
        with pytest.raises(ExtractionError, match="No text could be read from this PDF"):
            extract_pdf(text_pdf([[], []]), LIMITS)
