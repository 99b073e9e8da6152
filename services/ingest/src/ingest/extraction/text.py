"""Markdown and plain text files, in whatever common encoding they were saved."""

import re

from common.formats import DocumentFormat, decode_text
from ingest.extraction.errors import ExtractionError
from ingest.extraction.model import Block, BlockKind, ExtractedDocument, ExtractionLimits
from ingest.extraction.tabular import NO_TEXT, TableReader, cell_text

_ATX_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT_UNDERLINE = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_THEMATIC_BREAK = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
_LIST_ITEM = re.compile(r"^[ \t]*(?:[-*+]|\d{1,9}[.)])[ \t]+(.*)$")
_QUOTE = re.compile(r"^ {0,3}>[ \t]?(.*)$")
_TABLE_SEPARATOR = re.compile(r"^[ \t]*\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$")
_TABLE_CELL_SEPARATOR = re.compile(r"(?<!\\)\|")
# YAML metadata some tools put at the top; it is not part of the text.
_FRONT_MATTER = re.compile(r"\A---\n.*?\n---\n", re.DOTALL)
# Spans are bounded so that a hostile line of unclosed markers costs linear time.
_INLINE_MARKUP = (
    (re.compile(r"!\[([^\]]{0,500})\]\([^)]{0,2000}\)"), r"\1"),  # images: their alt text
    (re.compile(r"\[([^\]]{1,500})\]\([^)]{0,2000}\)"), r"\1"),  # links: their text
    (re.compile(r"(\*\*|__)(?=\S)(.{1,500}?)(?<=\S)\1"), r"\2"),
    (re.compile(r"(?<![\w*])\*(?=\S)([^*]{1,500}?)(?<=\S)\*(?![\w*])"), r"\1"),
    (re.compile(r"`([^`]{1,500})`"), r"\1"),
)


def extract_markdown(raw: bytes, limits: ExtractionLimits) -> ExtractedDocument:
    reader = _MarkdownReader()
    reader.read(_FRONT_MATTER.sub("", decode_text(raw), count=1).split("\n"))
    if not reader.blocks:
        raise ExtractionError(NO_TEXT)
    return ExtractedDocument(
        format=DocumentFormat.MARKDOWN, blocks=reader.blocks, warnings=reader.tables.warnings
    )


def extract_plain_text(raw: bytes, limits: ExtractionLimits) -> ExtractedDocument:
    blocks = []
    for paragraph in re.split(r"\n[ \t]*\n", decode_text(raw)):
        text = "\n".join(line.rstrip() for line in paragraph.split("\n")).strip()
        if text:
            blocks.append(Block(text))
    if not blocks:
        raise ExtractionError(NO_TEXT)
    return ExtractedDocument(format=DocumentFormat.TEXT, blocks=blocks)


class _MarkdownReader:
    """A line-by-line reading of the block structure CommonMark defines, enough to follow
    headings, lists, tables and code; inline markup is reduced to its text."""

    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self.tables = TableReader()
        self.section: str | None = None
        self._lines: list[str] = []
        self._kind = BlockKind.PARAGRAPH

    def read(self, lines: list[str]) -> None:
        index = 0
        while index < len(lines):
            line = lines[index]
            index += 1
            fence = _FENCE.match(line)
            if fence:
                self._flush()
                index = self._read_code(lines, index, fence.group(1))
            elif not line.strip():
                self._flush()
            elif heading := _ATX_HEADING.match(line):
                self._flush()
                self._add_heading(heading.group(2) or "", len(heading.group(1)))
            elif (underline := _SETEXT_UNDERLINE.match(line)) and self._continues_paragraph():
                text, self._lines = " ".join(self._lines), []
                self._add_heading(text, 1 if underline.group(1).startswith("=") else 2)
            elif _THEMATIC_BREAK.match(line):
                self._flush()
            elif "|" in line and index < len(lines) and _is_table_separator(lines[index]):
                self._flush()
                index = self._read_table(lines, index + 1, line)
            elif item := _LIST_ITEM.match(line):
                self._flush()
                self._kind = BlockKind.LIST_ITEM
                self._lines.append(item.group(1))
            elif quote := _QUOTE.match(line):
                self._lines.append(quote.group(1))
            else:
                self._lines.append(line)
        self._flush()

    def _continues_paragraph(self) -> bool:
        return bool(self._lines) and self._kind is BlockKind.PARAGRAPH

    def _read_code(self, lines: list[str], index: int, fence: str) -> int:
        """Code is kept whole, lines and all, as one paragraph; returns the index past it."""
        code: list[str] = []
        while index < len(lines):
            line = lines[index]
            index += 1
            closing = line.strip()
            if len(closing) >= len(fence) and set(closing) == {fence[0]}:
                break
            code.append(line.rstrip())
        text = "\n".join(code).strip("\n")
        if text.strip():
            self.blocks.append(Block(text, section=self.section))
        return index

    def _read_table(self, lines: list[str], index: int, header: str) -> int:
        rows = [_table_cells(header)]
        while index < len(lines) and "|" in lines[index] and lines[index].strip():
            rows.append(_table_cells(lines[index]))
            index += 1
        self.blocks.extend(self.tables.blocks(rows, section=self.section))
        return index

    def _add_heading(self, text: str, level: int) -> None:
        text = _plain(text)
        if text:
            self.section = text
            self.blocks.append(Block(text, BlockKind.HEADING, section=text, level=level))

    def _flush(self) -> None:
        text = _plain(" ".join(self._lines))
        if text:
            self.blocks.append(Block(text, self._kind, section=self.section))
        self._lines = []
        self._kind = BlockKind.PARAGRAPH


def _is_table_separator(line: str) -> bool:
    return "|" in line and _TABLE_SEPARATOR.match(line) is not None


def _table_cells(line: str) -> list[str]:
    line = line.strip()
    line = line.removeprefix("|")
    if line.endswith("|") and not line.endswith("\\|"):
        line = line[:-1]
    return [_plain(cell.replace("\\|", "|")) for cell in _TABLE_CELL_SEPARATOR.split(line)]


def _plain(text: str) -> str:
    for pattern, replacement in _INLINE_MARKUP:
        text = pattern.sub(replacement, text)
    return cell_text(text)
