"""The named RLS scopes of the tenants schema (`app.scope`, see common.db.migrations).

Each lets one piece of work see rows before it knows their company, and nothing more.
"""

# Reads every company's users by email (sign-in cannot know the company first).
SIGN_IN = "sign_in"
# Reads invitations by token hash (the invitee has no company yet).
INVITATION_ACCEPT = "invitation_accept"
# Reads refresh tokens by hash.
TOKEN_REFRESH = "token_refresh"
# Reads API keys by hash.
API_KEY_AUTH = "api_key_auth"
# Platform operators: every company, and the operators table.
PLATFORM = "platform"
