"""Snapshot exports to files (:func:`render.exports.write_export`, the CLI ``export``): the one
export model, the contract columns first, and no formula injection (issue 14 item 2)."""

from __future__ import annotations

import io

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pyogrio
import pytest
from sirene_fixtures import establishment, geoloc, unit, write_sirene

from cli.main import main
from observatory.errors import ConfigurationError
from observatory.schema import empty_rejects, empty_structures
from render import exports

HOSTILE = ['=HYPERLINK("http://evil.example","clic")', "+1", "-2", "@SUM(1)", "\tTAB",
           "\rCR"]
NAMES = {"commune": pd.Series({"21104": "Brochon", "21100": "Beaune"}, dtype="string"),
         "epci": pd.Series({"200070944": "CC Gevrey"}, dtype="string"),
         "departement": pd.Series({"21": "Côte-d'Or"}, dtype="string"),
         "region": pd.Series({"27": "Bourgogne-Franche-Comté"}, dtype="string")}


def _structures(rows: list[dict]) -> pd.DataFrame:
    base = empty_structures()
    return pd.concat([base, pd.DataFrame(rows)], ignore_index=True).astype(
        base.dtypes.to_dict())


ROWS = [
    {"siret": "00000000000011", "siren": "000000000", "nom": "Café « Solidaire »",
     "famille_ess": "association", "commune": "21104", "epci": "200070944",
     "departement": "21", "region": "27", "longitude": 5.05, "latitude": 47.35,
     "location_precision": "geoloc_insee", "etat_administratif": "A",
     "date_creation": pd.Timestamp("2015-03-02 13:45"), "employeur": True,
     "annee_effectif": 2023},
    {"siret": "00000000000029", "siren": "000000000", "nom": "Ressourcerie",
     "famille_ess": "cooperative", "commune": "21100", "epci": "242100410",
     "departement": "21", "region": "27", "longitude": 4.95, "latitude": 47.25,
     "location_precision": "centroide_commune", "etat_administratif": "F"},
]


def _csv_table(path) -> tuple[list[str], pd.DataFrame]:
    """(« À propos » lines, the table) of a CSV export: the block ends at the first empty line."""
    lines = path.read_bytes().decode("utf-8-sig").split("\r\n")
    blank = lines.index("")
    table = pd.read_csv(io.StringIO("\r\n".join(lines[blank + 1:])), sep=";", dtype=str,
                        keep_default_na=False)
    return lines[:blank], table


def test_csv_model_contract_order_labels_about(tmp_path):
    about = {"Périmètre": "Économie sociale et solidaire", "Filtres": "aucun"}
    path = exports.write_export(_structures(ROWS), tmp_path / "s.csv", about=about,
                                names=NAMES)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    block, table = _csv_table(path)
    assert block == ["À propos;Information", "Périmètre;Économie sociale et solidaire",
                     "Filtres;aucun"]
    assert list(table.columns[:9]) == [
        "SIRET", "SIREN", "Nom", "Famille ESS (code)", "Famille ESS", "Code commune",
        "Commune", "Code EPCI", "EPCI"]
    first = table.iloc[0]
    assert (first["Famille ESS"], first["Commune"], first["EPCI"]) == (
        "Association", "Brochon", "CC Gevrey")
    assert table["EPCI"].tolist()[1] == ""  # unknown code: empty label, code kept
    assert first["Longitude"] == "5,050000"  # decimal comma, 6 decimals for coordinates
    assert first["Date de création"] == "02/03/2015"  # a date, no time
    assert first["Employeur"] == "Oui" and table["Employeur"].tolist()[1] == ""
    assert table["État administratif"].tolist() == ["Active", "Fermée"]
    assert not list(tmp_path.glob(".*part*"))


def test_xlsx_geojson_gpkg_roundtrip(tmp_path):
    frame = _structures(ROWS)
    book = openpyxl.load_workbook(exports.write_export(frame, tmp_path / "s.xlsx",
                                                       about={"Instantané": "2026-T4"},
                                                       names=NAMES))
    assert book.sheetnames == ["Données", "À propos"]
    sheet = book["Données"]
    header = [c.value for c in sheet[1]]
    row = dict(zip(header, sheet[2], strict=True))
    assert row["SIRET"].value == "00000000000011" and row["SIRET"].data_type == "s"
    assert row["Longitude"].value == 5.05 and row["Longitude"].number_format == "0.000000"
    assert row["Date de création"].is_date
    assert row["Date de création"].value.hour == 0  # the time is dropped
    assert row["Année de la tranche d'effectif"].value == 2023
    for name in ("s.geojson", "s.gpkg"):
        geo = gpd.read_file(exports.write_export(frame, tmp_path / name, names=NAMES))
        assert geo.crs.to_epsg() == 4326
        np.testing.assert_allclose(geo.geometry.x, [5.05, 4.95])
        assert geo["Famille ESS"].tolist() == ["Association", "Coopérative"]
    gpkg = tmp_path / "a.gpkg"
    exports.write_export(frame, gpkg, about={"Instantané": "2026-T4"})
    assert [layer[0] for layer in pyogrio.list_layers(gpkg)] == ["structures", "a_propos"]


def test_rejects_export_and_refusals(tmp_path, monkeypatch):
    rejects = pd.concat([empty_rejects(), pd.DataFrame({
        "source": ["sirene"], "ligne": [None], "siret": ["1"], "raison": ["siret_invalide: 1"],
        "donnees": ['{"siret": "1"}']})], ignore_index=True)
    _, back = _csv_table(exports.write_export(rejects, tmp_path / "r.csv", kind="rejects",
                                              about={"Contenu": "rejets"}))
    assert back.columns.tolist()[:4] == ["Source", "Ligne dans la source", "SIRET",
                                         "Motif du rejet"]
    with pytest.raises(ConfigurationError, match="GeoJSON"):
        exports.write_export(rejects, tmp_path / "r.geojson", kind="rejects")
    with pytest.raises(ConfigurationError, match="extension"):
        exports.write_export(rejects, tmp_path / "r.parquet", kind="rejects")
    monkeypatch.setattr(exports, "_EXCEL_MAX_ROWS", 1)
    with pytest.raises(ConfigurationError, match="Excel"):
        exports.write_export(_structures(ROWS), tmp_path / "s.xlsx")
    with pytest.raises(ConfigurationError, match="lacks column"):
        exports.write_export(_structures(ROWS).drop(columns="epci"), tmp_path / "x.csv")


@pytest.fixture
def hostile_snapshot(tmp_path, data_dir, reference_dir):
    """A real refresh whose structure names are formula probes."""
    units = [unit(f"10002917{i}", denominationUniteLegale=name)
             for i, name in enumerate(HOSTILE)]
    ets = [establishment(u["siren"], "00011", "21104") for u in units]
    geo = [geoloc(e["siret"], 5.05, 47.35) for e in ets]
    folder = write_sirene(tmp_path / "s", units, ets, geo)
    assert main(["refresh", "--sirene-dir", str(folder), "--quarter", "2026-T4",
                 "--quiet"]) == 0
    return data_dir


def test_cli_export_neutralises_formulas_in_csv(hostile_snapshot, tmp_path):
    """Issue 14 item 2 (CLI, CSV): every hostile name starts with a quote in the file."""
    out = tmp_path / "s.csv"
    assert main(["export", "structures", "--output", str(out)]) == 0
    block, table = _csv_table(out)
    assert "Périmètre;Économie sociale et solidaire — France entière" in block
    assert any(line.startswith("Instantané;2026-T4") for line in block)
    # the refresh strips the leading tab and CR of names (tested on the writer below)
    assert sorted(table["Nom"]) == sorted(["'" + n for n in HOSTILE[:4]] + ["TAB", "CR"])
    assert all(not v.startswith(exports.FORMULA_START) for v in table.stack())


def test_cli_export_xlsx_has_no_formula_cell(hostile_snapshot, tmp_path):
    """Issue 14 item 2 (CLI, XLSX): text cells are strings, never formulas, the names kept
    as they are (with Excel's quote prefix), and the « À propos » sheet is safe too."""
    out = tmp_path / "s.xlsx"
    assert main(["export", "structures", "--output", str(out)]) == 0
    book = openpyxl.load_workbook(out)
    cells = [c for sheet in book for row in sheet.iter_rows() for c in row]
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    names = {c.value: c for c in cells if c.value in HOSTILE}
    assert set(names) == set(HOSTILE[:4])
    assert all(c.data_type == "s" and c.quotePrefix for c in names.values())
    assert "À propos" in book.sheetnames


def test_writer_neutralises_tab_cr_and_about(tmp_path):
    """Every probe, tab and CR included, in data and « À propos », CSV and XLSX."""
    frame = _structures([{**ROWS[0], "siret": f"{i:014d}", "nom": name}
                         for i, name in enumerate(HOSTILE)])
    about = {"Filtres": '=HYPERLINK("http://evil.example","clic")', "@Rubrique": "-2"}
    block, table = _csv_table(exports.write_export(frame, tmp_path / "s.csv", about=about,
                                                   names=NAMES))
    assert table["Nom"].tolist() == ["'" + name for name in HOSTILE]
    assert block[1:] == ["Filtres;\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"clic\"\")\"",
                         "'@Rubrique;'-2"]
    book = openpyxl.load_workbook(exports.write_export(frame, tmp_path / "s.xlsx", about=about,
                                                       names=NAMES))
    cells = [c for sheet in book for row in sheet.iter_rows() for c in row]
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    names = book["Données"]["C"][1:]
    # XML reads a CR back as LF (the text is otherwise unchanged)
    assert [c.value for c in names] == [n.replace("\r", "\n") for n in HOSTILE]
    assert all(c.data_type == "s" and c.quotePrefix for c in names)
    assert [c.value for c in book["À propos"]["B"][1:]] == list(about.values())
