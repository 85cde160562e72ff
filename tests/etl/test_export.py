"""Export formats (pure function)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from etl import export
from observatory.errors import ConfigurationError
from observatory.schema import empty_rejects, empty_structures


def _structures(rows: list[dict]) -> pd.DataFrame:
    base = empty_structures()
    return pd.concat([base, pd.DataFrame(rows)], ignore_index=True).astype(
        base.dtypes.to_dict())


ROWS = [
    {"siret": "00000000000011", "siren": "000000000", "nom": "Café « Solidaire »",
     "famille_ess": "association", "commune": "21104", "epci": "200070944",
     "departement": "21", "region": "27", "longitude": 5.05, "latitude": 47.35,
     "location_precision": "geoloc_insee", "etat_administratif": "A",
     "date_creation": pd.Timestamp("2015-03-02"), "employeur": True, "annee_effectif": 2023},
    {"siret": "00000000000029", "siren": "000000000", "nom": "Ressourcerie",
     "famille_ess": "cooperative", "commune": "21100", "epci": "242100410",
     "departement": "21", "region": "27", "longitude": 4.95, "latitude": 47.25,
     "location_precision": "centroide_commune", "etat_administratif": "F"},
]


def test_csv_has_bom_semicolons_and_contract_columns(tmp_path):
    path = export.export_table(_structures(ROWS), tmp_path / "s.csv")
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    header = raw[3:].split(b"\r\n" if b"\r\n" in raw else b"\n")[0].decode()
    assert header.split(";")[:12] == list(export.STRUCTURE_EXPORT_COLUMNS)
    back = pd.read_csv(path, sep=";", dtype=str, encoding="utf-8-sig")
    assert back["nom"].tolist() == ["Café « Solidaire »", "Ressourcerie"]
    assert back["date_creation"].tolist()[0] == "2015-03-02"
    assert not list(tmp_path.glob(".*part*"))


def test_xlsx_geojson_gpkg_roundtrip(tmp_path):
    frame = _structures(ROWS)
    xlsx = pd.read_excel(export.export_table(frame, tmp_path / "s.xlsx"), dtype=str)
    assert xlsx["siret"].tolist() == ["00000000000011", "00000000000029"]
    for name in ("s.geojson", "s.gpkg"):
        geo = gpd.read_file(export.export_table(frame, tmp_path / name))
        assert geo.crs.to_epsg() == 4326
        np.testing.assert_allclose(geo.geometry.x, [5.05, 4.95])
        assert geo["famille_ess"].tolist() == ["association", "cooperative"]


def test_rejects_export_and_refusals(tmp_path, monkeypatch):
    rejects = pd.concat([empty_rejects(), pd.DataFrame({
        "source": ["sirene"], "ligne": [None], "siret": ["1"], "raison": ["siret_invalide: 1"],
        "donnees": ['{"siret": "1"}']})], ignore_index=True)
    back = pd.read_csv(export.export_table(rejects, tmp_path / "r.csv", kind="rejects"),
                       sep=";", encoding="utf-8-sig", dtype=str)
    assert back.columns.tolist()[:4] == ["source", "ligne", "siret", "raison"]
    with pytest.raises(ConfigurationError, match="GeoJSON"):
        export.export_table(rejects, tmp_path / "r.geojson", kind="rejects")
    with pytest.raises(ConfigurationError, match="extension"):
        export.export_table(rejects, tmp_path / "r.parquet", kind="rejects")
    monkeypatch.setattr(export, "_EXCEL_MAX_ROWS", 1)
    with pytest.raises(ConfigurationError, match="Excel"):
        export.export_table(_structures(ROWS), tmp_path / "s.xlsx")
    with pytest.raises(ConfigurationError, match="lacks column"):
        export.export_table(_structures(ROWS).drop(columns="epci"), tmp_path / "x.csv")

def test_csv_convention_rounding_and_decimal_comma(tmp_path):
    """Issue 11 item 10, hand-computed: half away from zero on the decimal representation,
    decimal comma, no thousands separator, 1 decimal by default, coordinates 6."""
    frame = pd.DataFrame({
        "code": ["21231", "21166", "21617"],
        "population": pd.array([38844, 1200, None], dtype="Int64"),
        "taux": [100 / 3, 2.25, -0.04],                    # 33,3 / 2,3 (half up) / 0,0
        "densite": [38844.5, 8787.330503993724, np.nan],
        "longitude": [5.0416665, 4.95, 2.675],
        "nom": ["=HYPERLIEN(\"x\")", "+33 1", "Café ; « Solidaire »"],
    })
    text = export.csv_fr(frame, {"densite": 0}).decode("utf-8-sig")
    lines = text.split("\r\n")
    assert lines[0] == "code;population;taux;densite;longitude;nom"
    assert lines[1] == "21231;38844;33,3;38845;5,041667;\"'=HYPERLIEN(\"\"x\"\")\""
    assert lines[2] == "21166;1200;2,3;8787;4,950000;'+33 1"
    assert lines[3] == "21617;;0,0;;2,675000;\"Café ; « Solidaire »\""
    assert export.decimal_text([2.5, -2.5, 0.125, 1e-7], 0).tolist() == ["3", "-3", "0", "0"]
    assert export.decimal_text([2.675, 0.125], 2).tolist() == ["2,68", "0,13"]


def test_structures_csv_has_no_unrounded_floats(tmp_path):
    frame = _structures([{**ROWS[0], "longitude": 5.0123456789, "latitude": 47.35}])
    back = pd.read_csv(export.export_table(frame, tmp_path / "s.csv"), sep=";", dtype=str,
                       encoding="utf-8-sig")
    assert back.loc[0, "longitude"] == "5,012346" and back.loc[0, "latitude"] == "47,350000"


def test_nombre_rounds_half_away_from_zero():
    """render.fr.nombre promised half away from zero; Python's format rounds half to
    even (38 844,5 -> "38 844", 2,5 -> "2")."""
    from render import fr

    nbsp = fr.NBSP
    assert fr.nombre(38844.5) == f"38{nbsp}845"
    assert fr.nombre(2.5) == "3" and fr.nombre(-2.5) == "-3" and fr.nombre(0.5) == "1"
    assert fr.nombre(2.675, 2) == "2,68" and fr.nombre(1234.45, 1) == f"1{nbsp}234,5"
    assert fr.nombre(-0.04, 1) == "0,0" and fr.pourcentage(0.12345) == f"12,3{nbsp}%"
