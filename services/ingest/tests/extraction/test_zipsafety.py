import io
import struct
import zipfile

import docx
import pytest

from ingest.extraction.errors import ExtractionError
from ingest.extraction.model import ExtractionLimits
from ingest.extraction.zipsafety import MAX_MEMBERS, check_zip

LIMITS = ExtractionLimits()
MIB = 1024 * 1024
# Offsets inside a central directory entry (APPNOTE 4.3.12).
_CENTRAL_SIGNATURE = b"PK\x01\x02"
_CENTRAL_FLAGS = 8
_CENTRAL_UNCOMPRESSED_SIZE = 24
_CENTRAL_NAME_LENGTH = 28
_CENTRAL_NAME = 46


def docx_shaped(members: dict[str, bytes], streamed: dict[str, int] | None = None) -> bytes:
    """A zip with the parts of a Word file; `streamed` members are that many zero bytes, written
    a MiB at a time so a huge member costs the test little memory."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        for name, content in members.items():
            archive.writestr(name, content)
        for name, size in (streamed or {}).items():
            with archive.open(name, "w", force_zip64=True) as member:
                for _ in range(size // MIB):
                    member.write(bytes(MIB))
    return buffer.getvalue()


def patched_central_entry(raw: bytes, name: str, offset: int, value: bytes) -> bytes:
    """The archive with one field of `name`'s central directory entry overwritten."""
    data = bytearray(raw)
    start = data.find(_CENTRAL_SIGNATURE)
    while start != -1:
        (name_length,) = struct.unpack_from("<H", data, start + _CENTRAL_NAME_LENGTH)
        if data[start + _CENTRAL_NAME : start + _CENTRAL_NAME + name_length] == name.encode():
            data[start + offset : start + offset + len(value)] = value
            return bytes(data)
        start = data.find(_CENTRAL_SIGNATURE, start + 1)
    raise AssertionError(f"{name} is not in the archive")


class TestCheckZip:
    def test_a_normal_word_file_passes(self) -> None:
        document = docx.Document()
        document.add_paragraph("Hola " * 2000)
        buffer = io.BytesIO()
        document.save(buffer)
        check_zip(buffer.getvalue(), LIMITS)

    def test_a_small_part_may_compress_very_well(self) -> None:
        check_zip(docx_shaped({"word/document.xml": bytes(512 * 1024)}), LIMITS)

    def test_a_member_expanding_to_300_mb_is_refused(self) -> None:
        raw = docx_shaped({}, streamed={"word/document.xml": 300 * MIB})
        assert len(raw) < 2 * MIB
        with pytest.raises(ExtractionError, match="expands to more than 200 MB"):
            check_zip(raw, LIMITS)

    def test_a_member_expanding_beyond_the_ratio_is_refused(self) -> None:
        raw = docx_shaped({}, streamed={"word/media/image1.bin": 5 * MIB})
        with pytest.raises(ExtractionError, match="expands more than 100 times"):
            check_zip(raw, LIMITS)

    def test_a_forged_small_size_is_caught_when_the_part_is_measured(self) -> None:
        raw = docx_shaped({}, streamed={"word/document.xml": 5 * MIB})
        forged = patched_central_entry(
            raw, "word/document.xml", _CENTRAL_UNCOMPRESSED_SIZE, struct.pack("<I", 4096)
        )
        with pytest.raises(ExtractionError, match="seems damaged"):
            check_zip(forged, LIMITS)

    def test_too_many_members_are_refused(self) -> None:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
            for index in range(MAX_MEMBERS + 1):
                archive.writestr(f"p{index}", b"")
        with pytest.raises(ExtractionError, match="more than 10,000 internal parts"):
            check_zip(buffer.getvalue(), LIMITS)

    def test_an_encrypted_member_is_refused(self) -> None:
        raw = docx_shaped({"word/document.xml": b"<w:document/>"})
        flagged = patched_central_entry(raw, "word/document.xml", _CENTRAL_FLAGS, b"\x01\x00")
        with pytest.raises(ExtractionError, match="password-protected"):
            check_zip(flagged, LIMITS)

    def test_a_compression_office_never_uses_is_refused(self) -> None:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_BZIP2) as archive:
            archive.writestr("word/document.xml", b"<w:document/>")
        with pytest.raises(ExtractionError, match="seems damaged"):
            check_zip(buffer.getvalue(), LIMITS)

    @pytest.mark.parametrize(
        "raw",
        [b"PK\x03\x04 not really a zip", b"", b"%PDF-1.7"],
        ids=["garbage", "empty", "not a zip"],
    )
    def test_an_unreadable_zip_is_reported_as_damaged(self, raw: bytes) -> None:
        with pytest.raises(ExtractionError, match="seems damaged"):
            check_zip(raw, LIMITS)

    def test_a_truncated_zip_is_reported_as_damaged(self) -> None:
        raw = docx_shaped({"word/document.xml": b"<w:document/>" * 100})
        with pytest.raises(ExtractionError, match="seems damaged"):
            check_zip(raw[: len(raw) - 30], LIMITS)

    def test_corrupt_compressed_data_is_reported_as_damaged(self) -> None:
        raw = bytearray(docx_shaped({"word/document.xml": b"<w:body>texto</w:body>" * 500}))
        # Local header (30 bytes + name) then the deflate stream of the first member.
        position = raw.find(b"word/document.xml") + len("word/document.xml") + 10
        raw[position : position + 16] = b"\xff" * 16
        with pytest.raises(ExtractionError, match="seems damaged"):
            check_zip(bytes(raw), LIMITS)
