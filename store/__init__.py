"""The off-chain store: SQLAlchemy 2 models, Alembic migrations, encrypted personal data, the audit log."""
