"""``python -m observatory demo``: builds the five demo snapshots once (all France by default,
one département with ``--departement``), then reuses them, and never touches snapshots of real
data.  The reference geography is a tiny one built here (2 × 2 squares of 0.1° in Côte-d'Or,
worked out by hand) so the test runs in seconds."""

from __future__ import annotations

import json

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import box

from cli.main import main
from demo import job as demo_cmd
from observatory import storage


class _TinyReference:
    def __init__(self) -> None:
        rows = [{"code": f"2110{i}", "nom": f"Commune {i}", "epci": "242100410",
                 "departement": "21", "region": "27", "zone": "metro",
                 "geometry": box(4.9 + 0.1 * (i % 2), 47.2 + 0.1 * (i // 2),
                                 5.0 + 0.1 * (i % 2), 47.3 + 0.1 * (i // 2))}
                for i in range(4)]
        communes = gpd.GeoDataFrame(rows, crs="EPSG:4326").set_index("code")
        for col in ("nom", "epci", "departement", "region", "zone"):
            communes[col] = communes[col].astype("string")
        communes.index = communes.index.astype("string")
        communes["population"] = pd.array([3000, 500, 200, 40], dtype="Int64")
        communes["superficie_km2"] = 80.0
        self.communes = communes
        deps = communes.dissolve("departement")[["region", "geometry"]]
        deps["nom"] = "Côte-d'Or"
        self.departements = deps
        self.regions = communes.dissolve("region")[["geometry"]]
        self.epci = communes.dissolve("epci")[["geometry"]]
        self.code_changes = pd.DataFrame({"ancien_code": ["21999"], "code": ["21101"],
                                          "nature": ["ancienne_commune"]}, dtype="string")
        self.vintages = {"cog": "COG test"}
        self.crs = "EPSG:4326"


@pytest.fixture
def env(tmp_path, monkeypatch):
    import geodata.reference as georef

    monkeypatch.setenv("OBSERVATOIRE_DATA_DIR", str(tmp_path / "data"))
    ref = _TinyReference()
    monkeypatch.setattr(georef, "load_reference", lambda **kw: ref)
    monkeypatch.setattr(georef, "reference_exists", lambda *a, **kw: True)
    # The map assets come from the npm registry: count the calls instead of fetching here
    # (observatory.assets is tested against a local fake registry in tests/core).
    import observatory.assets

    calls = []
    monkeypatch.setattr(observatory.assets, "ensure_map_assets", lambda: calls.append(1) or {})
    monkeypatch.setattr(demo_cmd, "ASSET_CALLS", calls, raising=False)
    return tmp_path / "data"


QUARTERS = ["2025-T4", "2026-T1", "2026-T2", "2026-T3", "2026-T4"]  # five, a year apart


def _fake_real_snapshot(data, quarter, serie="ess"):
    folder = data / "snapshots" / serie / quarter
    folder.mkdir(parents=True)
    manifest = {"serie": serie, "quarter": quarter, "territoire": "departement:21",
                "demo": False}
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


def _no_regeneration(monkeypatch):
    import demo.files

    def boom(*args, **kwargs):
        raise AssertionError("must not regenerate")

    monkeypatch.setattr(demo.files, "generate_demo_quarters", boom)


def test_departement_demo_builds_then_reuses(env, capsys, monkeypatch):
    assert main(["demo", "--departement", "21"]) == 0
    captured = capsys.readouterr()
    assert "Démonstration prête en" in captured.err
    assert f"demo (ess): {', '.join(QUARTERS)}" in captured.out
    # the embedded default has both series: the real insertion layer too (not demo)
    assert "insertion (données réelles): 2026-T4" in captured.out
    assert [m["demo"] for m in storage.list_snapshots(serie="insertion")] == [False]
    manifests = storage.list_snapshots(serie="ess")
    assert [m["quarter"] for m in manifests] == QUARTERS
    assert all(m["demo"] and m["territoire"] == "departement:21" and m["serie"] == "ess"
               for m in manifests)
    assert (env / "demo" / "2026-T4" / "StockEtablissement_utf8.csv").is_file()
    assert demo_cmd.ASSET_CALLS == [1], "the demo command prepares Leaflet for the app"
    snap = storage.load_snapshot("2026-T4")
    assert len(snap.structures) > 0 and snap.structures["commune"].str.startswith("21").all()

    _no_regeneration(monkeypatch)
    assert main(["demo", "--departement", "21"]) == 0
    assert "déjà présents" in capsys.readouterr().err
    assert demo_cmd.ensure_demo(departement="21", out=lambda m: None) == QUARTERS


def test_national_demo_by_default(env, capsys, monkeypatch):
    assert main(["demo"]) == 0
    assert f"demo (ess): {', '.join(QUARTERS)}" in capsys.readouterr().out
    manifests = storage.list_snapshots(serie="ess")
    assert [m["quarter"] for m in manifests] == QUARTERS
    assert {m["territoire"] for m in manifests} == {"france"}
    # the national demo is written in the Parquet edition of the stock files
    assert (env / "demo" / "2025-T4" / "StockEtablissement_utf8.parquet").is_file()
    assert not (env / "demo" / "2025-T4" / "StockEtablissement_utf8.csv").exists()
    # the bad rows of the demo are rejected with their reasons (one of each per département)
    reasons = storage.load_snapshot("2026-T4").rejects["raison"].str.split(":").str[0]
    assert sorted(reasons) == ["commune_inconnue", "hors_commune", "siret_invalide"]

    _no_regeneration(monkeypatch)
    messages = []
    # a département asked for is covered by the national demo: nothing to build
    assert demo_cmd.ensure_demo(departement="21", out=messages.append) == QUARTERS
    assert "couvre le département 21" in messages[0]
    assert {m["territoire"] for m in storage.list_snapshots(serie="ess")} == {"france"}


def test_interrupted_build_reuses_the_files(env, monkeypatch):
    import shutil

    assert demo_cmd.ensure_demo(progress=False, out=lambda m: None) == QUARTERS
    shutil.rmtree(env / "snapshots" / "ess" / "2026-T2")  # killed before the third refresh
    _no_regeneration(monkeypatch)
    messages = []
    assert demo_cmd.ensure_demo(progress=False, out=messages.append) == QUARTERS
    assert any("réutilisés" in m for m in messages)
    assert sum("Traitement (refresh)" in m for m in messages) == 1
    assert [m["quarter"] for m in storage.list_snapshots(serie="ess")] == QUARTERS


def test_force_rebuilds_the_demo(env, capsys):
    assert demo_cmd.ensure_demo(departement="21", progress=False, out=lambda m: None)
    # A mark left in each snapshot folder disappears when --force rebuilds it (timestamps
    # have one-second resolution: a rebuild within the same second would not show).
    marks = [env / "snapshots" / "ess" / q / "old.mark" for q in QUARTERS]
    for mark in marks:
        mark.write_text("before --force", encoding="utf-8")
    assert main(["demo", "--departement", "21", "--force"]) == 0
    assert {m["quarter"] for m in storage.list_snapshots(serie="ess")} == set(QUARTERS)
    assert not any(mark.exists() for mark in marks)


def test_real_data_is_never_replaced(env, capsys):
    _fake_real_snapshot(env, "2026-T2")
    messages = []
    assert demo_cmd.ensure_demo(out=messages.append) == []
    assert "Données réelles présentes" in messages[0]
    assert [m["quarter"] for m in storage.list_snapshots(serie="ess")] == ["2026-T2"]
    assert main(["demo", "--force"]) == 1
    assert "real data" in capsys.readouterr().err
    assert [m["demo"] for m in storage.list_snapshots(serie="ess")] == [False]


def test_other_series_never_block_the_demo(env):
    """A real snapshot of the series ``insertion`` is not real ESS data for the demo."""
    _fake_real_snapshot(env, "2026-T4", serie="insertion")
    assert [m["serie"] for m in storage.list_snapshots()] == ["insertion"]
    assert demo_cmd.demo_status()["real"] == []
    assert demo_cmd.ensure_demo(departement="21", progress=False, out=lambda m: None) == QUARTERS
    assert [m["demo"] for m in storage.list_snapshots(serie="insertion")] == [False]
    assert all(m["demo"] for m in storage.list_snapshots(serie="ess"))


def test_status_separates_territories(env):
    assert demo_cmd.demo_status("21") == {"demo": [], "other_demo": {}, "real": []}
    demo_cmd.ensure_demo(departement="21", progress=False, out=lambda m: None)
    assert demo_cmd.demo_status("21")["demo"] == QUARTERS
    assert demo_cmd.demo_status("58")["other_demo"] == dict.fromkeys(QUARTERS,
                                                                     "departement:21")
    assert demo_cmd.demo_status()["other_demo"] == dict.fromkeys(QUARTERS, "departement:21")
