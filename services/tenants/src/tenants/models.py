"""Every table of the tenants schema, imported once so the metadata knows them all."""

from tenants.accounts.models import Company, User
from tenants.api_keys.models import ApiKey
from tenants.audit.models import AuditLog
from tenants.invitations.models import Invitation
from tenants.operators.models import Operator
from tenants.tokens.models import RefreshToken

__all__ = ["ApiKey", "AuditLog", "Company", "Invitation", "Operator", "RefreshToken", "User"]
