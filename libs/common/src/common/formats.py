"""The document formats the platform accepts, recognised from the content (never from the
file name or the client's content type). The gateway uses it to refuse an unsupported upload
with 415; ingest uses it to choose the extractor."""

import codecs
import csv
import io
import re
import zipfile
from enum import StrEnum
from typing import BinaryIO

import charset_normalizer


class DocumentFormat(StrEnum):
    PDF = "pdf"
    PNG = "png"
    JPEG = "jpeg"
    TIFF = "tiff"
    DOCX = "docx"
    PPTX = "pptx"
    XLSX = "xlsx"
    CSV = "csv"
    HTML = "html"
    MARKDOWN = "markdown"
    TEXT = "text"


UNSUPPORTED_FORMAT = (
    "This file's format is not supported. Upload PDF, Word (.docx), PowerPoint (.pptx), "
    "Excel (.xlsx), CSV, HTML, Markdown, plain text, or a PNG, JPEG or TIFF image."
)
"""What a person is told when `detect_format` recognises nothing (at upload, or in ingest)."""

_SAMPLE_BYTES = 8192
_PDF_HEADER = re.compile(rb"%PDF-\d\.\d")
# Readers accept the PDF header anywhere in the first KiB; some generators put junk before it.
_PDF_HEADER_WINDOW = 1024
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
_OFFICE_MAIN_PARTS = {
    "word/document.xml": DocumentFormat.DOCX,
    "ppt/presentation.xml": DocumentFormat.PPTX,
    "xl/workbook.xml": DocumentFormat.XLSX,
}
# UTF-32 first: its little-endian BOM starts with UTF-16's.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Windows' legacy default for Spanish and English; charset-normalizer often takes short texts
# in it for cp1250, cp775 or a DOS code page, so it is tried first and kept when it reads as
# Western text: accented letters among plain ones, Windows punctuation.
_WESTERN_CHARSET = "cp1252"
_WESTERN_SAMPLE_CHARS = 65536
_WESTERN_LETTERS = re.compile(
    r"[a-zA-Z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u00ff\u0152\u0153\u0160\u0161\u017d\u017e\u0178]"
)
_WESTERN_NON_ASCII = re.compile(
    r"[\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u00ff\u0152\u0153\u0160\u0161\u017d\u017e\u0178"
    r"\u00a0\u00a1\u00a7\u00a9\u00aa\u00ab\u00ae\u00b0\u00b1\u00b7\u00ba\u00bb\u00bf"
    r"\u2013\u2014\u2018\u2019\u201a\u201c\u201d\u201e\u2022\u2026\u20ac\u2122]"
    r"|(?<=m)[\u00b2\u00b3](?![a-zA-Z])"  # square and cubic metres
)
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
# Cyrillic or Greek read as cp1252 is nearly all accented letters; Spanish is not.
_WESTERN_MAX_ACCENTED_SHARE = 0.5
# Polish read as cp1252 turns its ł and ą into ³ and ¹, which Spanish never has.
_WESTERN_MAX_ODD_SHARE = 0.05
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_BINARY_CONTROL_RATIO = 0.05
_CSV_DELIMITERS = (",", ";", "\t")
_CSV_SAMPLE_ROWS = 20
_CSV_MAX_FIELD_CHARS = 300
_CSV_CLAUSE_WORDS = 4
_HTML_LEADING_NOISE = re.compile(r"^(?:\s+|<!--.*?-->|<\?xml[^>]*\?>)+", re.DOTALL)
_HTML_DOCUMENT_TAG = re.compile(r"<(?:html|head|body)[\s>]", re.IGNORECASE)
_HTML_TAG = re.compile(
    r"</?(?:p|div|table|tr|td|ul|ol|li|h[1-6]|section|article|main|span|br|a)[\s/>]",
    re.IGNORECASE,
)
_MARKDOWN_BLOCK = re.compile(
    r"^(?: {0,3}#{1,6}\s+\S| {0,3}(?:```|~~~)| {0,3}\|.*\|\s*$)",
)
_MARKDOWN_LIST = re.compile(r"^\s*(?:[-*+]|\d{1,9}[.)])\s+\S")
# Spans are bounded so that a line of unclosed markers costs linear time.
_MARKDOWN_INLINE = re.compile(
    r"\[[^\]\n]{1,500}\]\([^)\s]{1,2000}\)|\*\*[^*\n]{1,500}\*\*|__[^_\n]{1,500}__"
    r"|`[^`\n]{1,500}`|^>\s",
    re.MULTILINE,
)


def detect_format(data: bytes) -> DocumentFormat | None:
    """The document's format from its bytes alone; None for anything the platform cannot read
    (legacy binary Office files, archives, executables, unknown binaries)."""
    return detect_stream_format(io.BytesIO(data))


def detect_stream_format(stream: BinaryIO) -> DocumentFormat | None:
    """`detect_format` for a seekable binary stream, read from its start whatever its position:
    only the first bytes and, for a zip, its central directory are read, so memory stays bounded
    however large the file. The stream's position afterwards is unspecified."""
    stream.seek(0)
    # One byte past the sample tells whether the sample is the whole file.
    sample = _read_up_to(stream, _SAMPLE_BYTES + 1)
    head = sample[:_SAMPLE_BYTES]
    if _PDF_HEADER.search(head[:_PDF_HEADER_WINDOW]):
        return DocumentFormat.PDF
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return DocumentFormat.PNG
    if head.startswith(b"\xff\xd8\xff"):
        return DocumentFormat.JPEG
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return DocumentFormat.TIFF
    if head.startswith(_ZIP_MAGICS):
        return _office_format(stream)
    if head.startswith(_OLE2_MAGIC):
        return None
    complete = len(sample) <= _SAMPLE_BYTES
    text = _decode(head, complete=complete)
    if text is None or _looks_binary(text):
        return None
    return _text_format(text, complete=complete)


def decode_text(data: bytes) -> str:
    """The bytes as text whatever their common encoding (BOM, UTF-8, else the most likely legacy
    charset), with Unix newlines and without control characters. Never fails: bytes that are
    not text at all come out as cp1252 with replacement characters."""
    text = _decode(data, complete=True)
    if text is None:
        text = data.decode("cp1252", errors="replace")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    # Form feeds and vertical tabs separate pages or lines in legacy text files.
    text = text.replace("\f", "\n").replace("\v", "\n")
    return _CONTROL.sub("", text)


def csv_delimiter(text: str) -> str | None:
    """The delimiter (comma, semicolon or tab) that splits the text's first rows into the same
    number (two or more) of fields, the one giving the most fields where several do; None when
    the text is not a table."""
    lines = text.split("\n", _CSV_SAMPLE_ROWS)[:_CSV_SAMPLE_ROWS]
    best: tuple[int, str] | None = None
    for delimiter in _CSV_DELIMITERS:
        try:
            rows = [row for row in csv.reader(lines, delimiter=delimiter) if row]
        except csv.Error:
            continue
        widths = {len(row) for row in rows}
        if len(rows) < 2 or len(widths) != 1:
            continue
        width = widths.pop()
        if width < 2 or _looks_like_prose([field for row in rows for field in row]):
            continue
        if best is None or width > best[0]:
            best = (width, delimiter)
    return None if best is None else best[1]


def _looks_like_prose(fields: list[str]) -> bool:
    """Prose has commas too, but between sentences and clauses rather than short cells."""
    filled = [field.strip() for field in fields if field.strip()]
    if any(len(field) > _CSV_MAX_FIELD_CHARS for field in filled):
        return True
    clauses = sum(
        1
        for field in filled
        if field.endswith((".", "!", "?")) or len(field.split()) >= _CSV_CLAUSE_WORDS
    )
    return clauses >= len(filled) / 2


def _read_up_to(stream: BinaryIO, size: int) -> bytes:
    """`size` bytes, fewer only at the end of the stream: a raw stream's read may stop short."""
    data = bytearray()
    while len(data) < size and (chunk := stream.read(size - len(data))):
        data += chunk
    return bytes(data)


def _office_format(stream: BinaryIO) -> DocumentFormat | None:
    # Only the central directory is read: nothing is decompressed, so a zip bomb costs nothing.
    try:
        with zipfile.ZipFile(stream) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return None
    for part, document_format in _OFFICE_MAIN_PARTS.items():
        if part in names:
            return document_format
    return None


def _decode(data: bytes, *, complete: bool) -> str | None:
    """The text in the bytes, or None when they hold no text in a recognisable encoding.
    `complete=False` for a sample cut from a longer file: a character split at the cut is
    dropped instead of being taken for a wrong encoding."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
            return decoder.decode(data, final=complete)
    # Text without a byte order mark has no NUL bytes; binaries nearly always do.
    if b"\x00" in data[:_SAMPLE_BYTES]:
        return None
    try:
        return codecs.getincrementaldecoder("utf-8")().decode(data, final=complete)
    except UnicodeDecodeError:
        pass
    try:
        western = data.decode(_WESTERN_CHARSET)
    except UnicodeDecodeError:
        western = None
    if western is not None and _reads_as_western(western[:_WESTERN_SAMPLE_CHARS]):
        return western
    best = charset_normalizer.from_bytes(data).best()
    return None if best is None else str(best)


def _reads_as_western(text: str) -> bool:
    non_ascii = _NON_ASCII.findall(text)
    if not non_ascii:
        return True
    western = _WESTERN_NON_ASCII.findall(text)
    odd = len(non_ascii) - len(western)
    accented = sum(1 for character in western if character.isalpha())
    letters = len(_WESTERN_LETTERS.findall(text))
    return (
        odd <= _WESTERN_MAX_ODD_SHARE * len(non_ascii)
        and accented <= _WESTERN_MAX_ACCENTED_SHARE * letters
    )


def _looks_binary(text: str) -> bool:
    sample = text[:_SAMPLE_BYTES]
    if not sample:
        return False
    garbage = len(_CONTROL.findall(sample)) + sample.count("\ufffd")
    return garbage > _BINARY_CONTROL_RATIO * len(sample)


def _text_format(text: str, *, complete: bool) -> DocumentFormat:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not complete:
        text = text.rsplit("\n", 1)[0]  # the last line may be cut short
    lines = text.split("\n")
    markdown_blocks = sum(1 for line in lines if _MARKDOWN_BLOCK.match(line))
    markdown_lists = sum(1 for line in lines if _MARKDOWN_LIST.match(line))
    if _looks_like_html(text, markdown_blocks):
        return DocumentFormat.HTML
    if markdown_blocks:
        return DocumentFormat.MARKDOWN
    if csv_delimiter(text) is not None:
        return DocumentFormat.CSV
    if markdown_lists + len(_MARKDOWN_INLINE.findall(text)) >= 2:
        return DocumentFormat.MARKDOWN
    return DocumentFormat.TEXT


def _looks_like_html(text: str, markdown_blocks: int) -> bool:
    start = _HTML_LEADING_NOISE.sub("", text[:_SAMPLE_BYTES], count=1)
    lowered = start[:64].lower()
    if lowered.startswith(("<!doctype html", "<html")):
        return True
    if not start.startswith("<"):
        return False
    if _HTML_DOCUMENT_TAG.search(start):
        return True
    # A README may open with a centred <p> or <div> and go on in Markdown.
    return len(_HTML_TAG.findall(start)) >= 2 and markdown_blocks == 0
