"""End to end: demo files -> the real refresh job -> demo snapshots, accounting exact, the bad
rows rejected with their reasons (both editions: CSV for a département, Parquet for France)."""

from __future__ import annotations

import json

import pytest
from sirene_fixtures import make_tiny_reference

from demo.files import generate_demo_quarters
from demo.model import DemoModel
from etl.refresh import RefreshOptions, run_refresh
from observatory import storage

# two bad rows of each kind per département (model input), one or three départements
MODEL = DemoModel(scale=3.0, bad_rows_per_departement=2)


@pytest.fixture
def demo_quarters(tmp_path):
    ref = make_tiny_reference()
    paths = generate_demo_quarters(tmp_path / "demo", ref, {"departement": "21"}, model=MODEL)
    return ref, paths


def _reasons(snap) -> dict[str, int]:
    codes = snap.rejects["raison"].str.split(":").str[0]
    return codes.value_counts().to_dict()


def test_demo_files_through_run_refresh(data_dir, demo_quarters):
    ref, paths = demo_quarters
    structures = {}
    for quarter, files in paths.items():
        options = RefreshOptions(quarter=quarter, sirene_dir=files["etablissement"].parent,
                                 departement="21", demo=True)
        result = run_refresh(options, reference=ref, progress=False)
        counts = json.loads(files["info"].read_text("utf-8"))["counts"]
        snap = storage.load_snapshot(quarter)
        assert snap.manifest["demo"] is True
        assert snap.manifest["territoire"] == "departement:21"
        sirene = snap.manifest["accounting"]["sirene"]
        assert sirene["read"] == sirene["kept"] + sirene["rejected"]
        if quarter == "2026-T3":
            # every ESS row is read, every non-ESS row filtered out
            assert sirene["read"] == counts["ess_actifs"] + counts["ess_fermes"]
            assert sirene["filtered"] == counts["hors_ess_actifs"] + counts["hors_ess_fermes"]
        # the bad rows, still in the stock of the second quarter (a row without commune
        # code is read by a département refresh, then its point is outside the territory)
        assert _reasons(snap) == {"siret_invalide": 2, "commune_inconnue": 2,
                                  "hors_territoire": 2}
        frame = snap.structures
        assert len(frame) == result.rows["structures"]
        assert frame["siren"].str.startswith(("00", "01")).all()
        assert frame["commune"].str.startswith("21").all()
        assert (frame["location_precision"] == "commune_aleatoire").sum() > 0
        assert not frame["nom"].fillna("").str.contains("PERSONNE-DEMO").any()
        structures[quarter] = frame.set_index("siret")
    q3, q4 = structures["2026-T3"], structures["2026-T4"]
    assert len(q4.index.difference(q3.index)) > 0  # creations
    common = q3.index.intersection(q4.index)
    closed = (q3.loc[common, "etat_administratif"] == "A") & \
        (q4.loc[common, "etat_administratif"] == "F")
    assert closed.sum() > 0
    assert [m["quarter"] for m in storage.list_snapshots()] == ["2026-T3", "2026-T4"]


def test_national_parquet_edition_through_run_refresh(data_dir, tmp_path):
    ref = make_tiny_reference()  # three départements: 21, 75, 974
    paths = generate_demo_quarters(tmp_path / "fr", ref, None, ("2026-T4",), model=MODEL,
                                   edition="parquet")
    files = paths["2026-T4"]
    assert files["etablissement"].name == "StockEtablissement_utf8.parquet"
    run_refresh(RefreshOptions(quarter="2026-T4", sirene_dir=files["etablissement"].parent,
                               demo=True), reference=ref, progress=False)
    snap = storage.load_snapshot("2026-T4")
    assert snap.manifest["territoire"] == "france"
    assert _reasons(snap) == {"siret_invalide": 6, "commune_inconnue": 6, "hors_commune": 6}
    assert set(snap.structures["commune"].str.slice(0, 2)) == {"21", "75", "97"}
    counts = json.loads(files["info"].read_text("utf-8"))["counts"]
    sirene = snap.manifest["accounting"]["sirene"]
    assert sirene["read"] == counts["ess_actifs"] + counts["ess_fermes"]
    assert sirene["filtered"] == counts["hors_ess_actifs"] + counts["hors_ess_fermes"] > 0
