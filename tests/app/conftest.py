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
    _no_vendoring(monkeypatch)
    monkeypatch.setattr(loaders, "_ensure_data", lambda: manifests)
    monkeypatch.setattr(loaders, "load_reference", lambda: reference)
    monkeypatch.setattr(loaders, "load_snapshot", lambda serie, quarter: snapshots[quarter])
    monkeypatch.setattr(loaders, "light_structures", _light(lambda serie, q: snapshots[q]))


def _no_vendoring(monkeypatch):
    """Pages get the conventional /app/static/vendor paths without fetching Leaflet: a
    clean clone has no vendored copy, and the tests run offline (the browser tests, which
    need the real files, vendor them)."""
    import observatory.assets

    monkeypatch.setattr(observatory.assets, "ensure_map_assets", lambda *a, **k: {})


def _light(snapshot_of):
    """loaders.light_structures on in-memory snapshots (some columns of the structures)."""
    from app_pages import loaders

    def light(serie, quarter, columns=loaders.LIGHT_COLUMNS, active_only=False):
        structures = snapshot_of(serie, quarter).structures
        if active_only:
            structures = structures[(structures["etat_administratif"] == "A").to_numpy(
                dtype=bool)]
        return structures[[c for c in columns if c in structures.columns]].copy()
    return light


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


@pytest.fixture
def two_series_app(world, monkeypatch):
    """Two series side by side (SERIES_API): `ess` (the synthetic demo, manifests without
    `serie`, as a store without series writes them) and `insertion` (real-looking types)."""
    import streamlit as st

    from app_pages import loaders

    reference, ess = world
    insertion = {"2026-T4": synthetic.build_insertion_snapshot(reference, "2026-T4")}
    manifests = [s.manifest for s in ess.values()] + [insertion["2026-T4"].manifest]
    st.cache_data.clear()
    st.cache_resource.clear()
    monkeypatch.setenv("OBSERVATOIRE_OFFLINE", "1")
    monkeypatch.setenv("OBSERVATOIRE_NO_WARMUP", "1")
    _no_vendoring(monkeypatch)
    monkeypatch.setattr(loaders, "_ensure_data", lambda: manifests)
    monkeypatch.setattr(loaders, "load_reference", lambda: reference)
    def snapshot_of(serie, quarter):
        return (insertion if serie == "insertion" else ess)[quarter]

    monkeypatch.setattr(loaders, "load_snapshot", snapshot_of)
    monkeypatch.setattr(loaders, "light_structures", _light(snapshot_of))
    yield
    st.cache_data.clear()
    st.cache_resource.clear()
