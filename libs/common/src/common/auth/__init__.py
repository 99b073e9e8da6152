"""Verifying the tenants service's access tokens: JWKS, pinned algorithm, required claims."""

from common.auth.permissions import API_KEY_SCOPES, Permission, allows, require
from common.auth.tokens import (
    ALGORITHM,
    OPERATOR_ROLE,
    Identity,
    OperatorIdentity,
    Role,
    TokenVerifier,
    bearer_identity,
    bearer_token,
    role_rank,
)

__all__ = [
    "ALGORITHM",
    "API_KEY_SCOPES",
    "OPERATOR_ROLE",
    "Identity",
    "OperatorIdentity",
    "Permission",
    "Role",
    "TokenVerifier",
    "allows",
    "bearer_identity",
    "bearer_token",
    "require",
    "role_rank",
]
