"""Sign-up, sign-in and sessions: the public shapes (gateway) and the internal ones (tenants) are
the same."""

import re
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, StringConstraints

# Deliberately simple: something@something.tld; the address is proven by using it, not by regex.
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def _check_email(value: str) -> str:
    if not _EMAIL.fullmatch(value):
        raise ValueError("not a valid email address")
    return value


EmailAddress = Annotated[
    str,
    StringConstraints(strip_whitespace=True, to_lower=True, min_length=3, max_length=254),
    AfterValidator(_check_email),
]
# Never stripped: a password is exactly what was typed.
Password = Annotated[str, StringConstraints(min_length=8, max_length=128)]
# A password being checked, not chosen: held only to the limits of what can be typed.
PresentedPassword = Annotated[str, StringConstraints(min_length=1, max_length=128)]
CompanySlug = Annotated[
    str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=100)
]
CompanyName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
PersonName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class SignupRequest(BaseModel):
    company_name: CompanyName
    email: EmailAddress
    password: Password
    first_name: PersonName
    last_name: PersonName


class LoginRequest(BaseModel):
    # Not held to the sign-up format: a malformed email is simply one without an account,
    # answered like any other wrong credentials.
    email: Annotated[
        str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=254)
    ]
    password: PresentedPassword
    company: CompanySlug | None = None
    """The company's slug; needed only when the email has accounts in several companies."""


class AccessToken(BaseModel):
    """A signed-in session: a short-lived access token and the refresh token that renews it."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
    """Seconds until the access token expires."""
    refresh_token: str
    """Opaque; exchanged once at /v1/auth/refresh for a new pair, or revoked at /v1/auth/logout."""
    refresh_expires_in: int
    """Seconds until the refresh token expires unless used first."""


class RefreshRequest(BaseModel):
    refresh_token: Annotated[str, StringConstraints(min_length=1, max_length=256)]


class PasswordChange(BaseModel):
    current_password: PresentedPassword
    new_password: Password


class SignupResponse(AccessToken):
    company_id: UUID
    user_id: UUID
