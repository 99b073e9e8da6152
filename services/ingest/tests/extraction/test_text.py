import pytest

from common.formats import DocumentFormat
from ingest.extraction.errors import ExtractionError
from ingest.extraction.model import Block, BlockKind, ExtractionLimits
from ingest.extraction.text import extract_markdown, extract_plain_text

LIMITS = ExtractionLimits()

MARKDOWN = """---
title: Manual
---
# Vacaciones

Los empleados tienen **treinta** días
al año, ver [el portal](https://portal.example/rrhh).

- Pedirlas con *un mes* de antelación
  en el portal
1. Esperar la aprobación

Reembolsos
----------

| Concepto | Límite |
|----------|-------:|
| Hotel    | 120 €  |
| Comida   | 30 €   |

```bash
# not a heading
echo hola
```

***

> Una cita
> en dos líneas

Permisos
========
## Cierre ##
"""


class TestExtractMarkdown:
    def test_structure_kinds_and_sections(self) -> None:
        document = extract_markdown(MARKDOWN.encode(), LIMITS)
        assert document.format is DocumentFormat.MARKDOWN
        assert document.blocks == [
            Block("Vacaciones", BlockKind.HEADING, section="Vacaciones", level=1),
            Block("Los empleados tienen treinta días al año, ver el portal.", section="Vacaciones"),
            Block(
                "Pedirlas con un mes de antelación en el portal",
                BlockKind.LIST_ITEM,
                section="Vacaciones",
            ),
            Block("Esperar la aprobación", BlockKind.LIST_ITEM, section="Vacaciones"),
            Block("Reembolsos", BlockKind.HEADING, section="Reembolsos", level=2),
            Block("Concepto: Hotel; Límite: 120 €", BlockKind.TABLE_ROW, section="Reembolsos"),
            Block("Concepto: Comida; Límite: 30 €", BlockKind.TABLE_ROW, section="Reembolsos"),
            Block("# not a heading\necho hola", section="Reembolsos"),
            Block("Una cita en dos líneas", section="Reembolsos"),
            Block("Permisos", BlockKind.HEADING, section="Permisos", level=1),
            Block("Cierre", BlockKind.HEADING, section="Cierre", level=2),
        ]

    def test_an_unclosed_fence_keeps_the_rest_as_code(self) -> None:
        blocks = extract_markdown(b"Intro\n\n~~~\ncode\n\nmore", LIMITS).blocks
        assert [block.text for block in blocks] == ["Intro", "code\n\nmore"]

    @pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "cp1252"])
    def test_encodings(self, encoding: str) -> None:
        raw = "# Título\n\nLa señal del cañón.\n".encode(encoding)
        assert [block.text for block in extract_markdown(raw, LIMITS).blocks] == [
            "Título",
            "La señal del cañón.",
        ]

    @pytest.mark.parametrize("raw", [b"", b"  \n\t\n", b"---\n\n***\n"])
    def test_a_file_without_text_says_so(self, raw: bytes) -> None:
        with pytest.raises(ExtractionError, match=r"^The file contains no text\.$"):
            extract_markdown(raw, LIMITS)


class TestExtractPlainText:
    def test_paragraphs_are_separated_by_blank_lines(self) -> None:
        raw = b"Primera linea\r\nsegunda linea   \r\n\r\n  \t\r\nOtro parrafo\n"
        document = extract_plain_text(raw, LIMITS)
        assert document.format is DocumentFormat.TEXT
        assert document.blocks == [
            Block("Primera linea\nsegunda linea"),
            Block("Otro parrafo"),
        ]

    @pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "cp1252"])
    def test_encodings(self, encoding: str) -> None:
        raw = "Política de señales\n\nAño nuevo".encode(encoding)
        assert [block.text for block in extract_plain_text(raw, LIMITS).blocks] == [
            "Política de señales",
            "Año nuevo",
        ]

    @pytest.mark.parametrize("raw", [b"", b" \n\t ", "\ufeff".encode()])
    def test_a_file_without_text_says_so(self, raw: bytes) -> None:
        with pytest.raises(ExtractionError, match=r"^The file contains no text\.$"):
            extract_plain_text(raw, LIMITS)
