import pytest

from common.formats import DocumentFormat
from ingest.extraction.errors import ExtractionError
from ingest.extraction.model import Block, BlockKind, ExtractionLimits
from ingest.extraction.tabular import TableReader, extract_csv, row_text

LIMITS = ExtractionLimits()


def texts(raw: bytes) -> list[str]:
    document = extract_csv(raw, LIMITS)
    assert document.format is DocumentFormat.CSV
    assert {block.kind for block in document.blocks} == {BlockKind.TABLE_ROW}
    return [block.text for block in document.blocks]


class TestExtractCsv:
    def test_comma_separated_rows_under_their_headers(self) -> None:
        raw = b'name,city,notes\nAna,Madrid,"likes tea, not coffee"\n\nLuis,Lima,\n'
        assert texts(raw) == [
            "name: Ana; city: Madrid; notes: likes tea, not coffee",
            "name: Luis; city: Lima",
        ]

    def test_semicolons_as_spreadsheets_export_them_in_spanish(self) -> None:
        raw = b"Producto;Precio\r\nSilla;12,50\r\nMesa;80,00\r\n"
        assert texts(raw) == ["Producto: Silla; Precio: 12,50", "Producto: Mesa; Precio: 80,00"]

    def test_tabs(self) -> None:
        assert texts(b"a\tb\n1\t2\n") == ["a: 1; b: 2"]

    def test_legacy_windows_encoding_keeps_the_accents(self) -> None:
        raw = "Nombre;Población\nJosé Núñez;Córdoba\nMaría Peña;Logroño\n".encode("cp1252")
        assert texts(raw) == [
            "Nombre: José Núñez; Población: Córdoba",
            "Nombre: María Peña; Población: Logroño",
        ]

    def test_a_value_spanning_lines_stays_in_its_row(self) -> None:
        assert texts(b'id,address\n1,"Calle Mayor 1\nMadrid"\n') == [
            "id: 1; address: Calle Mayor 1 Madrid"
        ]

    def test_a_single_row_is_content_not_headers(self) -> None:
        assert texts(b"Ana,Madrid\n") == ["Ana; Madrid"]

    @pytest.mark.parametrize("raw", [b"", b" \n\n ", b",,\n,,\n"])
    def test_a_file_without_text_says_so(self, raw: bytes) -> None:
        with pytest.raises(ExtractionError, match="contains no text"):
            extract_csv(raw, LIMITS)

    def test_an_unterminated_quote_is_explained(self) -> None:
        raw = b'a,b\n1,"never closed\n' + b"x" * 200_000
        with pytest.raises(ExtractionError, match="quoted value"):
            extract_csv(raw, LIMITS)


class TestTableReader:
    def test_the_row_cap_holds_across_the_tables_of_a_file(self) -> None:
        reader = TableReader(max_rows=3)
        first = reader.blocks([["h"], ["1"], ["2"]], section="Uno")
        second = reader.blocks([["h"], ["3"], ["4"], ["5"]], section="Dos", page=2)
        assert first == [
            Block("h: 1", BlockKind.TABLE_ROW, section="Uno"),
            Block("h: 2", BlockKind.TABLE_ROW, section="Uno"),
        ]
        assert second == [Block("h: 3", BlockKind.TABLE_ROW, page=2, section="Dos")]
        assert len(reader.warnings) == 1
        assert "first 3 rows" in reader.warnings[0]

    def test_no_warning_when_the_cap_is_reached_exactly(self) -> None:
        reader = TableReader(max_rows=1)
        reader.blocks([["h"], ["1"]])
        assert reader.warnings == []


@pytest.mark.parametrize(
    ("headers", "values", "expected"),
    [
        (["a", "b"], ["1", "2"], "a: 1; b: 2"),
        (["a", "b"], ["", "2"], "b: 2"),
        (["a", ""], ["1", "2"], "a: 1; 2"),
        (["a"], ["1", "2"], "a: 1; 2"),
    ],
)
def test_row_text(headers: list[str], values: list[str], expected: str) -> None:
    assert row_text(headers, values) == expected
