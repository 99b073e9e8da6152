"""The sparse term vectors: what a text's terms are, and their BM25 weights."""

from query.index.sparse import SparseEncoder, language_of, term_index, terms

encoder = SparseEncoder()


def shared(a: str, b: str) -> set[str]:
    return set(terms(a)) & set(terms(b))


class TestTerms:
    def test_spanish_plural_and_singular_share_a_term(self) -> None:
        assert shared("documentos", "documento")
        assert shared("Los documentos firmados están en el archivo.", "¿Dónde está el documento?")

    def test_accents_do_not_matter(self) -> None:
        assert terms("información del teléfono") == terms("informacion del telefono")
        assert terms("INFORMACIÓN") == terms("información")

    def test_enye_is_kept(self) -> None:
        assert not shared("año", "ano")

    def test_english_words_are_stemmed_in_english(self) -> None:
        assert terms("The proteins were running in the cells") == ["protein", "run", "cell"]
        assert shared("runs", "running")

    def test_stop_words_are_dropped(self) -> None:
        assert terms("de la que el of the and") == []

    def test_codes_stay_whole(self) -> None:
        assert "xr-200" in terms("El modelo XR-200 cuesta cien euros.")
        assert not shared("XR-200", "XR-201")

    def test_the_language_comes_from_the_stop_words(self) -> None:
        assert language_of(["los", "empleados", "de", "la", "empresa"]) == "spanish"
        assert language_of(["the", "employees", "of", "the", "company"]) == "english"
        assert language_of(["xr-200", "precio"]) is None

    def test_a_text_of_no_clear_language_is_stemmed_both_ways(self) -> None:
        # Spanish "document", English "documento": it meets a document in either language.
        assert set(terms("documentos")) == {"document", "documento"}


class TestEncoder:
    def test_term_indices_are_stable_across_processes(self) -> None:
        assert term_index("document") == 3630795382

    def test_question_and_document_meet_on_the_same_indices(self) -> None:
        document = encoder.document("Los documentos firmados están en el archivo.")
        question = encoder.query("documento")
        assert set(question.indices) & set(document.indices)
        assert question.values == [1.0] * len(question.indices)

    def test_term_frequency_saturates(self) -> None:
        once = encoder.document("garantía " + "otra palabra " * 10)
        thrice = encoder.document("garantía garantía garantía " + "otra palabra " * 9)
        index = term_index("garanti")
        weight_once = once.values[once.indices.index(index)]
        weight_thrice = thrice.values[thrice.indices.index(index)]
        assert weight_once < weight_thrice < encoder.k1 + 1
        assert weight_thrice < 3 * weight_once

    def test_longer_documents_weigh_a_term_less(self) -> None:
        short = encoder.document("garantía de dos años")
        long = encoder.document("garantía de dos años " + "y muchas palabras más " * 40)
        index = term_index("garanti")
        assert long.values[long.indices.index(index)] < short.values[short.indices.index(index)]
