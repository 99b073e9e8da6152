import itertools
import random
import time
from typing import Any

import pytest
from pydantic import ValidationError

from common.embedding import Embedder
from common.formats import DocumentFormat
from ingest.chunking import Chunk, HuggingFaceTokenizer, chunk_document
from ingest.extraction.model import Block, BlockKind, ExtractedDocument
from ingest.settings import IngestSettings

MAX_TOKENS = 128
OVERLAP_TOKENS = 32
TITLES = (BlockKind.HEADING, BlockKind.SLIDE_TITLE)

EXPENSES = [
    "Los gastos de viaje se justifican con la factura original.",
    "Cada empleado presenta sus gastos antes del día cinco del mes siguiente.",
    "Las comidas con clientes requieren la aprobación previa del responsable.",
    "El kilometraje se paga a 0,26 euros por kilómetro recorrido.",
    "Los taxis solo se reembolsan cuando no hay transporte público razonable.",
    "Las facturas en otra moneda se convierten al cambio del día del gasto.",
]


def sentences(count: int, seed: int = 0) -> str:
    rng = random.Random(seed)
    return " ".join(rng.choice(EXPENSES) for _ in range(count))


def handbook() -> ExtractedDocument:
    return ExtractedDocument(
        format=DocumentFormat.MARKDOWN,
        blocks=[
            Block("Manual del empleado", BlockKind.HEADING, section="Manual del empleado", level=1),
            Block("Introducción breve al manual.", section="Manual del empleado"),
            Block("Vacaciones", BlockKind.HEADING, section="Vacaciones", level=2),
            Block("Veintitrés días laborables al año.", section="Vacaciones"),
            Block("Se piden con quince días de antelación.", section="Vacaciones"),
            Block("Gastos", BlockKind.HEADING, section="Gastos", level=2),
            *(Block(sentences(1 + seed % 2, seed), section="Gastos") for seed in range(16)),
        ],
    )


def count(embedder: Embedder, text: str) -> int:
    return len(embedder.tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"])


def assert_well_formed(
    embedder: Embedder, document: ExtractedDocument, chunks: list[Chunk], max_tokens: int
) -> None:
    text = document.text
    assert [c.index for c in chunks] == list(range(len(chunks)))
    covered = bytearray(len(text))
    for chunk in chunks:
        assert text[chunk.char_start : chunk.char_end] == chunk.text
        assert chunk.text.strip() == chunk.text != ""
        assert chunk.token_count == count(embedder, chunk.text) <= max_tokens
        covered[chunk.char_start : chunk.char_end] = b"\x01" * len(chunk.text)
    uncovered = [i for i, ch in enumerate(text) if not ch.isspace() and not covered[i]]
    assert uncovered == [], "every non-whitespace character lands in a chunk"


def block_spans(document: ExtractedDocument) -> list[tuple[int, int, Block]]:
    spans, offset = [], 0
    for block in document.blocks:
        spans.append((offset, offset + len(block.text), block))
        offset += len(block.text) + 2
    return spans


def overlap(before: Chunk, after: Chunk) -> str:
    return after.text[: max(0, before.char_end - after.char_start)]


@pytest.fixture(scope="module")
def tokenizer(embedder: Embedder) -> HuggingFaceTokenizer:
    return HuggingFaceTokenizer(embedder.tokenizer)


class TestChunkDocument:
    def test_offsets_point_at_the_chunk_text(self, tokenizer: HuggingFaceTokenizer) -> None:
        document = handbook()
        chunks = chunk_document(
            document, tokenizer, max_tokens=MAX_TOKENS, overlap_tokens=OVERLAP_TOKENS
        )
        assert len(chunks) > 3
        for chunk in chunks:
            assert document.text[chunk.char_start : chunk.char_end] == chunk.text

    @pytest.mark.parametrize(("max_tokens", "overlap_tokens"), [(16, 4), (64, 16), (200, 32)])
    def test_chunks_are_bounded_in_the_models_tokens(
        self,
        embedder: Embedder,
        tokenizer: HuggingFaceTokenizer,
        max_tokens: int,
        overlap_tokens: int,
    ) -> None:
        document = handbook()
        chunks = chunk_document(
            document, tokenizer, max_tokens=max_tokens, overlap_tokens=overlap_tokens
        )
        assert_well_formed(embedder, document, chunks, max_tokens)

    def test_a_heading_starts_a_chunk_that_carries_its_section(
        self, tokenizer: HuggingFaceTokenizer
    ) -> None:
        chunks = chunk_document(
            handbook(), tokenizer, max_tokens=MAX_TOKENS, overlap_tokens=OVERLAP_TOKENS
        )
        vacation = next(c for c in chunks if c.text.startswith("Vacaciones"))
        assert vacation.section == "Vacaciones"
        assert "Veintitrés días" in vacation.text
        assert "Introducción" not in vacation.text
        assert "Gastos" not in vacation.text
        expenses = next(c for c in chunks if c.text.startswith("Gastos"))
        assert expenses.section == "Gastos"
        assert [c.section for c in chunks[: chunks.index(vacation)]] == ["Manual del empleado"]

    def test_a_heading_is_never_the_last_thing_in_a_chunk(
        self, embedder: Embedder, tokenizer: HuggingFaceTokenizer
    ) -> None:
        document = ExtractedDocument(
            format=DocumentFormat.DOCX,
            blocks=[
                Block("Introducción.", section=None),
                Block("Política", BlockKind.HEADING, section="Política", level=1),
                Block("Viajes", BlockKind.HEADING, section="Viajes", level=2),
                Block(sentences(40), section="Viajes"),
            ],
        )
        chunks = chunk_document(
            document, tokenizer, max_tokens=MAX_TOKENS, overlap_tokens=OVERLAP_TOKENS
        )
        assert_well_formed(embedder, document, chunks, MAX_TOKENS)
        assert chunks[1].text.startswith("Política\n\nViajes\n\n")
        assert document.blocks[3].text[:40] in chunks[1].text
        assert chunks[1].section == "Política"
        for chunk in chunks:
            assert not chunk.text.endswith(("Política", "Viajes"))

    def test_a_pdf_chunk_may_span_pages_and_cites_both(
        self, embedder: Embedder, tokenizer: HuggingFaceTokenizer
    ) -> None:
        document = ExtractedDocument(
            format=DocumentFormat.PDF,
            page_count=3,
            blocks=[
                Block("Gastos", BlockKind.HEADING, page=1, section="Gastos", level=1),
                Block("Los gastos se justifican", page=1, section="Gastos"),
                Block("con la factura original.", page=2, section="Gastos"),
                Block("Dietas", BlockKind.HEADING, page=2, section="Dietas", level=1),
                Block(sentences(30), page=2, section="Dietas"),
                Block(sentences(30, seed=1), page=3, section="Dietas"),
            ],
        )
        chunks = chunk_document(
            document, tokenizer, max_tokens=MAX_TOKENS, overlap_tokens=OVERLAP_TOKENS
        )
        assert_well_formed(embedder, document, chunks, MAX_TOKENS)
        first = chunks[0]
        assert first.text == "Gastos\n\nLos gastos se justifican\n\ncon la factura original."
        assert (first.page, first.page_end, first.section) == (1, 2, "Gastos")
        diets = chunks[1:]
        assert all(c.section == "Dietas" for c in diets)
        assert diets[0].text.startswith("Dietas")
        assert diets[0].page == 2
        assert diets[-1].page_end == 3
        spans = block_spans(document)
        for chunk in diets:
            starts_in = next(b for start, end, b in spans if start <= chunk.char_start < end)
            ends_in = next(b for start, end, b in spans if start < chunk.char_end <= end)
            assert (chunk.page, chunk.page_end) == (starts_in.page, ends_in.page)

    def test_each_slide_starts_a_chunk(self, tokenizer: HuggingFaceTokenizer) -> None:
        document = ExtractedDocument(
            format=DocumentFormat.PPTX,
            page_count=2,
            blocks=[
                Block("Resultados", BlockKind.SLIDE_TITLE, page=1, section="Resultados"),
                Block("Ventas en alza.", BlockKind.LIST_ITEM, page=1, section="Resultados"),
                Block("Nota de la primera.", BlockKind.NOTES, page=1, section="Resultados"),
                Block("Sin título, segunda diapositiva.", page=2, section="Resultados"),
            ],
        )
        chunks = chunk_document(
            document, tokenizer, max_tokens=MAX_TOKENS, overlap_tokens=OVERLAP_TOKENS
        )
        assert [(c.text, c.page) for c in chunks] == [
            ("Resultados\n\nVentas en alza.\n\nNota de la primera.", 1),
            ("Sin título, segunda diapositiva.", 2),
        ]

    def test_a_format_without_pages_has_no_page(self, tokenizer: HuggingFaceTokenizer) -> None:
        chunks = chunk_document(
            handbook(), tokenizer, max_tokens=MAX_TOKENS, overlap_tokens=OVERLAP_TOKENS
        )
        assert all(c.page is None and c.page_end is None for c in chunks)

    def test_consecutive_chunks_of_a_section_overlap(
        self, embedder: Embedder, tokenizer: HuggingFaceTokenizer
    ) -> None:
        chunks = chunk_document(
            handbook(), tokenizer, max_tokens=MAX_TOKENS, overlap_tokens=OVERLAP_TOKENS
        )
        expenses = [c for c in chunks if c.section == "Gastos"]
        assert len(expenses) > 3
        for before, after in itertools.pairwise(expenses):
            repeated = overlap(before, after)
            assert repeated, "consecutive chunks of one section overlap"
            assert before.text.endswith(repeated)
            assert 0 < count(embedder, repeated) <= OVERLAP_TOKENS
            assert repeated[0].isupper(), "the overlap starts at a sentence"

    def test_no_overlap_of_a_few_words_when_the_next_block_fills_the_chunk(
        self, embedder: Embedder, tokenizer: HuggingFaceTokenizer
    ) -> None:
        long_paragraph = sentences(6, seed=31)
        assert MAX_TOKENS - 8 < count(embedder, long_paragraph) <= MAX_TOKENS
        document = ExtractedDocument(
            DocumentFormat.TEXT, [Block(sentences(3, seed=1)), Block(long_paragraph)]
        )
        chunks = chunk_document(
            document, tokenizer, max_tokens=MAX_TOKENS, overlap_tokens=OVERLAP_TOKENS
        )
        assert [c.text for c in chunks] == [sentences(3, seed=1), long_paragraph]

    def test_no_overlap_across_a_heading(self, tokenizer: HuggingFaceTokenizer) -> None:
        chunks = chunk_document(
            handbook(), tokenizer, max_tokens=MAX_TOKENS, overlap_tokens=OVERLAP_TOKENS
        )
        for before, after in itertools.pairwise(chunks):
            if after.text.startswith(("Vacaciones", "Gastos")):
                assert after.char_start >= before.char_end

    def test_a_long_paragraph_is_split_at_sentence_ends(
        self, embedder: Embedder, tokenizer: HuggingFaceTokenizer
    ) -> None:
        rng = random.Random(7)
        paragraph = " ".join(rng.choice(EXPENSES) for _ in range(250))
        assert count(embedder, paragraph) >= 3000
        document = ExtractedDocument(DocumentFormat.TEXT, [Block(paragraph)])
        chunks = chunk_document(document, tokenizer, max_tokens=200, overlap_tokens=32)
        assert_well_formed(embedder, document, chunks, 200)
        assert len(chunks) >= 3000 // 200
        for chunk in chunks:
            assert chunk.text.endswith("."), "each piece ends at a sentence end"
            assert chunk.text[0].isupper(), "and the next starts a sentence"
            assert chunk.token_count > 100, "sentence ends are taken only if they fill a chunk"

    def test_a_sentence_longer_than_a_chunk_is_cut_between_words(
        self, embedder: Embedder, tokenizer: HuggingFaceTokenizer
    ) -> None:
        words = " ".join(f"palabra{n} sin punto" for n in range(200))
        document = ExtractedDocument(DocumentFormat.TEXT, [Block(words)])
        chunks = chunk_document(document, tokenizer, max_tokens=32, overlap_tokens=8)
        assert_well_formed(embedder, document, chunks, 32)
        text = document.text
        for chunk in chunks:
            assert chunk.char_start == 0 or text[chunk.char_start - 1] == " "
            assert chunk.char_end == len(text) or text[chunk.char_end] == " "

    def test_table_rows_are_never_split(
        self, embedder: Embedder, tokenizer: HuggingFaceTokenizer
    ) -> None:
        rows = [
            Block(
                f"Nombre: Empleada {n}; Departamento: Finanzas; Días: {n % 23}",
                BlockKind.TABLE_ROW,
                section="Plantilla",
            )
            for n in range(40)
        ]
        document = ExtractedDocument(DocumentFormat.XLSX, rows)
        chunks = chunk_document(
            document, tokenizer, max_tokens=MAX_TOKENS, overlap_tokens=OVERLAP_TOKENS
        )
        assert_well_formed(embedder, document, chunks, MAX_TOKENS)
        assert len(chunks) > 1
        for chunk in chunks:
            for start, end, _ in block_spans(document):
                inside = chunk.char_start <= start and end <= chunk.char_end
                apart = end <= chunk.char_start or chunk.char_end <= start
                assert inside or apart, "a row is wholly in a chunk or not at all"

    def test_a_row_longer_than_a_chunk_is_cut_between_cells(
        self, embedder: Embedder, tokenizer: HuggingFaceTokenizer
    ) -> None:
        row = "; ".join(f"Columna {n}: valor número {n}" for n in range(30))
        document = ExtractedDocument(DocumentFormat.CSV, [Block(row, BlockKind.TABLE_ROW)])
        chunks = chunk_document(document, tokenizer, max_tokens=MAX_TOKENS, overlap_tokens=0)
        assert_well_formed(embedder, document, chunks, MAX_TOKENS)
        assert len(chunks) > 1
        assert all(c.text.endswith(";") for c in chunks[:-1])

    def test_spanish_accents_count_and_offsets_are_exact(
        self, embedder: Embedder, tokenizer: HuggingFaceTokenizer
    ) -> None:
        document = ExtractedDocument(
            DocumentFormat.HTML,
            [
                Block("Política de conciliación", BlockKind.HEADING, section="Conciliación"),
                Block(
                    "¿Quién decide? La compañía, en Málaga, concede días de asuntos propios "
                    "según la antigüedad: año y medio, ñandú, pingüino. "
                    "Me\u0301xico y Bogotá también cuentan. " * 12,
                    section="Conciliación",
                ),
            ],
        )
        chunks = chunk_document(document, tokenizer, max_tokens=48, overlap_tokens=12)
        assert_well_formed(embedder, document, chunks, 48)
        assert "Málaga" in chunks[0].text
        assert len(chunks) > 3

    def test_every_character_is_covered_even_by_odd_text(
        self, embedder: Embedder, tokenizer: HuggingFaceTokenizer
    ) -> None:
        document = ExtractedDocument(
            DocumentFormat.TEXT,
            [
                Block("  sangría inicial y final  "),
                Block(""),
                Block("   "),
                Block("control\x00dentro y \u200bespacio de anchura cero"),
                Block("superlargapalabrasinespacios" * 12 + " fin."),
                Block("中文句子。" * 60),
                Block("\x00"),
            ],
        )
        chunks = chunk_document(document, tokenizer, max_tokens=20, overlap_tokens=5)
        assert_well_formed(embedder, document, chunks, 20)

    def test_invariants_hold_on_random_documents(
        self, embedder: Embedder, tokenizer: HuggingFaceTokenizer
    ) -> None:
        vocabulary = [*" ".join(EXPENSES).split(), "¿qué?", "x\x00y", "“cita.”", "\n"]
        for seed in range(30):
            rng = random.Random(seed)
            blocks, section = [], "Inicio"
            for page in range(1, rng.randint(2, 12)):
                for _ in range(rng.randint(1, 4)):
                    kind = rng.choice(list(BlockKind))
                    words = rng.choice([2, 10, 60, 300]) if kind not in TITLES else 3
                    text = " ".join(rng.choice(vocabulary) for _ in range(words))
                    section = text if kind in TITLES else section
                    blocks.append(Block(text, kind, page=page, section=section))
            document = ExtractedDocument(rng.choice(list(DocumentFormat)), blocks)
            max_tokens = rng.choice([16, 40, 200])
            chunks = chunk_document(
                document, tokenizer, max_tokens=max_tokens, overlap_tokens=max_tokens // 5
            )
            assert_well_formed(embedder, document, chunks, max_tokens)

    def test_a_500_page_document_chunks_in_seconds(
        self, embedder: Embedder, tokenizer: HuggingFaceTokenizer
    ) -> None:
        blocks = []
        for page in range(1, 501):
            section = f"Capítulo {(page + 2) // 3}"
            if page % 3 == 1:
                blocks.append(Block(section, BlockKind.HEADING, page=page, section=section))
            blocks.extend(
                Block(sentences(5, seed=page * 10 + n), page=page, section=section)
                for n in range(6)
            )
        document = ExtractedDocument(DocumentFormat.PDF, blocks, page_count=500)
        started = time.perf_counter()
        chunks = chunk_document(document, tokenizer, max_tokens=200, overlap_tokens=32)
        elapsed = time.perf_counter() - started
        tokens = sum(len(s) for s in tokenizer.token_spans([b.text for b in blocks]))
        print(f"500 pages, {tokens} tokens, {len(chunks)} chunks in {elapsed:.2f} s")
        assert elapsed < 10
        assert all(c.token_count <= 200 for c in chunks)
        assert chunks[-1].page_end == 500

    def test_an_empty_document_has_no_chunks(self, tokenizer: HuggingFaceTokenizer) -> None:
        document = ExtractedDocument(DocumentFormat.TEXT, [Block(""), Block(" \n ")])
        assert chunk_document(document, tokenizer, max_tokens=64, overlap_tokens=8) == []

    @pytest.mark.parametrize(
        ("max_tokens", "overlap_tokens", "message"),
        [(64, 64, "overlap"), (64, 100, "overlap"), (64, -1, "overlap"), (15, 0, "max_tokens")],
    )
    def test_sizes_are_checked(
        self, tokenizer: HuggingFaceTokenizer, max_tokens: int, overlap_tokens: int, message: str
    ) -> None:
        with pytest.raises(ValueError, match=message):
            chunk_document(
                handbook(), tokenizer, max_tokens=max_tokens, overlap_tokens=overlap_tokens
            )


class TestHuggingFaceTokenizer:
    def test_spans_point_into_the_text_without_special_tokens(
        self, tokenizer: HuggingFaceTokenizer
    ) -> None:
        texts = ["Veintitrés días.", "", "Málaga " * 300]
        spans = tokenizer.token_spans(texts)
        assert [texts[0][start:end] for start, end in spans[0]] == [
            "Vein",
            "ti",
            "trés",
            "día",
            "s",
            ".",
        ]
        assert [len(s) for s in spans] == tokenizer.count_tokens(texts) == [6, 0, 300]
        assert tokenizer.token_spans([]) == tokenizer.count_tokens([]) == []


class TestIngestSettings:
    def test_chunk_sizes_default_within_the_model(self, embedder: Embedder) -> None:
        settings = IngestSettings()
        assert settings.chunk_max_tokens + 2 <= embedder.max_tokens
        assert 0 < settings.chunk_overlap_tokens < settings.chunk_max_tokens

    @pytest.mark.parametrize(
        "sizes",
        [
            {"chunk_max_tokens": 255},
            {"chunk_max_tokens": 15},
            {"chunk_max_tokens": 64, "chunk_overlap_tokens": 64},
        ],
    )
    def test_chunk_sizes_out_of_bounds_are_refused(self, sizes: dict[str, Any]) -> None:
        with pytest.raises(ValidationError):
            IngestSettings(**sizes)
