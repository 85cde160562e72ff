"""Export bytes: CSV for Excel in French, XLSX with an about sheet, GeoJSON for QGIS."""

import io
import json

import geopandas as gpd
import pandas as pd
from shapely.geometry import Point

from render import exports


def _frame():
    return gpd.GeoDataFrame({
        "nom": pd.array(["Café « Les Tilleuls »", "<script>alert(1)</script>", None],
                        dtype="string"),
        "valeur": [1234.5, 0.25, None],
        "date_creation": pd.to_datetime(["2020-01-31", None, "2021-12-01"]),
    }, geometry=[Point(5.04, 47.32), Point(4.8, 47.0), None], crs=4326,
        index=pd.Index(["21231", "21054", "2A004"], name="code"))


def test_csv_has_bom_semicolons_decimal_comma_and_all_rows():
    data = exports.csv_bytes(_frame())
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    lines = text.strip().split("\r\n")
    assert lines[0] == "code;nom;valeur;date_creation"
    assert len(lines) == 4
    assert "21231;Café « Les Tilleuls »;1234,5;31/01/2020" in lines[1]
    assert lines[3].startswith("2A004;")  # codes stay text, leading letters kept
    assert "geometry" not in text


def test_xlsx_round_trip_with_about_sheet():
    data = exports.xlsx_bytes(_frame(), about={"Source": "INSEE", "Licence": "Licence Ouverte"})
    sheets = pd.read_excel(io.BytesIO(data), sheet_name=None, dtype={"code": str})
    assert list(sheets) == ["Données", "À propos"]
    assert sheets["Données"]["code"].tolist() == ["21231", "21054", "2A004"]
    assert sheets["Données"]["valeur"].iloc[0] == 1234.5
    assert sheets["À propos"]["Information"].tolist() == ["INSEE", "Licence Ouverte"]


def test_geojson_keeps_rows_without_geometry():
    data = json.loads(exports.geojson_bytes(_frame()))
    assert data["type"] == "FeatureCollection"
    assert len(data["features"]) == 3
    first = data["features"][0]
    assert first["properties"]["code"] == "21231"
    assert first["geometry"]["coordinates"] == [5.04, 47.32]
    assert data["features"][2]["geometry"] is None
    assert first["properties"]["date_creation"] == "2020-01-31"


def test_geojson_from_longitude_latitude_and_reprojection():
    df = pd.DataFrame({"nom": ["a"], "longitude": [5.0], "latitude": [47.0]})
    assert json.loads(exports.geojson_bytes(df))["features"][0]["geometry"]["coordinates"] \
        == [5.0, 47.0]
    projected = _frame().iloc[:1].to_crs(2154)
    lon, lat = json.loads(exports.geojson_bytes(projected))["features"][0]["geometry"][
        "coordinates"]
    assert abs(lon - 5.04) < 1e-6 and abs(lat - 47.32) < 1e-6


def test_geojson_without_location_raises_clear_error():
    import pytest

    with pytest.raises(ValueError, match="longitude/latitude"):
        exports.geojson_bytes(pd.DataFrame({"a": [1]}))


def test_export_filename_is_ascii_slug():
    assert exports.export_filename("Annuaire Côte-d'Or", "csv") == "annuaire-cote-d-or.csv"
    assert exports.export_filename("", ".xlsx") == "export.xlsx"
