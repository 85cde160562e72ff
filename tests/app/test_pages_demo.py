"""AppTest of every page on the real demo data (demo.job.ensure_demo on the real reference).

The demo snapshots are built once per session into a temporary OBSERVATOIRE_DATA_DIR; the
reference geography is the default one (built from the registry packages if needed).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from app_synthetic import PAGES, REPO
from streamlit.testing.v1 import AppTest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def demo_env(tmp_path_factory, reference):
    """Environment variables pointing at freshly built demo snapshots (the ``reference``
    fixture builds the default reference geography first, online: the demo then runs
    offline)."""
    from demo.job import ensure_demo
    from observatory.settings import get_settings

    env = {"OBSERVATOIRE_DATA_DIR": str(tmp_path_factory.mktemp("demo_data")),
           "OBSERVATOIRE_REFERENCE_DIR": str(get_settings().reference_dir),
           "OBSERVATOIRE_OFFLINE": "1", "OBSERVATOIRE_NO_WARMUP": "1"}
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        quarters = ensure_demo(departement="21", progress=False)
    assert quarters == ["2025-T4", "2026-T1", "2026-T2", "2026-T3", "2026-T4"]  # a year of change
    return env


@pytest.fixture
def demo_app(demo_env, monkeypatch):
    import streamlit as st

    for key, value in demo_env.items():
        monkeypatch.setenv(key, value)
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


def _open(page: str, **query) -> AppTest:
    at = AppTest.from_file(str(REPO / "navigation.py"), default_timeout=300)
    at.run()
    at.query_params.clear()
    for key, value in query.items():
        at.query_params[key] = value
    at.switch_page(f"app_pages/{page}.py").run()
    return at


@pytest.mark.parametrize("page", list(PAGES))
def test_demo_page(demo_app, page):
    at = _open(page)
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert [t.value for t in at.title] == [PAGES[page]]
    assert "Données fictives de démonstration, générées sur la géographie réelle de la " \
           "France" in " ".join(w.value for w in at.warning)


def test_demo_comparer_rerender(demo_app):
    at = _open("comparer")
    assert at.selectbox(key="comparer.parent").value == "21"
    at.selectbox(key="comparer.vue").select("communes_dep").run()
    assert not at.exception
    at.selectbox(key="comparer.indicateur").select("emplois_estimes").run()
    assert not at.exception
    at.radio(key="comparer.classification").set_value("jenks").run()
    assert not at.exception
    ranking = at.dataframe[0].value
    assert len(ranking) > 600  # the communes of Côte-d'Or (a count: no small-number filter)
    assert ranking["Emplois estimés (salariés)"].is_monotonic_decreasing  # numbers


def test_demo_mon_territoire_dijon(demo_app):
    at = _open("mon_territoire")
    at.text_input(key="mon_territoire.q").input("dijon").run()
    assert not at.exception
    at.selectbox(key="mon_territoire.choix").select("commune|21231").run()
    assert not at.exception
    assert any(h.value == "Dijon (commune, 21231)" for h in at.header)
    figures = at.dataframe[0].value
    # ranked among the 698 communes of Côte-d'Or (COG 2026); Dijon has the most structures
    assert figures["Rang"].iloc[0] == "1er sur 698"


def test_demo_annuaire_and_zones(demo_app):
    at = _open("annuaire")
    at.button_group(key="annuaire.types").set_value(["fondation"]).run()
    assert not at.exception
    at = _open("zones_blanches")
    at.selectbox(key="zones_blanches.type").select("fondation").run()
    assert not at.exception
    at.slider(key="zones_blanches.km").set_value(5).run()
    assert not at.exception


def test_demo_finds_caen_the_mel_and_longvic(demo_app):
    """The search covers all of France; Caen and the MEL are outside the Côte-d'Or demo and
    said so (never replaced by another territory), Longvic is inside."""
    at = _open("mon_territoire", q="caen")
    choice = at.selectbox(key="mon_territoire.choix")
    assert choice.value == "commune|14118"
    assert "ne couvre pas Caen (commune 14118)" in at.error[0].value
    at = _open("mon_territoire", q="metropole europeenne de lille")
    assert at.selectbox(key="mon_territoire.choix").value == "epci|200093201"
    at = _open("mon_territoire", q="longvic")
    assert at.selectbox(key="mon_territoire.choix").value == "commune|21355"
    assert any(h.value == "Longvic (commune, 21355)" for h in at.header)


def test_demo_normandie_link_is_never_another_region(demo_app):
    at = _open("comparer", vue="departements", parent="28")
    assert not at.exception
    assert "ne couvre pas Normandie (région 28)" in " ".join(w.value for w in at.warning)
    assert at.selectbox(key="comparer.parent").value == "27"


def test_reference_dir_is_the_default_one(demo_env):
    assert Path(demo_env["OBSERVATOIRE_REFERENCE_DIR"]).is_dir()


def test_preload_at_server_start_loads_the_latest_snapshot(demo_app, monkeypatch, caplog):
    """app.py's lifespan calls loaders.preload(): the latest snapshot and the reference are
    loaded before the first visitor; a failure is logged, never raised (the page reports)."""
    from app_pages import loaders

    seen = []
    original = loaders.load_snapshot
    monkeypatch.setattr(loaders, "load_snapshot",
                        lambda s, q: seen.append((s, q)) or original(s, q))
    loaders.preload()
    # the latest quarter first (the first page), then the earlier ones for the charts
    assert seen[0] == ("ess", "2026-T4") and {s for s, _ in seen} == {"ess"}

    def broken():
        raise RuntimeError("simulated import failure")

    monkeypatch.setattr(loaders, "_prefetch_imports", broken)
    with caplog.at_level("ERROR", logger="app_pages.loaders"):
        loaders.preload()  # does not raise
    assert "preload failed" in caplog.text
