"""The certificate suites reuse the platform fixtures (the app on SQLite and on PostgreSQL)."""

from tests.api.conftest import database_url, platform, provisioned_data_dir  # noqa: F401
