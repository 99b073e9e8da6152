"""Web pages (.html): the readable content as headings, paragraphs, list items and table rows,
without scripts, styles, navigation and other page furniture."""

from dataclasses import dataclass

from bs4 import BeautifulSoup
from bs4.element import NavigableString, PageElement, PreformattedString, Tag

from common.formats import DocumentFormat, decode_text
from ingest.extraction.errors import ExtractionError
from ingest.extraction.model import Block, BlockKind, ExtractedDocument, ExtractionLimits
from ingest.extraction.tabular import TableReader, cell_text

_NOISE = [
    "head",
    "script",
    "style",
    "noscript",
    "template",
    "svg",
    "canvas",
    "iframe",
    "object",
    "embed",
    "nav",
    "footer",
    "aside",
    "button",
    "select",
]
_INLINE = {
    "a",
    "abbr",
    "b",
    "bdi",
    "bdo",
    "cite",
    "code",
    "data",
    "del",
    "dfn",
    "em",
    "font",
    "i",
    "img",
    "ins",
    "kbd",
    "label",
    "mark",
    "q",
    "s",
    "samp",
    "small",
    "span",
    "strong",
    "sub",
    "sup",
    "time",
    "u",
    "var",
    "wbr",
}
_HEADINGS = {f"h{level}": level for level in range(1, 7)}
_LIST_ITEMS = {"li", "dt", "dd"}
# A hostile colspan="1000000" must not make a row of a million cells.
_MAX_COLSPAN = 100


@dataclass(frozen=True)
class _Context:
    """What the text directly inside an element becomes."""

    kind: BlockKind = BlockKind.PARAGRAPH
    level: int = 0


@dataclass(frozen=True)
class _End:
    """Marks where an element's content ends on the walk's stack."""

    context: _Context


def extract_html(raw: bytes, limits: ExtractionLimits) -> ExtractedDocument:
    soup = BeautifulSoup(decode_text(raw), "html.parser")
    title = _inline_text(soup.title) if soup.title is not None else ""
    for tag in [*soup.find_all(_NOISE), *soup.find_all(hidden=True)]:
        tag.extract()
    page = _PageReader()
    if title and soup.find("h1") is None:
        page.blocks.append(Block(title, BlockKind.HEADING, section=title, level=1))
        page.section = title
    page.read(soup)
    if not page.blocks:
        raise ExtractionError("This web page contains no readable text.")
    return ExtractedDocument(
        format=DocumentFormat.HTML, blocks=page.blocks, warnings=page.tables.warnings
    )


class _PageReader:
    """Walks the page in document order with its own stack: pages nest deeper than Python's
    recursion allows."""

    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self.section: str | None = None
        self.tables = TableReader()
        self._inline: list[str] = []

    def read(self, root: Tag) -> None:
        stack: list[tuple[PageElement, _Context] | _End] = [
            (child, _Context()) for child in reversed(root.contents)
        ]
        while stack:
            item = stack.pop()
            if isinstance(item, _End):
                self._flush(item.context)
                continue
            node, context = item
            if isinstance(node, NavigableString):
                if not isinstance(node, PreformattedString):  # comments, doctype, CDATA
                    self._inline.append(str(node))
                continue
            if not isinstance(node, Tag):
                continue
            if node.name in _INLINE:
                stack.extend((child, context) for child in reversed(node.contents))
            elif node.name == "br":
                self._inline.append(" ")
            elif node.name == "table":
                self._flush(context)
                self.blocks.extend(self.tables.blocks(_table_rows(node), section=self.section))
            elif node.name == "pre":
                self._flush(context)
                self._add(_preformatted_text(node), _Context())
            else:
                self._flush(context)
                inner = _context_of(node)
                stack.append(_End(inner))
                stack.extend((child, inner) for child in reversed(node.contents))
        self._flush(_Context())

    def _flush(self, context: _Context) -> None:
        text = cell_text("".join(self._inline))
        self._inline.clear()
        self._add(text, context)

    def _add(self, text: str, context: _Context) -> None:
        if not text:
            return
        if context.kind is BlockKind.HEADING:
            self.section = text
        self.blocks.append(Block(text, context.kind, section=self.section, level=context.level))


def _context_of(tag: Tag) -> _Context:
    if tag.name in _HEADINGS:
        return _Context(BlockKind.HEADING, _HEADINGS[tag.name])
    if tag.name in _LIST_ITEMS:
        return _Context(BlockKind.LIST_ITEM)
    return _Context()


def _inline_text(tag: Tag) -> str:
    """The tag's text on one line, block-level children kept apart by a space."""
    parts: list[str] = []
    for node in tag.descendants:
        if isinstance(node, Tag) and node.name not in _INLINE:
            parts.append(" ")
        elif isinstance(node, NavigableString) and not isinstance(node, PreformattedString):
            parts.append(str(node))
    return cell_text("".join(parts))


def _preformatted_text(tag: Tag) -> str:
    """Code and other preformatted text keep their lines."""
    lines = [line.rstrip() for line in tag.get_text().split("\n")]
    return "\n".join(lines).strip("\n")


def _table_rows(table: Tag) -> list[list[str]]:
    rows: list[list[str]] = []
    for row in table.find_all("tr"):
        # Rows of a table nested in a cell belong to that cell's text, not to this table.
        if row.find_parent("table") is not table:
            continue
        values: list[str] = []
        for cell in row.find_all(["td", "th"], recursive=False):
            values.append(_inline_text(cell))
            values.extend([""] * (_colspan(cell) - 1))
        rows.append(values)
    return rows


def _colspan(cell: Tag) -> int:
    try:
        return max(1, min(int(str(cell.get("colspan", "1"))), _MAX_COLSPAN))
    except ValueError:
        return 1
