from sqlalchemy.orm import DeclarativeBase

from common.bus import inbox_table, outbox_table
from common.db import make_metadata
from common.plan_limits import company_limits_table

metadata = make_metadata("ingest")
outbox = outbox_table(metadata)
inbox = inbox_table(metadata)
company_limits = company_limits_table(metadata)


class Base(DeclarativeBase):
    metadata = metadata
