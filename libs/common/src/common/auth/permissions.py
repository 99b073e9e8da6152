"""What each role may do, in one table, checked by the gateway and again by the owning service.

A user's token carries a role; an API key's token carries scopes instead (a key acts for the
company, not for a person), and may do only what its scopes name.
"""

from enum import StrEnum

from common.auth.tokens import Identity, Role
from common.problems import Problem


class Permission(StrEnum):
    DOCUMENTS_READ = "documents:read"
    DOCUMENTS_WRITE = "documents:write"
    QUESTIONS_ASK = "questions:ask"
    COMPANY_READ = "company:read"
    COMPANY_MANAGE = "company:manage"
    USERS_READ = "users:read"
    USERS_MANAGE = "users:manage"
    API_KEYS_MANAGE = "api_keys:manage"
    AUDIT_READ = "audit:read"
    ASSISTANTS_READ = "assistants:read"
    ASSISTANTS_MANAGE = "assistants:manage"
    CONVERSATIONS_READ = "conversations:read"
    """Read conversations and their messages (an operador: only its assistants')."""
    CONVERSATIONS_HANDLE = "conversations:handle"
    """Take a conversation from the bot, reply as a person, resolve it."""
    MESSAGES_REACT = "messages:react"
    ANALYTICS_READ = "analytics:read"


_EVERYONE = {
    Permission.ASSISTANTS_READ,
    Permission.CONVERSATIONS_READ,
    Permission.CONVERSATIONS_HANDLE,
    Permission.MESSAGES_REACT,
    Permission.DOCUMENTS_READ,
    Permission.QUESTIONS_ASK,
    Permission.COMPANY_READ,
    Permission.USERS_READ,
}
_EDITORS = _EVERYONE | {Permission.DOCUMENTS_WRITE, Permission.ANALYTICS_READ}
_MANAGERS = _EDITORS | {
    Permission.COMPANY_MANAGE,
    Permission.USERS_MANAGE,
    Permission.API_KEYS_MANAGE,
    Permission.AUDIT_READ,
    Permission.ASSISTANTS_MANAGE,
}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.OWNER: frozenset(_MANAGERS),
    Role.ADMINISTRADOR: frozenset(_MANAGERS),
    Role.SUPERVISOR: frozenset(_EDITORS),
    Role.OPERADOR: frozenset(_EVERYONE),
}

# What an API key may be given: server-to-server work, never managing people or keys.
API_KEY_SCOPES: frozenset[Permission] = frozenset(
    {
        Permission.DOCUMENTS_READ,
        Permission.DOCUMENTS_WRITE,
        Permission.QUESTIONS_ASK,
        Permission.COMPANY_READ,
        # A company's own chat product shows its end users their conversation and takes
        # their thumbs up or down.
        Permission.CONVERSATIONS_READ,
        Permission.MESSAGES_REACT,
    }
)


def allows(identity: Identity, permission: Permission) -> bool:
    if identity.scopes is not None:
        return permission.value in identity.scopes
    return permission in ROLE_PERMISSIONS[identity.role]


def require(identity: Identity, permission: Permission) -> None:
    """403 problem+json unless the caller may do `permission`."""
    if not allows(identity, permission):
        who = "This API key" if identity.scopes is not None else f"The {identity.role} role"
        raise Problem(
            403,
            "forbidden",
            f"{who} may not do this (needs {permission.value}).",
            permission=permission.value,
        )
