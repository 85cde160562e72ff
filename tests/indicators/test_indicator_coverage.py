"""``indicators`` on the covered part of each territory (issue 11, item 1).

Synthetic reference (0.1° squares in a row, lat 47.2-47.3), every commune in région 27::

    code    lon        dép.  EPCI        population
    21001   4.9-5.0    21    200000001   1 000
    21002   5.0-5.1    21    200000001   3 000
    71001   5.1-5.2    71    200000001   2 000
    71002   5.2-5.3    71    200000002     500

Snapshot ``departement:21``: active structures at the centre of 21001 (an association, a
cooperative) and 21002 (an association), a closed one in 21002, and one placed in 71002 (a
point outside the coverage, as issue 11 item 5 describes).

Expected by hand, after:

* EPCI 200000001 is computed on 21001 + 21002: population 4 000, 3 structures,
  3 / 4 000 × 10 000 = 7,5 pour 10 000, population couverte 4 000 / 4 000 = 100 %;
  labelled ``partielle (66,7 % de la population)`` (4 000 of 6 000), population_territoire
  6 000;
* EPCI 200000002 (no covered commune) is not written; the structure in 71002 is left out
  and reported;
* at département level only 21 is written (``complète``, 4 000 inhabitants).

Before (the whole territory counted, uncovered communes as measured zeros): EPCI
200000001 had 6 000 inhabitants, 5,0 pour 10 000, 66,7 % covered; 200000002 was listed with
1 structure; département 71 was listed, and 71001 got a distance measured to the structures
of 21002.
"""

from __future__ import annotations

import pandas as pd
import pytest
from border_fixtures import border_structures, write_border_reference
from export_reader import read_csv_export

from cli.main import main
from observatory import storage
from observatory.schema import empty_rejects

LAYOUT = [("21001", "association", "A"), ("21001", "cooperative", "A"),
          ("21002", "association", "A"), ("21002", "association", "F"),
          ("71002", "association", "A")]

@pytest.fixture()
def border_store(tmp_path, monkeypatch):
    monkeypatch.setenv("OBSERVATOIRE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("OBSERVATOIRE_REFERENCE_DIR",
                       str(write_border_reference(tmp_path / "reference")))
    storage.write_snapshot(border_structures(LAYOUT), empty_rejects(), {
        "quarter": "2026-T4", "territoire": "departement:21", "demo": False,
        "cog": "COG test", "accounting": {"sirene": {"read": 5, "kept": 5, "rejected": 0}}})
    return tmp_path


def _run(tmp_path, *options) -> pd.DataFrame:
    out = tmp_path / "out.csv"
    assert main(["indicators", *options, "--output", str(out)]) == 0
    return read_csv_export(out)[1].set_index("code")


def test_epci_across_the_border_is_computed_on_its_covered_part(border_store, capsys):
    table = _run(border_store, "--level", "epci")
    assert table.index.tolist() == ["200000001"]  # 200000002 has no covered commune
    row = table.loc["200000001"]
    assert row["population"] == 4000
    assert row["structures"] == 3
    assert row["structures_per_10k"] == pytest.approx(7.5)
    assert row["part_population_couverte"] == pytest.approx(100.0)
    assert row["couverture"] == "partielle (66,7\u00a0% de la population)"
    assert row["population_territoire"] == 6000
    assert row["part_territoire_couverte"] == pytest.approx(400 / 6, abs=0.05)
    out = capsys.readouterr().out
    assert "1 territoire(s) partiellement couvert(s)" in out
    assert "1 structure(s) localisée(s) hors de la couverture (departement:21)" in out


def test_only_covered_departements_and_communes_are_written(border_store, capsys):
    deps = _run(border_store, "--level", "departement")
    assert deps.index.tolist() == ["21"]
    assert deps.loc["21", "population"] == 4000 and deps.loc["21", "couverture"] == "complète"
    communes = _run(border_store, "--level", "commune", "--territory", "200000001")
    assert communes.index.tolist() == ["21001", "21002"]  # no distance for 71001
    assert communes["distance_structure_km"].tolist() == pytest.approx([0.0, 0.0], abs=0.01)
    assert "1 territoire(s) hors de la couverture, non écrit(s) : 71001." in (
        capsys.readouterr().out)


def test_territory_without_coverage_is_refused(border_store, capsys):
    assert main(["indicators", "--level", "commune", "--territory", "71",
                 "--output", str(border_store / "x.csv")]) == 1
    assert "outside the coverage of the snapshot (departement:21)" in capsys.readouterr().err


@pytest.mark.slow
def test_demo_beaune_covered_part(tmp_path, monkeypatch, reference, capsys):
    """The issue's figure on the embedded demo (Côte-d'Or): CA Beaune Côte et Sud
    (200006682) has 7 130 of its 50 502 inhabitants in Saône-et-Loire, outside the demo."""
    from demo.job import ensure_demo

    monkeypatch.setenv("OBSERVATOIRE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("OBSERVATOIRE_REFERENCE_DIR", str(reference.directory))
    ensure_demo(departement="21", progress=False, out=lambda message: None, reference=reference)
    table = _run(tmp_path, "--snapshot", "2026-T4", "--level", "epci", "--territory", "21")
    row = table.loc["200006682"]
    communes = reference.communes[reference.communes["epci"] == "200006682"]
    in21 = communes["departement"] == "21"
    assert int(communes["population"].sum()) == 50502  # the "before" population
    assert row["population"] == int(communes.loc[in21, "population"].sum()) == 43372
    assert row["population_territoire"] == 50502
    assert row["couverture"] == "partielle (85,9\u00a0% de la population)"
    assert row["structures_per_10k"] == pytest.approx(row["structures"] / 43372 * 1e4, abs=0.05)
    assert (table["couverture"] == "complète").sum() == len(table) - 1
