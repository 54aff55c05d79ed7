from tests.api.conftest import database_url, platform, provisioned_data_dir  # noqa: F401
