from tests.api.conftest import database_url, platform  # noqa: F401
