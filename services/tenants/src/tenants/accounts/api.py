"""Internal routes for the gateway: sign-up and sign-in, answering with an access token."""

from fastapi import APIRouter, status

from common.auth import Role
from common.contracts.accounts import AccessToken, LoginRequest, SignupRequest, SignupResponse
from common.problems import Problem
from tenants.accounts import service
from tenants.state import DatabaseDep, SettingsDep, TokenIssuerDep

router = APIRouter(prefix="/internal", tags=["accounts"])


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
    token = tokens.issue(user_id=owner.id, company_id=owner.company_id, role=Role(owner.role))
    return SignupResponse(company_id=owner.company_id, user_id=owner.id, **token.model_dump())


@router.post("/login")
async def login(body: LoginRequest, database: DatabaseDep, tokens: TokenIssuerDep) -> AccessToken:
    """Signs a user in by email and password."""
    try:
        user = await service.sign_in(database, body.email, body.password)
    except service.InvalidCredentials as exc:
        # One answer for every cause, so it cannot tell which emails have accounts.
        raise Problem(
            status.HTTP_401_UNAUTHORIZED,
            "invalid-credentials",
            "The email or password is incorrect.",
        ) from exc
    return tokens.issue(user_id=user.id, company_id=user.company_id, role=Role(user.role))
