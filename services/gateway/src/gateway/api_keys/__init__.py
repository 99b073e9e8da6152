"""A company's API keys, passed through to the tenants service."""
