"""``python -m observatory indicators`` on a tiny snapshot written with the snapshot store.

The snapshot holds 5 structures in 3 real communes of Côte-d'Or (placed at each commune's
representative point) and one closed structure: the CSV of the communes of département 21
must list every commune of 21 in the reference, 4 active structures in all, 2 in the first
commune.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from export_reader import read_csv_export, read_xlsx_export

from cli.main import main
from etl.normalise import conform_structures
from observatory import storage
from observatory.schema import empty_rejects


def _snapshot_structures(reference) -> gpd.GeoDataFrame:
    communes = reference.communes
    dep21 = communes[communes["departement"] == "21"].sort_index()
    codes = list(dep21.index[:3])
    pts = dep21.loc[codes].geometry.representative_point()
    layout = [(codes[0], "association", "A"), (codes[0], "cooperative", "A"),
              (codes[1], "mutuelle", "A"), (codes[2], "fondation", "A"),
              (codes[2], "association", "F")]
    rows = []
    for i, (code, fam, state) in enumerate(layout):
        rows.append({"siret": f"{i + 1:014d}", "siren": f"{i + 1:09d}", "nom": f"S{i}",
                     "famille_ess": fam, "etat_administratif": state, "commune": code,
                     "epci": communes.loc[code, "epci"], "departement": "21", "region": "27",
                     "naf": "88.99B", "naf_section": "Q", "tranche_effectif": "02",
                     "annee_effectif": 2023, "longitude": pts[code].x,
                     "latitude": pts[code].y, "location_precision": "geoloc_insee"})
    frame = conform_structures(pd.DataFrame(rows))  # the schema's columns and dtypes
    return gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(frame["longitude"],
                                                               frame["latitude"]), crs=4326)


@pytest.fixture()
def store(tmp_path, monkeypatch, reference):
    monkeypatch.setenv("OBSERVATOIRE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("OBSERVATOIRE_REFERENCE_DIR", str(reference.directory))

    def write(quarter: str, cog: str, territoire: str = "departement:21"):
        structures = _snapshot_structures(reference)
        storage.write_snapshot(structures, empty_rejects(), {
            "quarter": quarter, "territoire": territoire, "demo": False, "cog": cog,
            "accounting": {"sirene": {"read": 5, "kept": 5, "rejected": 0}}})
        return structures
    return write


def test_cli_commune_csv(store, reference, tmp_path, capsys):
    structures = store("2026-T4", reference.vintages["cog"])
    out = tmp_path / "out" / "communes_21.csv"
    code = main(["indicators", "--snapshot", "2026-T4", "--level", "commune",
                 "--territory", "21", "--output", str(out)])
    assert code == 0
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    table = read_csv_export(raw)[1]
    expected = reference.communes.index[reference.communes["departement"] == "21"]
    assert sorted(table["code"]) == sorted(expected)
    for col in ("code", "nom", "population", "superficie_km2", "structures",
                "structures_per_10k", "structures_per_100km2", "n_association",
                "emplois_estimes", "emplois_bas", "emplois_haut", "distance_structure_km"):
        assert col in table.columns, col
    assert table["structures"].sum() == 4
    first = structures["commune"].iloc[0]
    row = table.set_index("code").loc[first]
    assert row["structures"] == 2 and row["emplois_estimes"] == pytest.approx(8.0)
    assert row["distance_structure_km"] < 10
    assert "territoire(s)" in capsys.readouterr().out


def test_cli_departements_of_region_xlsx(store, reference, tmp_path):
    store("2026-T4", reference.vintages["cog"], territoire="region:27")
    out = tmp_path / "deps.xlsx"
    code = main(["indicators", "--level", "departement", "--territory", "27",
                 "--territory-level", "region", "--output", str(out)])
    assert code == 0
    table = read_xlsx_export(out, "Indicateurs")
    deps = reference.departements.index[reference.departements["region"] == "27"]
    assert sorted(table["code"]) == sorted(deps)
    assert table.set_index("code").loc["21", "structures"] == 4
    assert table.set_index("code").loc["21", "nom"] == reference.departements.loc["21", "nom"]
    assert set(table["couverture"]) == {"complète"}
    about = pd.read_excel(out, sheet_name="À propos")
    assert "2026-T4" in about["Information"].astype(str).tolist()


def test_cli_leaves_out_departements_outside_the_coverage(store, reference, tmp_path, capsys):
    """A département snapshot: the other départements of its région have no data (issue 11:
    they were written with 0 structures, as if measured)."""
    store("2026-T4", reference.vintages["cog"])
    out = tmp_path / "deps.csv"
    assert main(["indicators", "--level", "departement", "--territory", "27",
                 "--territory-level", "region", "--output", str(out)]) == 0
    table = read_csv_export(out)[1]
    assert table["code"].tolist() == ["21"]
    assert table["couverture"].tolist() == ["complète"]
    others = sorted(set(reference.departements.index[reference.departements["region"] == "27"])
                    - {"21"})
    assert f"{len(others)} territoire(s) hors de la couverture" in capsys.readouterr().out
    assert main(["indicators", "--level", "epci", "--territory", "59",
                 "--output", str(tmp_path / "nord.csv")]) == 1
    assert "outside the coverage" in capsys.readouterr().err
    assert not (tmp_path / "nord.csv").exists()


def test_cli_serie_option(store, reference, tmp_path, capsys):
    store("2026-T4", reference.vintages["cog"])
    out = tmp_path / "ins.csv"
    assert main(["indicators", "--serie", "insertion", "--level", "departement",
                 "--output", str(out)]) == 1
    assert "series 'insertion'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["indicators", "--serie", "nope", "--level", "departement", "--output", str(out)])
    with pytest.raises(SystemExit):
        main(["indicators", "--territory", "", "--level", "departement", "--output", str(out)])


def test_cli_refuses_cog_mismatch_and_bad_extension(store, tmp_path, capsys):
    store("2026-T3", "COG 2019")
    code = main(["indicators", "--snapshot", "2026-T3", "--level", "region",
                 "--output", str(tmp_path / "r.csv")])
    assert code == 1
    assert "COG 2019" in capsys.readouterr().err
    assert not (tmp_path / "r.csv").exists()
    code = main(["indicators", "--snapshot", "2026-T3", "--level", "region",
                 "--output", str(tmp_path / "r.json")])
    assert code == 1
    assert ".csv or .xlsx" in capsys.readouterr().err


def test_cli_density_approximation_is_labelled(store, reference, tmp_path):
    store("2026-T4", reference.vintages["cog"])
    out = tmp_path / "c.csv"
    code = main(["indicators", "--level", "commune", "--territory", "21", "--density-approx",
                 "--output", str(out)])
    assert code == 0
    table = read_csv_export(out)[1]
    assert set(table["densite_source"].dropna()) == {"approximation"}
    assert table["dens7"].dropna().between(1, 7).all()
    assert "part_population_rurale" in table.columns
