"""The tenants schema's metadata, its ORM base, the outbox every domain writes to, and the
inbox of its consumers."""

from sqlalchemy.orm import DeclarativeBase

from common.bus import inbox_table, outbox_table
from common.db import make_metadata

metadata = make_metadata("tenants")
outbox = outbox_table(metadata)
inbox = inbox_table(metadata)


class Base(DeclarativeBase):
    metadata = metadata
