import pytest

from gateway.documents.service import clean_filename


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("manual.md", "manual.md"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\ana\\informe final.txt", "informe final.txt"),
        ("a<b>|c.md", "a_b_c.md"),
        ("", "upload"),
        (None, "upload"),
    ],
)
def test_clean_filename_keeps_only_a_safe_base_name(given: str | None, kept: str) -> None:
    assert clean_filename(given) == kept
