import io
import random
import zipfile
from pathlib import Path
from typing import Any

import pytest

from common.formats import (
    DocumentFormat,
    csv_delimiter,
    decode_text,
    detect_format,
    detect_stream_format,
)

# What Office writes first in every package, beside the part that names the format.
_PACKAGE_PARTS = ("[Content_Types].xml", "_rels/.rels", "docProps/core.xml")


MAGIC_SAMPLES = [
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", DocumentFormat.PDF),
    (b"\x00\x00junk from a mail gateway\n%PDF-1.4\n", DocumentFormat.PDF),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01", DocumentFormat.PNG),
    (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01", DocumentFormat.JPEG),
    (b"II*\x00\x08\x00\x00\x00\x00\x00", DocumentFormat.TIFF),
    (b"MM\x00*\x00\x00\x00\x08\x00\x00", DocumentFormat.TIFF),
]
OFFICE_MAIN_PARTS = [
    ("word/document.xml", DocumentFormat.DOCX),
    ("ppt/presentation.xml", DocumentFormat.PPTX),
    ("xl/workbook.xml", DocumentFormat.XLSX),
]
OTHER_BINARIES = [
    random.Random(7).randbytes(20_000),
    b"\x7fELF\x02\x01\x01\x00" + bytes(64),
    bytes(range(1, 32)) * 40,
]
OTHER_BINARY_IDS = ["random", "executable", "control characters"]
TEXT_SAMPLES = [
    ("# Vacaciones\n\nTreinta días al año.\n", DocumentFormat.MARKDOWN),
    ("Guía\n\n```python\nprint('hola')\n```\n", DocumentFormat.MARKDOWN),
    ("Pasos:\n\n- pedirlas\n- esperar la [respuesta](https://x.example)\n", "markdown"),
    ("Treinta días de vacaciones.\n\nSe piden con un mes de antelación.\n", "text"),
    ("Hola Ana,\ngracias por la nota, nos vemos pronto.\nUn saludo,\n", "text"),
    ("nombre,edad,ciudad\nAna,34,Madrid\nLuis,29,Lima\n", DocumentFormat.CSV),
    ("nombre;importe\nAna;1,50\nLuis;2,75\n", DocumentFormat.CSV),
    ("nombre\timporte\nAna\t3\n", DocumentFormat.CSV),
    ('id,descripción\n1,"Silla, roja"\n2,Una mesa de roble.\n', DocumentFormat.CSV),
    ("<!DOCTYPE html>\n<html><body><p>Hola</p></body></html>", DocumentFormat.HTML),
    ("<!-- exported -->\n<HTML lang='es'><p>Hola</p></HTML>", DocumentFormat.HTML),
    ("<div class='doc'><h1>Hola</h1><p>Texto</p></div>", DocumentFormat.HTML),
    ('<p align="center"><img src="logo.png"></p>\n\n# Proyecto\n\nTexto.', "markdown"),
]


# A file of several MiB, of which a detection may read a few buffers from each end.
_LARGE_FILE_BYTES = 4 * 1024 * 1024
_MOST_BYTES_READ = 64 * 1024

OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)


def office_zip(main_part: str, *, media_bytes: int = 0) -> bytes:
    """An Office package; `media_bytes` adds an embedded image of that size, stored as is."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in (*_PACKAGE_PARTS, main_part):
            archive.writestr(name, "<?xml version='1.0'?><root/>")
        if media_bytes:
            media = random.Random(3).randbytes(media_bytes)
            archive.writestr("media/image1.png", media, compress_type=zipfile.ZIP_STORED)
    return buffer.getvalue()


def plain_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("report.docx.txt", "not a document")
    return buffer.getvalue()


def every_sample() -> list[bytes]:
    """Every file the tests above classify, recognised or refused."""
    return [
        *(data for data, _ in MAGIC_SAMPLES),
        *(office_zip(main_part) for main_part, _ in OFFICE_MAIN_PARTS),
        plain_zip(),
        office_zip("word/document.xml")[:60],
        OLE2,
        *OTHER_BINARIES,
        *(text.encode() for text, _ in TEXT_SAMPLES),
        *("# Título\n\nañadir".encode(encoding) for encoding in ("utf-16", "utf-32", "utf-8-sig")),
        b"\xfe\xff" + "# Título\n\nañadir".encode("utf-16-be"),
        "La política de señales obliga a revisar el cañón cada año.".encode("cp1252"),
        ("a" + "ñ" * 6000).encode(),
    ]


class CountingFile(io.RawIOBase):
    """Bytes as a raw file that counts what is read from it, buffering included."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._data.seek(offset, whence)

    def tell(self) -> int:
        return self._data.tell()

    def readinto(self, buffer: Any) -> int:
        count = self._data.readinto(buffer)
        self.bytes_read += count
        return count


class TestBinaryFormats:
    @pytest.mark.parametrize(("data", "expected"), MAGIC_SAMPLES)
    def test_magic_bytes(self, data: bytes, expected: DocumentFormat) -> None:
        assert detect_format(data) is expected

    @pytest.mark.parametrize(("main_part", "expected"), OFFICE_MAIN_PARTS)
    def test_office_files_by_the_parts_inside(
        self, main_part: str, expected: DocumentFormat
    ) -> None:
        assert detect_format(office_zip(main_part)) is expected

    def test_a_zip_that_is_not_an_office_file_is_refused(self) -> None:
        assert detect_format(plain_zip()) is None

    def test_a_damaged_zip_is_refused(self) -> None:
        assert detect_format(office_zip("word/document.xml")[:60]) is None

    def test_legacy_binary_office_files_are_refused(self) -> None:
        assert detect_format(OLE2) is None

    @pytest.mark.parametrize("data", OTHER_BINARIES, ids=OTHER_BINARY_IDS)
    def test_other_binaries_are_refused(self, data: bytes) -> None:
        assert detect_format(data) is None


class TestTextFormats:
    @pytest.mark.parametrize(("text", "expected"), TEXT_SAMPLES)
    def test_text_is_classified_by_its_structure(self, text: str, expected: str) -> None:
        assert detect_format(text.encode()) == expected

    @pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32", "utf-8-sig"])
    def test_unicode_with_a_byte_order_mark(self, encoding: str) -> None:
        data = "# Título\n\nañadir".encode(encoding)
        if encoding == "utf-16-be":
            data = b"\xfe\xff" + data
        assert detect_format(data) is DocumentFormat.MARKDOWN

    def test_legacy_windows_spanish_text(self) -> None:
        text = "La política de señales obliga a revisar el cañón cada año.\n\nPingüino."
        assert detect_format(text.encode("cp1252")) is DocumentFormat.TEXT

    def test_a_character_cut_by_the_sample_does_not_change_the_answer(self) -> None:
        assert detect_format(("a" + "ñ" * 6000).encode()) is DocumentFormat.TEXT


class TestDetectStreamFormat:
    @pytest.mark.parametrize("data", every_sample())
    def test_a_file_gets_the_same_answer_as_its_bytes(self, tmp_path: Path, data: bytes) -> None:
        path = tmp_path / "upload"
        path.write_bytes(data)

        with path.open("rb") as stream:
            assert detect_stream_format(stream) == detect_format(data)

    def test_the_stream_is_read_from_its_start(self) -> None:
        stream = io.BytesIO(office_zip("xl/workbook.xml"))
        stream.seek(100)

        assert detect_stream_format(stream) is DocumentFormat.XLSX

    @pytest.mark.parametrize(("main_part", "expected"), OFFICE_MAIN_PARTS)
    def test_a_large_office_file_is_read_only_at_its_ends(
        self, main_part: str, expected: DocumentFormat
    ) -> None:
        data = office_zip(main_part, media_bytes=_LARGE_FILE_BYTES)
        raw = CountingFile(data)

        assert detect_stream_format(io.BufferedReader(raw)) is expected
        assert raw.bytes_read < _MOST_BYTES_READ < len(data)

    def test_a_large_text_file_is_read_only_for_its_sample(self) -> None:
        row = "Ana;Madrid;1,50\n"
        data = ("nombre;ciudad;importe\n" + row * (_LARGE_FILE_BYTES // len(row))).encode()
        raw = CountingFile(data)

        assert detect_stream_format(io.BufferedReader(raw)) is DocumentFormat.CSV
        assert raw.bytes_read < _MOST_BYTES_READ < len(data)


class TestDecodeText:
    @pytest.mark.parametrize(
        "data",
        [
            "Política de señales".encode(),
            "Política de señales".encode("utf-8-sig"),
            "Política de señales".encode("utf-16"),
            "Política de señales".encode("utf-32"),
            "Política de señales".encode("cp1252"),
        ],
        ids=["utf-8", "utf-8 bom", "utf-16", "utf-32", "cp1252"],
    )
    def test_common_encodings(self, data: bytes) -> None:
        assert decode_text(data) == "Política de señales"

    @pytest.mark.parametrize(
        "text",
        [
            "\N{LEFT DOUBLE QUOTATION MARK}Año\N{RIGHT DOUBLE QUOTATION MARK} \N{EN DASH} 5 €",
            "Superficie: 30 m² y 20 m³, año 2024, señal.",
        ],
    )
    def test_short_windows_texts(self, text: str) -> None:
        assert decode_text(text.encode("cp1252")) == text

    def test_central_european_legacy_text_is_not_taken_for_spanish(self) -> None:
        text = "Zażółć gęślą jaźń, to jest polski tekst o łące."
        assert decode_text(text.encode("cp1250")) == text

    def test_a_non_western_legacy_encoding_is_kept(self) -> None:
        text = "Привет, это тестовый документ на русском языке."
        assert decode_text(text.encode("cp1251")) == text

    def test_newlines_are_normalised_and_control_characters_dropped(self) -> None:
        assert (
            decode_text(b"uno\r\ndos\rtres\x00\x07\fcuatro\tfin") == "uno\ndos\ntres\ncuatro\tfin"
        )


class TestCsvDelimiter:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("a,b\n1,2\n", ","),
            ("a;b\n1,5;2,5\n", ";"),
            ("a\tb\tc\n1\t2\t3\n", "\t"),
            ('a,b\n"x, y",z\n', ","),
        ],
    )
    def test_the_consistent_delimiter(self, text: str, expected: str) -> None:
        assert csv_delimiter(text) == expected

    @pytest.mark.parametrize(
        "text", ["una columna\nsola\n", "a,b\n1,2,3\n", "Hola, qué tal.\nBien, gracias.\n"]
    )
    def test_no_table(self, text: str) -> None:
        assert csv_delimiter(text) is None
