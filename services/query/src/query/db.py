from sqlalchemy.orm import DeclarativeBase

from common.bus import inbox_table, outbox_table
from common.db import make_metadata

metadata = make_metadata("query")
outbox = outbox_table(metadata)
inbox = inbox_table(metadata)


class Base(DeclarativeBase):
    metadata = metadata
