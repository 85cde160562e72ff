"""Fixtures of the browser tests (defined in e2e_kit, a uniquely named module)."""

from e2e_kit import app_url, browser, data_env, page  # noqa: F401 - fixtures
