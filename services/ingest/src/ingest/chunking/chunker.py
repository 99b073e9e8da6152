"""Packs an extracted document's blocks into chunks the embedding model reads whole: bounded
in its tokens, starting at headings, splitting a block only when it alone is too long, and
repeating the tail of the previous chunk of the same section as overlap."""

import re
from dataclasses import dataclass, field

from common.formats import DocumentFormat
from ingest.chunking.tokenizer import Tokenizer, TokenSpans
from ingest.extraction.model import Block, BlockKind, ExtractedDocument

MIN_MAX_TOKENS = 16
SEPARATOR = "\n\n"
"""How `ExtractedDocument.text` joins its blocks; chunk offsets count it."""

_TITLES = frozenset({BlockKind.HEADING, BlockKind.SLIDE_TITLE})
_SENTENCE_END = re.compile(r"[.!?…][\"'\u201d\u2019»)\]]*\Z")
_CELL_END = re.compile(r"[.!?…;][\"'\u201d\u2019»)\]]*\Z")
"""A table row is 'Header: value; Header: value': an overlong one is cut between cells."""

_NO_CUT, _WORD, _SENTENCE = 0, 1, 2


@dataclass(frozen=True)
class Chunk:
    index: int
    text: str
    char_start: int
    char_end: int
    """Offsets into `ExtractedDocument.text`: `document.text[char_start:char_end] == text`."""
    page: int | None
    """Page (or slide) of the chunk's first block; None where the format has no pages."""
    page_end: int | None
    """Page of its last block: a chunk of a PDF may run across a page break."""
    section: str | None
    """The section title in force where the chunk starts."""
    token_count: int
    """In the embedding model's tokenizer, without the special tokens it adds."""


@dataclass(frozen=True)
class _Block:
    block: Block
    offset: int
    """Where the block's text starts in the document's text."""
    start: int
    end: int
    """The block's text without surrounding whitespace, as document offsets."""
    spans: TokenSpans
    """Token offsets relative to the block's text."""

    @property
    def size(self) -> int:
        return len(self.spans)

    @property
    def is_title(self) -> bool:
        return self.block.kind in _TITLES

    def cut_quality(self, token: int) -> int:
        """How cleanly the block may be cut just before `token` (0 < token < size)."""
        text = self.block.text
        end = self.spans[token - 1][1]
        gap = text[end : self.spans[token][0]]
        if not any(ch.isspace() for ch in gap):
            return _NO_CUT
        ends = _CELL_END if self.block.kind is BlockKind.TABLE_ROW else _SENTENCE_END
        if "\n" in gap or ends.search(text, max(0, end - 8), end):
            return _SENTENCE
        return _WORD

    def char_from(self, token: int) -> int:
        """Document offset where a piece that starts at `token` begins."""
        return self.start if token == 0 else self.offset + self.spans[token][0]

    def char_until(self, token: int) -> int:
        """Document offset where a piece that ends just before `token` ends."""
        if token >= self.size:
            return self.end
        return self.offset + len(self.block.text[: self.spans[token][0]].rstrip())


@dataclass(frozen=True)
class _Part:
    """The tokens [lo, hi) of one block within a chunk."""

    block: _Block
    lo: int
    hi: int
    tokens: int
    start: int
    end: int

    @property
    def ends_mid_word(self) -> bool:
        return self.hi < self.block.size and self.block.cut_quality(self.hi) == _NO_CUT


@dataclass
class _Draft:
    """The chunk being filled."""

    parts: list[_Part] = field(default_factory=list)
    tokens: int = 0
    titles_only: bool = True

    def add(self, part: _Part) -> None:
        self.parts.append(part)
        self.tokens += part.tokens
        self.titles_only = self.titles_only and part.block.is_title


def chunk_document(
    document: ExtractedDocument, tokenizer: Tokenizer, *, max_tokens: int, overlap_tokens: int
) -> list[Chunk]:
    """The document's chunks in reading order, each of at most `max_tokens` tokens; together
    they hold every non-whitespace character of `document.text`."""
    if max_tokens < MIN_MAX_TOKENS:
        raise ValueError(f"max_tokens must be at least {MIN_MAX_TOKENS}")
    if not 0 <= overlap_tokens < max_tokens:
        raise ValueError("overlap_tokens must be at least 0 and smaller than max_tokens")
    return _Chunker(document, tokenizer, max_tokens, overlap_tokens).run()


class _Chunker:
    def __init__(
        self, document: ExtractedDocument, tokenizer: Tokenizer, max_tokens: int, overlap: int
    ) -> None:
        self.text = document.text
        self.tokenizer = tokenizer
        self.max_tokens = max_tokens
        self.overlap = overlap
        # Slides are self-contained, so a new slide starts a chunk; a PDF's or a scan's text
        # runs on across a page break, so there a chunk may span pages (page to page_end).
        self.slides = document.format is DocumentFormat.PPTX
        self.chunks: list[Chunk] = []
        offsets: list[int] = []
        offset = 0
        for block in document.blocks:
            offsets.append(offset)
            offset += len(block.text) + len(SEPARATOR)
        kept = [(b, o) for b, o in zip(document.blocks, offsets, strict=True) if b.text.strip()]
        spans = tokenizer.token_spans([block.text for block, _ in kept])
        self.blocks = [
            _Block(
                block=block,
                offset=offset,
                start=offset + len(block.text) - len(block.text.lstrip()),
                end=offset + len(block.text.rstrip()),
                spans=block_spans,
            )
            for (block, offset), block_spans in zip(kept, spans, strict=True)
        ]

    def run(self) -> list[Chunk]:
        draft = _Draft()
        for block in self.blocks:
            if self._starts_chunk(draft, block):
                self._emit(draft)
                draft = _Draft()
            draft = self._add(draft, block)
        if draft.parts:
            self._emit(draft)
        return self.chunks

    def _starts_chunk(self, draft: _Draft, block: _Block) -> bool:
        """A structural break: no overlap is carried across it."""
        if draft.titles_only:
            return False
        previous = draft.parts[-1].block.block
        if block.is_title or block.block.section != previous.section:
            return True
        return self.slides and block.block.page != previous.page

    def _add(self, draft: _Draft, block: _Block) -> _Draft:
        if draft.tokens + block.size <= self.max_tokens:
            draft.add(self._whole(block))
            return draft
        if not draft.titles_only:
            fits_alone = block.size <= self.max_tokens
            room = self.max_tokens - block.size if fits_alone else self.max_tokens // 2
            budget = min(self.overlap, room)
            # A few words cut from a sentence are noise, not context: then no overlap at all.
            draft = self._emit_and_carry(draft, budget if budget * 2 >= self.overlap else 0)
            if fits_alone:
                draft.add(self._whole(block))
                return draft
        elif draft.parts and (block.is_title or draft.tokens >= self.max_tokens):
            # Titles longer together than a chunk: unavoidably one ends a chunk, but whole.
            self._emit(draft)
            draft = _Draft()
        # The block alone is too long, or titles wait for it: it is cut into pieces.
        lo = 0
        while True:
            hi, tokens = self._cut(block, lo, self.max_tokens - draft.tokens)
            draft.add(_Part(block, lo, hi, tokens, block.char_from(lo), block.char_until(hi)))
            if hi >= block.size:
                return draft
            lo = hi
            draft = self._emit_and_carry(draft, min(self.overlap, self.max_tokens // 2))

    def _whole(self, block: _Block) -> _Part:
        return _Part(block, 0, block.size, block.size, block.start, block.end)

    def _cut(self, block: _Block, lo: int, budget: int) -> tuple[int, int]:
        """The end of the piece of `block` from token `lo` holding at most `budget` tokens,
        and its token count."""
        hi = min(block.size, lo + budget)
        if hi < block.size:
            hi = self._cut_point(block, lo, hi)
        exact = (lo == 0 or block.cut_quality(lo) != _NO_CUT) and (
            hi == block.size or block.cut_quality(hi) != _NO_CUT
        )
        if exact:
            return hi, hi - lo
        # Cut inside a word: its pieces tokenize differently from the whole, so count them.
        while True:
            text = self.text[block.char_from(lo) : block.char_until(hi)]
            tokens = self.tokenizer.count_tokens([text])[0]
            if tokens <= budget or hi - lo == 1:
                return hi, tokens
            hi = max(lo + 1, hi - (tokens - budget))

    def _cut_point(self, block: _Block, lo: int, limit: int) -> int:
        """The last sentence end in (lo, limit] that keeps at least half the piece, else the
        last word boundary, else (one word longer than the piece) `limit` itself."""
        half = lo + max(1, (limit - lo) // 2)
        word = 0
        for token in range(limit, lo, -1):
            quality = block.cut_quality(token)
            if quality == _SENTENCE and token >= half:
                return token
            if quality != _NO_CUT and not word:
                word = token
            if word and token < half:
                break
        return word or limit

    def _emit_and_carry(self, draft: _Draft, budget: int) -> _Draft:
        """Emits the chunk and starts the next with about `budget` tokens of its tail."""
        self._emit(draft)
        carried = _Draft()
        for part in self._overlap(draft, budget):
            carried.add(part)
        return carried

    def _overlap(self, draft: _Draft, budget: int) -> list[_Part]:
        """The chunk's tail from a sentence (or, failing that, a word) boundary; whole rows of
        a table; never a title, nor the whole chunk."""
        if budget <= 0 or draft.parts[-1].ends_mid_word:
            return []
        chunk_start = draft.parts[0].start
        sentence: tuple[int, int, int] | None = None
        word: tuple[int, int, int] | None = None
        after = 0
        for index in range(len(draft.parts) - 1, -1, -1):
            part = draft.parts[index]
            block = part.block
            if block.is_title:
                break
            if block.block.kind is not BlockKind.TABLE_ROW:
                for token in range(part.hi - 1, part.lo, -1):
                    tokens = after + part.hi - token
                    if tokens > budget:
                        break
                    quality = block.cut_quality(token)
                    if quality == _SENTENCE:
                        sentence = (index, token, tokens)
                    elif quality == _WORD:
                        word = (index, token, tokens)
            after += part.tokens
            if after > budget:
                break
            if part.start > chunk_start:
                if part.lo == 0:
                    sentence = (index, 0, after)
                elif block.block.kind is not BlockKind.TABLE_ROW:
                    quality = block.cut_quality(part.lo)
                    if quality == _SENTENCE:
                        sentence = (index, part.lo, after)
                    elif quality == _WORD:
                        word = (index, part.lo, after)
        choice = sentence
        if word and (not sentence or (sentence[2] * 2 < budget and word[2] > sentence[2])):
            choice = word
        if choice is None:
            return []
        index, token, tokens = choice
        first = draft.parts[index]
        if token > first.lo:
            first = _Part(
                first.block,
                token,
                first.hi,
                first.hi - token,
                first.block.char_from(token),
                first.end,
            )
        return [first, *draft.parts[index + 1 :]]

    def _emit(self, draft: _Draft) -> None:
        first, last = draft.parts[0], draft.parts[-1]
        self.chunks.append(
            Chunk(
                index=len(self.chunks),
                text=self.text[first.start : last.end],
                char_start=first.start,
                char_end=last.end,
                page=first.block.block.page,
                page_end=last.block.block.page,
                section=first.block.block.section,
                token_count=draft.tokens,
            )
        )
