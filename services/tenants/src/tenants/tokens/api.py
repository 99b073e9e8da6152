"""The public half of the signing keys, for whoever verifies access tokens; and the sessions'
refresh and logout, which need nothing but the refresh token."""

from fastapi import APIRouter, Response, status

from common.contracts.accounts import AccessToken, RefreshRequest
from common.problems import Problem
from tenants.callers import CurrentOrigin
from tenants.state import DatabaseDep, TokenIssuerDep
from tenants.tokens import sessions
from tenants.tokens.schemas import JsonWebKeySet

router = APIRouter(prefix="/internal", tags=["tokens"])


@router.get("/jwks.json")
async def jwks(tokens: TokenIssuerDep, response: Response) -> JsonWebKeySet:
    # Verifiers refetch on an unknown kid, so a short cache still picks up a rotation.
    response.headers["Cache-Control"] = "public, max-age=300"
    return tokens.jwks()


@router.post("/refresh")
async def refresh(
    body: RefreshRequest, database: DatabaseDep, tokens: TokenIssuerDep, origin: CurrentOrigin
) -> AccessToken:
    """A new access token and refresh token for one refresh token, which is then spent."""
    try:
        return await sessions.refresh(database, tokens, body.refresh_token, origin=origin)
    except sessions.InvalidRefreshToken as exc:
        raise Problem(
            status.HTTP_401_UNAUTHORIZED,
            "invalid-refresh-token",
            "The refresh token is not valid (unknown, expired, revoked or already used);"
            " sign in again.",
        ) from exc


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(body: RefreshRequest, database: DatabaseDep) -> Response:
    """Ends the session the refresh token belongs to. Idempotent: an unknown or already revoked
    token answers the same."""
    await sessions.log_out(database, body.refresh_token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
