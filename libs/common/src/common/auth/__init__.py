"""Verifying the tenants service's access tokens: JWKS, pinned algorithm, required claims."""

from common.auth.permissions import API_KEY_SCOPES, Permission, allows, require
from common.auth.tokens import (
    ALGORITHM,
    Identity,
    Role,
    TokenVerifier,
    bearer_identity,
    has_role_at_least,
)

__all__ = [
    "ALGORITHM",
    "API_KEY_SCOPES",
    "Identity",
    "Permission",
    "Role",
    "TokenVerifier",
    "allows",
    "bearer_identity",
    "has_role_at_least",
    "require",
]
