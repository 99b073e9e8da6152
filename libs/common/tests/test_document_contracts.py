import pytest
from pydantic import ValidationError

from common.contracts.documents import DocumentUpdate


def test_absent_fields_stay_unset() -> None:
    assert DocumentUpdate.model_validate({"tags": ["a"]}).model_dump(exclude_unset=True) == {
        "tags": ["a"]
    }


def test_the_category_may_be_cleared() -> None:
    update = DocumentUpdate.model_validate({"category": None})
    assert update.model_dump(exclude_unset=True) == {"category": None}


@pytest.mark.parametrize("field", ["title", "tags"])
def test_a_title_or_tags_cannot_be_null(field: str) -> None:
    with pytest.raises(ValidationError, match="not null"):
        DocumentUpdate.model_validate({field: None})


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(ValidationError):
        DocumentUpdate.model_validate({"company_id": "x"})
