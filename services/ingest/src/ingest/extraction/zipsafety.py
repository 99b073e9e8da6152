"""Refusing hostile Office files (zip bombs, encrypted or corrupt archives) before any Office
library opens them: those libraries read every part into memory and parse the XML whole."""

import io
import re
import zipfile
import zlib

from ingest.extraction.errors import ExtractionError
from ingest.extraction.model import ExtractionLimits

MAX_MEMBERS = 10_000
# Below this a member cannot hurt whatever its ratio, and small XML parts compress very well.
_RATIO_FLOOR_BYTES = 1024 * 1024
_READ_CHUNK_BYTES = 1024 * 1024
# The parts the Office libraries parse into XML trees: text, slides, sheets and their strings.
_PARSED_PARTS = re.compile(
    r"^(?:word/[^/]+\.xml|ppt/(?:slides|notesSlides)/[^/]+\.xml|ppt/presentation\.xml"
    r"|xl/(?:worksheets/[^/]+\.xml|sharedStrings\.xml|workbook\.xml))$"
)
# Office writes only these; others (bzip2, lzma) decompress without an output bound.
_OFFICE_COMPRESSION = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED}

DAMAGED = (
    "This {kind} seems damaged and could not be opened. Open it in its application, save it "
    "again and upload the new copy."
)


def check_zip(raw: bytes, limits: ExtractionLimits, kind: str = "Office document") -> None:
    """Raises ExtractionError, with what the person can do, when the archive is unsafe or
    unreadable; `kind` names the file in that message ("Word document", ...)."""
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            members = archive.infolist()
            _check_declared(members, limits, kind)
            for member in members:
                if _PARSED_PARTS.match(member.filename):
                    _check_actual(archive, member, limits, kind)
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError) as error:
        raise ExtractionError(DAMAGED.format(kind=kind)) from error


def _check_declared(members: list[zipfile.ZipInfo], limits: ExtractionLimits, kind: str) -> None:
    if len(members) > MAX_MEMBERS:
        raise ExtractionError(
            f"This {kind} is made of more than {MAX_MEMBERS:,} internal parts, far more than any "
            "ordinary document, so it was not processed. Save it again in its application, or "
            "split it into smaller files."
        )
    if any(member.flag_bits & 0x1 for member in members):
        raise ExtractionError(
            f"This {kind} is password-protected. Remove the password in its application and "
            "upload it again."
        )
    if any(member.compress_type not in _OFFICE_COMPRESSION for member in members):
        raise ExtractionError(DAMAGED.format(kind=kind))
    if sum(member.file_size for member in members) > limits.max_uncompressed_bytes:
        raise ExtractionError(_too_large(limits, kind))
    for member in members:
        _check_ratio(member, member.file_size, limits, kind)


def _check_actual(
    archive: zipfile.ZipFile, member: zipfile.ZipInfo, limits: ExtractionLimits, kind: str
) -> None:
    """The sizes in the directory are the file author's claim, so the parts that get parsed are
    decompressed here in bounded chunks and measured. (CPython stops a member at its declared
    size, so a forged smaller size then fails the CRC check: reported as damaged, before any
    parser sees a truncated part.)"""
    produced = 0
    with archive.open(member) as stream:
        while chunk := stream.read(_READ_CHUNK_BYTES):
            produced += len(chunk)
            _check_ratio(member, produced, limits, kind)


def _check_ratio(
    member: zipfile.ZipInfo, uncompressed: int, limits: ExtractionLimits, kind: str
) -> None:
    if uncompressed <= _RATIO_FLOOR_BYTES:
        return
    if uncompressed > limits.max_uncompressed_bytes:
        raise ExtractionError(_too_large(limits, kind))
    if uncompressed > limits.max_compression_ratio * max(member.compress_size, 1):
        raise ExtractionError(
            f"This {kind} contains a part that expands more than "
            f"{limits.max_compression_ratio:g} times when opened, which is typical of files "
            "built to overload a server, so it was not processed. If it is a genuine document, "
            "save it again in its application and upload the new copy."
        )


def _too_large(limits: ExtractionLimits, kind: str) -> str:
    megabytes = limits.max_uncompressed_bytes // (1024 * 1024)
    return (
        f"This {kind} expands to more than {megabytes} MB when opened, more than can be "
        "processed. Split it into smaller files and upload them separately."
    )
