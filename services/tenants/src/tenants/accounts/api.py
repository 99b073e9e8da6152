"""Internal routes for the gateway: sign-up, sign-in and password changes."""

from datetime import UTC, datetime
from math import ceil

from fastapi import APIRouter, Response, status

from common.contracts.accounts import (
    AccessToken,
    LoginRequest,
    PasswordChange,
    SignupRequest,
    SignupResponse,
)
from common.problems import Problem
from tenants.accounts import service
from tenants.callers import CurrentCaller, CurrentOrigin
from tenants.settings import TenantsSettings
from tenants.state import DatabaseDep, SettingsDep, TokenIssuerDep
from tenants.tokens import sessions

router = APIRouter(prefix="/internal", tags=["accounts"])


def _lockout(settings: TenantsSettings) -> service.Lockout:
    return service.Lockout(settings.login_max_failed_attempts, settings.login_lockout_seconds)


@router.post("/signup", status_code=status.HTTP_201_CREATED)
async def signup(
    body: SignupRequest, database: DatabaseDep, tokens: TokenIssuerDep, settings: SettingsDep
) -> SignupResponse:
    """Creates a company with its owner and signs the owner in."""
    try:
        owner = await service.sign_up(database, body, plan=settings.signup_plan)
    except service.EmailTaken as exc:
        raise Problem(
            status.HTTP_409_CONFLICT, "email-taken", "A user with this email already exists."
        ) from exc
    pair = await sessions.start_session(database, tokens, owner)
    return SignupResponse(company_id=owner.company_id, user_id=owner.id, **pair.model_dump())


@router.post("/login")
async def login(
    body: LoginRequest,
    database: DatabaseDep,
    tokens: TokenIssuerDep,
    settings: SettingsDep,
    origin: CurrentOrigin,
) -> AccessToken:
    """Signs a user in by email and password (and the company's slug, when the email has
    accounts in several companies)."""
    try:
        user = await service.sign_in(
            database,
            body.email,
            body.password,
            company=body.company,
            lockout=_lockout(settings),
            origin=origin,
        )
    except service.InvalidCredentials as exc:
        # One answer for every cause, lock-out included, so it tells nobody which emails have
        # accounts, nor that a guessed password was right.
        raise Problem(
            status.HTTP_401_UNAUTHORIZED,
            "invalid-credentials",
            "The email or password is incorrect, or the account is locked for a while after"
            " too many failed attempts.",
        ) from exc
    except service.CompanyRequired as exc:
        # Only someone who knows the password gets here; still, no company is named.
        raise Problem(
            status.HTTP_409_CONFLICT,
            "company-required",
            "This email and password belong to accounts in several companies; sign in again"
            " with `company` set to the company's slug.",
        ) from exc
    return await sessions.start_session(database, tokens, user)


@router.post("/password", status_code=status.HTTP_204_NO_CONTENT)
async def change_password(
    body: PasswordChange,
    identity: CurrentCaller,
    database: DatabaseDep,
    settings: SettingsDep,
    origin: CurrentOrigin,
) -> Response:
    """Changes the caller's password; every session (refresh token) of theirs ends, this one
    included."""
    try:
        await service.change_password(
            database,
            identity,
            body.current_password,
            body.new_password,
            lockout=_lockout(settings),
            origin=origin,
        )
    except service.WrongPassword as exc:
        raise Problem(
            status.HTTP_403_FORBIDDEN, "wrong-password", "The current password is incorrect."
        ) from exc
    except service.NoPassword as exc:
        raise Problem(
            status.HTTP_403_FORBIDDEN,
            "forbidden",
            "Only an active user can change a password; an API key has none.",
        ) from exc
    except service.AccountLocked as exc:
        # The caller is signed in, so saying so leaks nothing; the password is not checked.
        retry_after = max(1, ceil((exc.until - datetime.now(UTC)).total_seconds()))
        raise Problem(
            status.HTTP_429_TOO_MANY_REQUESTS,
            "account-locked",
            "Too many wrong passwords; try again later.",
            headers={"Retry-After": str(retry_after)},
            retry_after=retry_after,
        ) from exc
    return Response(status_code=status.HTTP_204_NO_CONTENT)
