"""Alembic environment: the URL comes from the caller (spatial.migrate) or from LAPIS settings."""

from __future__ import annotations

from alembic import context

from spatial.db import make_engine, owner_database_url
from spatial.settings import Settings

config = context.config


def run_migrations_online() -> None:
    url = config.attributes.get("database_url") or owner_database_url(Settings())
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(connection=connection, transaction_per_migration=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("LAPIS migrations run online only: use `lapis db migrate`.")
run_migrations_online()
