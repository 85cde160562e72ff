"""The export model of the app's downloads (render.exports): CSV for Excel in French, XLSX
with an « À propos » sheet, GeoJSON for QGIS; no formula injection (issue 14 item 2)."""

import io
import json

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pytest
from shapely.geometry import Point

from render import exports, fr

HOSTILE = ['=HYPERLINK("http://evil.example","clic")', "+1", "-2", "@SUM(1)", "\tx", "\rx"]
NAMES = {"commune": pd.Series({"21231": "Dijon", "21054": "Beaune"}, dtype="string")}


def _frame():
    return gpd.GeoDataFrame({
        "nom": pd.array(["Café « Les Tilleuls »", "<script>alert(1)</script>", None],
                        dtype="string"),
        "structures_per_10k": [1234.5, 0.25, None],
        "structures": pd.array([12, 3, None], dtype="Int64"),
        "date_creation": pd.to_datetime(["2020-01-31 10:30", None, "2021-12-01 00:00"]),
        "zone_blanche": [True, False, True],
    }, geometry=[Point(5.04, 47.32), Point(4.8, 47.0), None], crs=4326,
        index=pd.Index(["21231", "21054", "2A004"], name="code"))


def _lines(data: bytes) -> list[str]:
    return data.decode("utf-8-sig").strip().split("\r\n")


def test_export_frame_headers_labels_types():
    """Headers from the indicator registry, rates rounded to the displayed decimal, Oui/Non,
    dates without time, labels beside codes."""
    frame = exports.export_frame(pd.DataFrame({
        "commune": ["21231", "99999"], "famille_ess": ["association", "mutuelle"],
        "structures_per_10k": [2.25, 10 / 3], "part_association": [12.345, 0.05],
        "employeur": pd.array([True, pd.NA], dtype="boolean"),
        "date_creation": pd.to_datetime(["2026-11-23 17:45", None])}), names=NAMES)
    assert list(frame.columns) == [
        "Code commune", "Commune", "Famille ESS (code)", "Famille ESS",
        "Structures pour 10 000 habitants", "Part des associations (%)", "Employeur",
        "Date de création"]
    assert frame["Commune"].tolist()[0] == "Dijon" and pd.isna(frame["Commune"].iloc[1])
    assert frame["Famille ESS"].tolist() == ["Association", "Mutuelle"]
    # 2.25 -> 2.3 (half away from zero, as fr.nombre shows it), 3.333… -> 3.3
    assert frame["Structures pour 10 000 habitants"].tolist() == [2.3, 3.3]
    assert frame["Part des associations (%)"].tolist() == [12.3, 0.1]
    assert frame["Employeur"].tolist()[0] == "Oui"
    assert str(frame["Date de création"].iloc[0]) == "2026-11-23 00:00:00"
    assert exports.export_frame(frame) is frame  # idempotent


def test_rounding_matches_what_users_read():
    values = [2.675, 38844.5, -2.5, 0.125, 1234.45, -0.04, 1e-9]
    for d in (0, 1, 2):
        rounded = exports.round_half_up(values, d)
        assert [fr.nombre(r, d) for r in rounded] == [fr.nombre(v, d) for v in values]
    assert exports.round_half_up([2.675], 2)[0] == 2.68


def test_csv_has_bom_semicolons_decimal_comma_and_all_rows():
    data = exports.csv_bytes(_frame())
    assert data.startswith(b"\xef\xbb\xbf")
    lines = _lines(data)
    assert lines[0] == ("Code;Nom;Structures pour 10 000 habitants;"
                        "Structures de l'ESS actives;Date de création;Zone blanche")
    assert len(lines) == 4
    assert lines[1] == "21231;Café « Les Tilleuls »;1234,5;12;31/01/2020;Oui"
    assert lines[2] == "21054;<script>alert(1)</script>;0,3;3;;Non"  # 0.25 -> 0,3
    assert lines[3].startswith("2A004;")  # codes stay text, leading letters kept
    assert "geometry" not in data.decode("utf-8-sig")


def test_empty_columns_are_written_empty():
    """A column without any value (all NaN, all NA, no date) gives empty cells."""
    frame = pd.DataFrame({"nom": ["a", "b"], "latitude": [np.nan, np.nan],
                          "annee_effectif": pd.array([pd.NA, pd.NA], dtype="Int64"),
                          "date_fermeture": pd.to_datetime([None, None]),
                          "esus": pd.array([pd.NA, pd.NA], dtype="boolean")})
    lines = _lines(exports.csv_bytes(frame))
    assert lines[1:] == ["a;;;;", "b;;;;"]
    book = openpyxl.load_workbook(io.BytesIO(exports.xlsx_bytes(frame)))
    assert [c.value for c in book["Données"][2]] == ["a", None, None, None, None]


def test_csv_about_block_comes_first():
    about = {"Périmètre": "Économie sociale et solidaire", "Filtres": "famille : mutuelle",
             "Instantané": "2026-T4"}
    lines = _lines(exports.csv_bytes(_frame(), about=about))
    assert lines[:5] == ["À propos;Information", "Périmètre;Économie sociale et solidaire",
                         "Filtres;famille : mutuelle", "Instantané;2026-T4", ""]
    assert lines[5].startswith("Code;Nom;")


def test_xlsx_numbers_dates_and_about_sheet():
    data = exports.xlsx_bytes(_frame(), about={"Source": "INSEE", "Licence": "Licence Ouverte"})
    book = openpyxl.load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["Données", "À propos"]
    sheet = book["Données"]
    assert [c.value for c in sheet[1]] == [
        "Code", "Nom", "Structures pour 10 000 habitants", "Structures de l'ESS actives",
        "Date de création", "Zone blanche"]
    code, _nom, rate, count, date, flag = sheet[2]
    assert code.value == "21231" and code.data_type == "s"
    assert rate.value == 1234.5 and rate.number_format == "#,##0.0"
    assert count.value == 12 and count.number_format == "#,##0"
    assert date.is_date and date.number_format == "DD/MM/YYYY" and date.value.hour == 0
    assert flag.value == "Oui"
    about = pd.read_excel(io.BytesIO(data), sheet_name="À propos")
    assert about["Information"].tolist() == ["INSEE", "Licence Ouverte"]


@pytest.mark.parametrize("name", HOSTILE)
def test_csv_neutralises_formulas(name):
    """OWASP: a leading =, +, -, @, tab or CR gets a single quote; numbers are untouched."""
    frame = pd.DataFrame({"nom": [name], "structures": [-2]})
    lines = _lines(exports.csv_bytes(frame, about={"Filtres": name}))
    data_line = lines[-1]
    assert data_line.lstrip('"').startswith("'")
    assert data_line.endswith(";-2")  # a negative number stays a number
    assert lines[1].split(";", 1)[1].lstrip('"').startswith("'")  # « À propos » too


def test_xlsx_never_writes_a_formula():
    frame = pd.DataFrame({"nom": HOSTILE, "commune": ["21231"] * 6,
                          "structures": [-2, 1, 2, 3, 4, 5]})
    data = exports.xlsx_bytes(frame, about={h: h for h in HOSTILE}, names=NAMES)
    book = openpyxl.load_workbook(io.BytesIO(data))
    cells = [c for sheet in book for row in sheet.iter_rows() for c in row]
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    names = list(book["Données"]["A"][1:])
    assert [c.value for c in names] == [h.replace("\r", "\n") for h in HOSTILE]
    assert all(c.data_type == "s" and c.quotePrefix for c in names)
    assert book["Données"]["D2"].value == -2  # numbers stay numbers
    about = [c for row in book["À propos"].iter_rows(min_row=2) for c in row]
    assert all(c.data_type == "s" and c.quotePrefix for c in about)


def test_download_helpers_of_the_app_are_safe(monkeypatch):
    """The app's download buttons (app_pages.common.download_buttons) call these functions
    with the page's frame and about: the hostile name is neutralised in both files."""
    import streamlit as st

    from app_pages import common

    made = {}

    class Column:
        def download_button(self, label, data, **kwargs):
            made[kwargs["file_name"].rsplit(".", 1)[1]] = data()

    monkeypatch.setattr(st, "columns", lambda n: [Column() for _ in range(n)])
    common.download_buttons(pd.DataFrame({"nom": [HOSTILE[0]], "valeur": [1.25]}), "essai",
                            key="k", about={"Filtres": HOSTILE[3]})
    assert f"'{HOSTILE[0]}".replace('"', '""') in made["csv"].decode("utf-8-sig")
    book = openpyxl.load_workbook(io.BytesIO(made["xlsx"]))
    assert not [c for s in book for r in s.iter_rows() for c in r if c.data_type == "f"]


def test_geojson_keeps_rows_without_geometry():
    data = json.loads(exports.geojson_bytes(_frame(), about={"Instantané": "2026-T4"}))
    assert data["type"] == "FeatureCollection"
    assert len(data["features"]) == 3
    first = data["features"][0]
    assert first["properties"]["Code"] == "21231"
    assert first["geometry"]["coordinates"] == [5.04, 47.32]
    assert data["features"][2]["geometry"] is None
    assert first["properties"]["Date de création"] == "2020-01-31"
    assert first["properties"]["Zone blanche"] == "Oui"
    assert data["a_propos"] == {"Instantané": "2026-T4"}


def test_geojson_from_longitude_latitude_and_reprojection():
    df = pd.DataFrame({"nom": ["a"], "longitude": [5.0], "latitude": [47.0]})
    assert json.loads(exports.geojson_bytes(df))["features"][0]["geometry"]["coordinates"] \
        == [5.0, 47.0]
    projected = _frame().iloc[:1].to_crs(2154)
    lon, lat = json.loads(exports.geojson_bytes(projected))["features"][0]["geometry"][
        "coordinates"]
    assert abs(lon - 5.04) < 1e-6 and abs(lat - 47.32) < 1e-6


def test_geojson_without_location_raises_clear_error():
    with pytest.raises(ValueError, match="longitude/latitude"):
        exports.geojson_bytes(pd.DataFrame({"a": [1]}))


def test_export_filename_is_ascii_slug():
    assert exports.export_filename("Annuaire Côte-d'Or", "csv") == "annuaire-cote-d-or.csv"
    assert exports.export_filename("", ".xlsx") == "export.xlsx"


def test_snapshot_about_records_perimeter_filters_snapshot_sources():
    about = exports.snapshot_about(
        {"quarter": "2026-T4", "territoire": "departement:21", "demo": True,
         "sources": {"sirene_etablissement": {"vintage": "2026-12-01"}}},
        contenu="Annuaire", filtres="famille : association", date=pd.Timestamp("2026-11-23"))
    assert about["Périmètre"] == "Économie sociale et solidaire — Département 21"
    assert about["Filtres"] == "famille : association"
    assert about["Instantané"] == "2026-T4 (4e trimestre 2026)"
    assert "démonstration" in about["Nature des données"]
    assert "2026-12-01" in about["Sources"] and about["Date d'export"] == "23/11/2026"





def test_structures_without_siret_keep_their_identifiant():
    """Two association rows of an actors list without SIRET (issue 14 item 1): the export
    of the directory tells them apart by their stable identifiant."""
    from app_pages import tables

    structures = pd.DataFrame({
        "siret": pd.array([None, None, "35600000000048"], dtype="string"),
        "identifiant": pd.array(["acteurs:3f2a9c", "acteurs:b71e04", "35600000000048"],
                                dtype="string"),
        "nom": ["Association A", "Association B", "La Poste"],
        "famille_ess": ["association", "association", "autre"],
        "commune": ["21231", "21231", "75115"],
    })
    lines = _lines(exports.csv_bytes(tables.export_columns(structures), kind="structures"))
    header = lines[0].split(";")
    assert header[0] == "SIRET" and "Identifiant" in header  # the SIRET stays first
    at = header.index("Identifiant")
    assert [line.split(";")[at] for line in lines[1:]] == [
        "acteurs:3f2a9c", "acteurs:b71e04", "35600000000048"]
