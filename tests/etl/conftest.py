"""Fixtures of the ETL tests; the builders live in ``sirene_fixtures`` (a unique module name,
so that test files never import another folder's ``conftest``)."""

from sirene_fixtures import data_dir, reference_dir, tiny_reference  # noqa: F401
