"""Shared test fixtures.

Integration tests read real extracts from ``../shared/data``; they skip cleanly when the
folder is absent locally, and fail on CI (``CI=true``) where it must be there.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path of ``../shared/data``; skip (or fail on CI) when missing."""
    if not SHARED_DATA.is_dir():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{SHARED_DATA} is missing on CI: integration data must be beside "
                        "the clone")
        pytest.skip(f"{SHARED_DATA} not present: integration test skipped")
    return SHARED_DATA


def pytest_collection_modifyitems(items):
    """Tests that use the embedded reference reach the package registries the first time the
    reference is built: mark them ``registry`` (deselect with ``-m "not registry"`` offline)."""
    for item in items:
        if "reference" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.registry)


@pytest.fixture(scope="session")
def reference():
    """The embedded reference geography, built once (from the registry packages) if needed."""
    from geodata.reference import load_reference

    return load_reference()
