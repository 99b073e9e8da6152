"""Text from photos and scans uploaded as images (PNG, JPEG, TIFF), read by OCR. Every frame
of a multi-page TIFF is a page.

Pillow reads only an image's header when opening it, so sizes and the page count are checked
before any pixel is decoded."""

import contextlib
import io
import itertools
import struct
from collections.abc import Generator

from PIL import Image, ImageOps

from common.formats import DocumentFormat
from ingest.extraction.errors import ExtractionError
from ingest.extraction.model import Block, ExtractedDocument, ExtractionLimits
from ingest.extraction.ocr import ocr_png, page_blocks

__all__ = ["extract_image"]

_PILLOW_FORMATS = {
    DocumentFormat.PNG: "PNG",
    DocumentFormat.JPEG: "JPEG",
    DocumentFormat.TIFF: "TIFF",
}
# What Pillow raises on damaged or truncated files, beyond its documented OSError.
_DAMAGED = (OSError, SyntaxError, ValueError, EOFError, struct.error)


def _check_page_count(image: Image.Image, limits: ExtractionLimits) -> None:
    """Refuses a TIFF with more frames than the page cap, walking no further than the cap."""
    try:
        image.seek(limits.max_pages)
    except EOFError:
        image.seek(0)
        return
    raise ExtractionError(
        f"This image has more than {limits.max_pages} pages; the limit is {limits.max_pages} "
        "pages per document. Split it into smaller files and upload them separately."
    )


def _page_png(image: Image.Image, limits: ExtractionLimits) -> tuple[bytes, int | None]:
    """The current frame as a grayscale PNG, with its resolution where the file records one."""
    width, height = image.size
    if width * height > limits.max_image_pixels:
        raise ExtractionError(
            f"This image is {width} x {height} pixels, more than the limit of "
            f"{limits.max_image_pixels / 1_000_000:g} million pixels. Scan or export it at a "
            "lower resolution (300 dpi is plenty for text) and upload it again."
        )
    frame = ImageOps.exif_transpose(image)
    if frame.has_transparency_data:
        # Transparent pixels are often black underneath; text sits on what a viewer shows.
        frame = Image.alpha_composite(Image.new("RGBA", frame.size, "white"), frame.convert("RGBA"))
    buffer = io.BytesIO()
    frame.convert("L").save(buffer, "PNG", compress_level=1)
    dpi = image.info.get("dpi")
    resolution = round(dpi[0]) if isinstance(dpi, tuple) and dpi and dpi[0] >= 1 else None
    return buffer.getvalue(), resolution


def _page_pngs(
    raw: bytes, fmt: DocumentFormat, limits: ExtractionLimits
) -> Generator[tuple[bytes, int | None]]:
    """Each page (TIFF frame) as a grayscale PNG with its resolution, decoded one at a time."""
    pillow_format = _PILLOW_FORMATS[fmt]
    try:
        # Only the decoder for the detected format ever sees the bytes.
        with Image.open(io.BytesIO(raw), formats=[pillow_format]) as image:
            if fmt is not DocumentFormat.TIFF:
                yield _page_png(image, limits)
                return
            _check_page_count(image, limits)
            for index in itertools.count():
                try:
                    image.seek(index)
                except EOFError:
                    return
                yield _page_png(image, limits)
    except Image.DecompressionBombError as exc:
        # Pillow's own cap (twice Image.MAX_IMAGE_PIXELS) refuses absurd sizes when opening.
        raise ExtractionError(
            "This image is too large to process safely. Scan or export it at a lower "
            "resolution (300 dpi is plenty for text) and upload it again."
        ) from exc
    except _DAMAGED as exc:
        raise ExtractionError(
            f"This {pillow_format} image is damaged or incomplete, so it cannot be read. Open "
            "it on your computer to check it, save or export it again, and upload the new copy."
        ) from exc


def extract_image(raw: bytes, fmt: DocumentFormat, limits: ExtractionLimits) -> ExtractedDocument:
    """The image's text, read by OCR, as blocks with page numbers (TIFF frames are pages).

    Refuses (ExtractionError) damaged or truncated files, images over
    `limits.max_image_pixels`, TIFFs with more than `limits.max_pages` frames, and images in
    which no text can be read.
    """
    if fmt not in _PILLOW_FORMATS:
        raise ValueError(f"{fmt} is not an image format")
    blocks: list[Block] = []
    section: str | None = None
    page_count = 0
    # closing(): the image is released at once even when OCR of a page fails.
    with contextlib.closing(_page_pngs(raw, fmt, limits)) as pages:
        for png, dpi in pages:
            page_count += 1
            page = page_blocks(ocr_png(png, limits, dpi=dpi), page=page_count, section=section)
            if page:
                section = page[-1].section
            blocks += page
    if not blocks:
        raise ExtractionError(
            "No text could be read in this image. Upload a sharper, well-lit image in which "
            "the text is straight and large enough to read."
        )
    return ExtractedDocument(format=fmt, blocks=blocks, page_count=page_count, ocr_pages=page_count)
