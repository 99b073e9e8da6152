"""The tenants schema's metadata, its ORM base, and the outbox every domain writes to."""

from sqlalchemy.orm import DeclarativeBase

from common.bus import outbox_table
from common.db import make_metadata

metadata = make_metadata("tenants")
outbox = outbox_table(metadata)


class Base(DeclarativeBase):
    metadata = metadata
