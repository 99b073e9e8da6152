import io
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from common.formats import DocumentFormat
from ingest.extraction.errors import ExtractionError
from ingest.extraction.images import extract_image
from ingest.extraction.model import ExtractionLimits

Scan = Callable[[list[str]], Image.Image]
LIMITS = ExtractionLimits()
SENTENCE = ["Los empleados tienen derecho a vacaciones."]


def _encode(image: Image.Image, pillow_format: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, pillow_format)
    return buffer.getvalue()


def _png_header(width: int, height: int) -> bytes:
    """A PNG that declares its size and holds no pixels: how a decompression bomb starts."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


class TestReadByOcr:
    @pytest.mark.parametrize(
        ("fmt", "pillow_format"), [(DocumentFormat.PNG, "PNG"), (DocumentFormat.JPEG, "JPEG")]
    )
    def test_single_image(
        self, scan: Scan, plain: Callable[[str], str], fmt: DocumentFormat, pillow_format: str
    ) -> None:
        document = extract_image(_encode(scan(SENTENCE), pillow_format), fmt, LIMITS)

        assert document.format is fmt
        assert (document.page_count, document.ocr_pages) == (1, 1)
        assert {block.page for block in document.blocks} == {1}
        assert all(word in plain(document.text) for word in ("empleados", "vacaciones"))

    def test_each_tiff_frame_is_a_page(self, scan: Scan, plain: Callable[[str], str]) -> None:
        first, second = scan(SENTENCE), scan(["La empresa paga las horas extraordinarias."])
        buffer = io.BytesIO()
        first.save(buffer, "TIFF", save_all=True, append_images=[second], compression="tiff_lzw")

        document = extract_image(buffer.getvalue(), DocumentFormat.TIFF, LIMITS)

        assert (document.page_count, document.ocr_pages) == (2, 2)
        pages = {
            number: plain(" ".join(block.text for block in document.blocks if block.page == number))
            for number in (1, 2)
        }
        assert "empleados" in pages[1]
        assert "empresa" in pages[2]
        assert "extraordinarias" in pages[2]

    def test_text_on_a_transparent_background(self, plain: Callable[[str], str]) -> None:
        # Transparent pixels are black underneath: flattened naively, the text disappears.
        image = Image.new("RGBA", (1500, 140), (0, 0, 0, 0))
        ImageDraw.Draw(image).text(
            (40, 40), SENTENCE[0], fill=(0, 0, 0, 255), font=ImageFont.load_default(size=48)
        )

        document = extract_image(_encode(image, "PNG"), DocumentFormat.PNG, LIMITS)

        assert "vacaciones" in plain(document.text)


class TestRefusedImages:
    def test_a_declared_size_over_the_limit_is_refused_before_decoding(self) -> None:
        with pytest.raises(ExtractionError, match="8000 x 7000 pixels, more than the limit of 50"):
            extract_image(_png_header(8000, 7000), DocumentFormat.PNG, LIMITS)

    def test_a_decompression_bomb(self) -> None:
        with pytest.raises(ExtractionError, match="too large to process safely"):
            extract_image(_png_header(100_000, 100_000), DocumentFormat.PNG, LIMITS)

    def test_a_truncated_jpeg(self, scan: Scan) -> None:
        raw = _encode(scan(SENTENCE), "JPEG")

        with pytest.raises(ExtractionError, match="JPEG image is damaged or incomplete"):
            extract_image(raw[: len(raw) // 2], DocumentFormat.JPEG, LIMITS)

    def test_garbage(self) -> None:
        with pytest.raises(ExtractionError, match="PNG image is damaged or incomplete"):
            extract_image(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, DocumentFormat.PNG, LIMITS)

    def test_a_tiff_over_the_page_cap(self) -> None:
        frames = [Image.new("L", (32, 32), 255) for _ in range(3)]
        buffer = io.BytesIO()
        frames[0].save(buffer, "TIFF", save_all=True, append_images=frames[1:])

        with pytest.raises(ExtractionError, match="more than 2 pages; the limit is 2 pages"):
            extract_image(buffer.getvalue(), DocumentFormat.TIFF, ExtractionLimits(max_pages=2))

    def test_an_image_without_text(self) -> None:
        blank = _encode(Image.new("L", (400, 300), 255), "PNG")

        with pytest.raises(ExtractionError, match="No text could be read in this image"):
            extract_image(blank, DocumentFormat.PNG, LIMITS)

    def test_a_format_that_is_not_an_image_is_a_programming_error(self) -> None:
        with pytest.raises(ValueError, match="not an image format"):
            extract_image(b"%PDF-1.7", DocumentFormat.PDF, LIMITS)


class TestOcrUnavailable:
    def test_missing_tesseract_names_the_packages(
        self, scan: Scan, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        monkeypatch.setenv("PATH", str(tmp_path))

        with pytest.raises(
            ExtractionError, match="tesseract-ocr tesseract-ocr-spa tesseract-ocr-eng"
        ):
            extract_image(_encode(scan(SENTENCE), "PNG"), DocumentFormat.PNG, LIMITS)

    def test_ocr_past_its_time_limit(self, scan: Scan) -> None:
        raw = _encode(scan(SENTENCE), "PNG")

        with pytest.raises(ExtractionError, match=r"took longer than 0\.01 seconds"):
            extract_image(raw, DocumentFormat.PNG, ExtractionLimits(ocr_timeout_seconds=0.01))
