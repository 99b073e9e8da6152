"""CSV files, and the rendering of any table's rows (CSV, spreadsheets, tables inside documents
and pages) as 'Header: value; Header: value', so each row can be read and cited on its own."""

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import zip_longest

from common.formats import DocumentFormat, csv_delimiter, decode_text
from ingest.extraction.errors import ExtractionError
from ingest.extraction.model import Block, BlockKind, ExtractedDocument, ExtractionLimits

MAX_TABLE_ROWS = 100_000
"""Rows kept from one file (a CSV, a workbook); the rest are left out with a warning."""

NO_TEXT = "The file contains no text."


def cell_text(value: str) -> str:
    return " ".join(value.split())


def row_text(headers: Sequence[str], values: Sequence[str]) -> str:
    """'Header: value; Header: value', leaving out empty cells; a value without a header
    stands alone."""
    parts = [
        f"{header}: {value}" if header else value
        for header, value in zip_longest(headers, values, fillvalue="")
        if value
    ]
    return "; ".join(parts)


@dataclass
class TableReader:
    """Turns tables' rows into blocks, the first non-empty row of each table being its header,
    and counts rows across the tables of one file so the file's cap holds."""

    max_rows: int = MAX_TABLE_ROWS
    rows_kept: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def full(self) -> bool:
        return self.rows_kept >= self.max_rows

    def blocks(
        self,
        rows: Iterable[Sequence[str]],
        *,
        section: str | None = None,
        page: int | None = None,
    ) -> list[Block]:
        """Each row's cells are expected already as text, one entry per column."""
        headers: list[str] | None = None
        blocks: list[Block] = []
        for row in rows:
            values = [cell_text(value) for value in row]
            if not any(values):
                continue
            if headers is None:
                headers = values
                continue
            if self.full:
                self._warn_full()
                break
            self.rows_kept += 1
            blocks.append(
                Block(row_text(headers, values), BlockKind.TABLE_ROW, page=page, section=section)
            )
        if headers is not None and not blocks and not self.full:
            # A table of a single row: its cells are content, not headers of anything.
            blocks.append(
                Block(row_text([], headers), BlockKind.TABLE_ROW, page=page, section=section)
            )
        return blocks

    def _warn_full(self) -> None:
        warning = (
            f"Only the first {self.max_rows:,} rows were processed; the rest were left out. "
            "Split the file to have all of it searchable."
        )
        if warning not in self.warnings:
            self.warnings.append(warning)


def extract_csv(raw: bytes, limits: ExtractionLimits) -> ExtractedDocument:
    text = decode_text(raw)
    if not text.strip():
        raise ExtractionError(NO_TEXT)
    # A single-column file has no delimiter to find; the comma reads it as one column.
    delimiter = csv_delimiter(text) or ","
    reader = TableReader()
    try:
        blocks = reader.blocks(csv.reader(io.StringIO(text), delimiter=delimiter))
    except csv.Error as error:
        raise ExtractionError(
            "This CSV file could not be read: a quoted value seems never to end, or a value is "
            "too long. Check the quotes in the file, or export it again from its application."
        ) from error
    if not blocks:
        raise ExtractionError(NO_TEXT)
    return ExtractedDocument(format=DocumentFormat.CSV, blocks=blocks, warnings=reader.warnings)
