"""The public half of the signing keys, for whoever verifies access tokens."""

from fastapi import APIRouter, Response

from tenants.state import TokenIssuerDep
from tenants.tokens.schemas import JsonWebKeySet

router = APIRouter(prefix="/internal", tags=["tokens"])


@router.get("/jwks.json")
async def jwks(tokens: TokenIssuerDep, response: Response) -> JsonWebKeySet:
    # Verifiers refetch on an unknown kid, so a short cache still picks up a rotation.
    response.headers["Cache-Control"] = "public, max-age=300"
    return tokens.jwks()
