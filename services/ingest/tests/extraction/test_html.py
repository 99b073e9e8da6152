import pytest

from common.formats import DocumentFormat
from ingest.extraction.errors import ExtractionError
from ingest.extraction.html import extract_html
from ingest.extraction.model import Block, BlockKind, ExtractionLimits

LIMITS = ExtractionLimits()

PAGE = """<!DOCTYPE html>
<html>
<head><title>Intranet</title><style>p { color: red }</style>
<script>var secret = "no";</script></head>
<body>
<nav><a href="/">Inicio</a> | <a href="/rrhh">RRHH</a></nav>
<h1>Política   de
  vacaciones</h1>
<p>Treinta días&nbsp;naturales <b>al</b> año.<br>Se piden con antelación.</p>
<ul>
  <li>Pedirlas en el portal
    <ul><li>con un mes de antelación</li></ul>
  </li>
  <li>Esperar la aprobación</li>
</ul>
<h2>Tabla de días</h2>
<table>
  <thead><tr><th>Antigüedad</th><th>Días</th></tr></thead>
  <tbody>
    <tr><td>Menos de 5 años</td><td>30</td></tr>
    <tr><td>Más de 5 años</td><td>32</td></tr>
  </tbody>
</table>
<div class="aviso">Texto suelto en un div <span>con un span</span>
  <blockquote>Cita de la dirección.</blockquote> y más texto.</div>
<pre>
linea  1
  linea 2
</pre>
<!-- a comment -->
<footer>© Empresa</footer>
</body>
</html>
"""


class TestExtractHtml:
    def test_content_in_order_with_kinds_and_sections(self) -> None:
        document = extract_html(PAGE.encode(), LIMITS)
        assert document.format is DocumentFormat.HTML
        section_1, section_2 = "Política de vacaciones", "Tabla de días"
        assert document.blocks == [
            Block(section_1, BlockKind.HEADING, section=section_1, level=1),
            Block("Treinta días naturales al año. Se piden con antelación.", section=section_1),
            Block("Pedirlas en el portal", BlockKind.LIST_ITEM, section=section_1),
            Block("con un mes de antelación", BlockKind.LIST_ITEM, section=section_1),
            Block("Esperar la aprobación", BlockKind.LIST_ITEM, section=section_1),
            Block(section_2, BlockKind.HEADING, section=section_2, level=2),
            Block("Antigüedad: Menos de 5 años; Días: 30", BlockKind.TABLE_ROW, section=section_2),
            Block("Antigüedad: Más de 5 años; Días: 32", BlockKind.TABLE_ROW, section=section_2),
            Block("Texto suelto en un div con un span", section=section_2),
            Block("Cita de la dirección.", section=section_2),
            Block("y más texto.", section=section_2),
            Block("linea  1\n  linea 2", section=section_2),
        ]

    def test_the_title_is_the_first_heading_when_there_is_no_h1(self) -> None:
        raw = b"<html><head><title>Guia rapida</title></head><body><p>Paso uno.</p></body></html>"
        assert extract_html(raw, LIMITS).blocks == [
            Block("Guia rapida", BlockKind.HEADING, section="Guia rapida", level=1),
            Block("Paso uno.", section="Guia rapida"),
        ]

    def test_hidden_elements_are_left_out(self) -> None:
        raw = b"<body><p>Visible</p><div hidden>Oculto</div></body>"
        assert [block.text for block in extract_html(raw, LIMITS).blocks] == ["Visible"]

    def test_a_nested_table_stays_inside_its_cell(self) -> None:
        raw = (
            b"<table><tr><th>Equipo</th><th>Miembros</th></tr>"
            b"<tr><td>Ventas</td><td><table><tr><td>Ana</td><td>Luis</td></tr></table></td></tr>"
            b"</table>"
        )
        assert [block.text for block in extract_html(raw, LIMITS).blocks] == [
            "Equipo: Ventas; Miembros: Ana Luis"
        ]

    def test_legacy_windows_encoding(self) -> None:
        raw = "<p>Información útil para el año</p>".encode("cp1252")
        assert extract_html(raw, LIMITS).blocks[0].text == "Información útil para el año"

    def test_deeply_nested_markup_does_not_exhaust_the_stack(self) -> None:
        raw = b"<div>" * 5000 + b"hondo" + b"</div>" * 5000
        assert [block.text for block in extract_html(raw, LIMITS).blocks] == ["hondo"]

    @pytest.mark.parametrize(
        "raw",
        [b"<html><head><script>x()</script></head><body> </body></html>", b"<nav>Menu</nav>"],
    )
    def test_a_page_without_text_says_so(self, raw: bytes) -> None:
        with pytest.raises(ExtractionError, match="no readable text"):
            extract_html(raw, LIMITS)
