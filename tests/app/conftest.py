"""Fixtures of the app tests: the synthetic world patched into the page loaders."""

from __future__ import annotations

import app_synthetic as synthetic
import pytest


@pytest.fixture(scope="session")
def world():
    """(reference, {quarter: snapshot}) of the synthetic world."""
    return synthetic.build_world()


@pytest.fixture
def synthetic_app(world, monkeypatch):
    """Page loaders answer from the synthetic world (no files, no network)."""
    import streamlit as st

    from app_pages import loaders

    reference, snapshots = world
    manifests = [s.manifest for s in snapshots.values()]
    st.cache_data.clear()
    st.cache_resource.clear()
    monkeypatch.setenv("OBSERVATOIRE_OFFLINE", "1")
    monkeypatch.setenv("OBSERVATOIRE_NO_WARMUP", "1")  # no background thread outliving a test
    monkeypatch.setattr(loaders, "_ensure_data", lambda: manifests)
    monkeypatch.setattr(loaders, "load_reference", lambda: reference)
    monkeypatch.setattr(loaders, "load_snapshot", lambda quarter: snapshots[quarter])
    yield world
    st.cache_data.clear()
    st.cache_resource.clear()
