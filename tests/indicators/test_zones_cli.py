"""``python -m observatory zones``: one row per commune en zone blanche of a département.

Reference of :mod:`border_fixtures` (four rural squares in a row, 21001 21002 | 71001
71002; centres 7,56 km apart).  Snapshot ``region:27`` (both départements covered).

Expected by hand, at 10 km:

* structures at the centres of 71001 (coopérative, ACI) and 71002 (association, ESAT):
  - any structure: 21001 is 2 × 7,56 = 15,1 km from 71001, blanche; 21002 is 7,56 km from
    it, not blanche: the structure across the border counts;
  - ``--famille association`` / ``--type ESAT`` (71002 only): 21001 at 22,7 km and 21002 at
    15,1 km are both blanche and adjacent: one zone of 2 communes, 4 000 inhabitants (71001,
    at 7,56 km, is not blanche).
"""

from __future__ import annotations

import pandas as pd
import pytest
from border_fixtures import border_structures, write_border_reference
from export_reader import read_csv_export

from cli.main import main
from observatory import storage
from observatory.schema import empty_rejects

LAYOUT = [("71001", "cooperative", "A"), ("71002", "association", "A")]
KM = 0.1 * 111.32 * 0.6788  # 0.1° of longitude at 47.25° N: 7.56 km


@pytest.fixture()
def zones_store(tmp_path, monkeypatch):
    monkeypatch.setenv("OBSERVATOIRE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("OBSERVATOIRE_REFERENCE_DIR",
                       str(write_border_reference(tmp_path / "reference")))

    def write(serie="ess", territoire="region:27", types=None):
        structures = border_structures(LAYOUT)
        if types is not None:
            structures["type_structure"] = pd.array(types, dtype="string")
        storage.write_snapshot(structures, empty_rejects(), {
            "serie": serie, "quarter": "2026-T4", "territoire": territoire, "demo": False,
            "cog": "COG test", "accounting": {"s": {"read": 2, "kept": 2, "rejected": 0}}})
    return write


def _zones(tmp_path, *options) -> pd.DataFrame:
    out = tmp_path / "zones" / "z.csv"
    assert main(["zones", "--departement", "21", "--distance-km", "10", *options,
                 "--output", str(out)]) == 0
    return read_csv_export(out, raw=("distance_km",))[1]


def test_structures_across_the_border_count(zones_store, tmp_path, capsys):
    zones_store()
    table = _zones(tmp_path)
    assert table["code"].tolist() == ["21001"]
    row = table.iloc[0]
    assert row["distance_km"] == pytest.approx(2 * KM, abs=0.15)
    assert (row["zone"], row["rang_zone"], row["population"]) == ("Z001", 1, 1000)
    assert (row["population_zone"], row["nb_communes_zone"]) == (1000, 1)
    assert row["nom"] == "Commune 21001" and row["departement"] == "21"
    assert (row["structures_cherchees"], row["distance_seuil_km"]) == (
        "toutes les structures", 10.0)
    assert (row["serie"], row["instantane"], row["nature_donnees"]) == ("ess", "2026-T4", "réelles")
    assert row["densite_source"] == "approximation"
    assert "1 commune(s) en zone blanche dans le département 21" in capsys.readouterr().out


def test_famille(zones_store, tmp_path):
    zones_store()
    table = _zones(tmp_path, "--famille", "association")
    assert table["code"].tolist() == ["21001", "21002"]
    assert table["distance_km"].tolist() == pytest.approx([3 * KM, 2 * KM], abs=0.2)
    assert set(table["zone"]) == {"Z001"}
    assert table["population"].tolist() == [1000, 3000]
    assert set(table["population_zone"]) == {4000} and set(table["nb_communes_zone"]) == {2}
    assert set(table["structures_cherchees"]) == {"famille : association"}


def test_type_in_the_insertion_series(zones_store, tmp_path, capsys):
    zones_store(serie="insertion", types=["ACI", "ESAT"])
    esat = _zones(tmp_path, "--serie", "insertion", "--type", "esat")
    assert esat["code"].tolist() == ["21001", "21002"]
    assert set(esat["structures_cherchees"]) == {"type : ESAT"}
    assert set(esat["serie"]) == {"insertion"}
    assert _zones(tmp_path, "--serie", "insertion", "--type", "ACI")["code"].tolist() == [
        "21001"]
    capsys.readouterr()
    assert main(["zones", "--serie", "insertion", "--departement", "21", "--type", "EI",
                 "--output", str(tmp_path / "x.csv")]) == 1
    assert "ACI, ESAT" in capsys.readouterr().err


def test_type_refused_without_the_column(zones_store, tmp_path, capsys):
    zones_store()
    assert main(["zones", "--departement", "21", "--type", "ESAT",
                 "--output", str(tmp_path / "x.csv")]) == 1
    err = capsys.readouterr().err
    assert "no column type_structure" in err and "--serie insertion" in err
    assert not (tmp_path / "x.csv").exists()


def test_refusals(zones_store, tmp_path, capsys):
    zones_store(territoire="departement:21")
    out = tmp_path / "x.csv"
    assert main(["zones", "--departement", "71", "--output", str(out)]) == 1
    assert "outside the coverage" in capsys.readouterr().err
    store = tmp_path / "data" / "snapshots"
    assert main(["zones", "--departement", "21", "--output", str(store / "z.csv")]) == 1
    assert "inside the snapshot store" in capsys.readouterr().err
    for bad in (["--distance-km", "0"], ["--distance-km", "nan"], ["--distance-km", "inf"],
                ["--departement", ""], ["--famille", "association", "--type", "ACI"]):
        options = ["--departement", "21", *bad] if "--departement" not in bad else bad
        with pytest.raises(SystemExit):
            main(["zones", *options, "--output", str(out)])
    assert not out.exists()
