"""Alembic environment: runs migrations on the engine named by the config's URL."""

from alembic import context

import store.admin_tables
import store.kamailio_tables  # noqa: F401  (registers Kamailio's tables on the metadata)
from store.db import make_engine
from store.models import Base

config = context.config
engine = make_engine(config.get_main_option("sqlalchemy.url"))
with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
