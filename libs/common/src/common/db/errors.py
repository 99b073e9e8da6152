"""Reading what a failed write ran into, without depending on the driver's exception types."""

from sqlalchemy.exc import IntegrityError

UNIQUE_VIOLATION = "23505"


def violated_unique_constraint(exc: IntegrityError) -> str | None:
    """The name of the unique constraint or index a failed write hit, if that is what failed."""
    if getattr(exc.orig, "sqlstate", None) != UNIQUE_VIOLATION:
        return None
    driver_error = getattr(exc.orig, "orig", None) or getattr(exc.orig, "__cause__", None)
    name = getattr(driver_error, "constraint_name", None)
    return name if isinstance(name, str) else None
