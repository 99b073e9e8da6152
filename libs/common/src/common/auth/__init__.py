"""Verifying the tenants service's access tokens: JWKS, pinned algorithm, required claims."""

from common.auth.tokens import (
    ALGORITHM,
    Identity,
    Role,
    TokenVerifier,
    bearer_identity,
    has_role_at_least,
)

__all__ = ["ALGORITHM", "Identity", "Role", "TokenVerifier", "bearer_identity", "has_role_at_least"]
