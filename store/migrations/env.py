"""Alembic environment: runs against the engine the caller put in `config.attributes["engine"]`."""

from alembic import context

from store import models  # noqa: F401 - registers every table on Base.metadata
from store.db import Base

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
