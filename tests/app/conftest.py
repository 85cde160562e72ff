"""Fixtures of the app tests: the synthetic world patched into the page loaders."""

from __future__ import annotations

import app_synthetic as synthetic
import pytest


@pytest.fixture(scope="session")
def world():
    """(reference, {quarter: snapshot}) of the synthetic world (snapshots cover région 27)."""
    return synthetic.build_world()


def _patch(world, monkeypatch):
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
    monkeypatch.setattr(loaders, "load_snapshot", lambda serie, quarter: snapshots[quarter])


@pytest.fixture
def synthetic_app(world, monkeypatch):
    """Page loaders answer from the synthetic world (no files, no network)."""
    import streamlit as st

    _patch(world, monkeypatch)
    yield world
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture
def synthetic_app_dep21(monkeypatch):
    """The same world, but the snapshots cover département 21 only: département 71 is
    outside the coverage, région 27 is covered in part."""
    import streamlit as st

    world = synthetic.build_world("departement:21")
    _patch(world, monkeypatch)
    yield world
    st.cache_data.clear()
    st.cache_resource.clear()
