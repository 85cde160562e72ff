"""DGCL EPCI composition loader (``epcicom<year>.xlsx``)."""

from __future__ import annotations

import openpyxl
import pandas as pd
import pytest
from fixtures_official import EPCICOM_HEADER, EPCICOM_ROWS, write_epcicom

from geodata.dgcl import epci_table, read_epci_composition
from observatory.errors import ConfigurationError, DataValidationError


def test_composition_layout(tmp_path):
    frame = read_epci_composition(write_epcicom(tmp_path / "epcicom2026.xlsx"))
    assert len(frame) == len(EPCICOM_ROWS)
    dijon = frame[frame["epci"] == "242100410"]
    assert dijon["commune"].tolist() == ["21231", "21166", "21617"]
    assert dijon["nom"].unique().tolist() == ["Dijon Métropole"]
    assert dijon["type"].unique().tolist() == ["METRO"]
    assert dijon["population_municipale"].tolist() == [161830, 13808, 11366]
    # Integer cells (SIREN and INSEE written as numbers by Excel) are padded.
    dombes = frame[frame["epci"] == "200069193"].iloc[0]
    assert dombes["commune"] == "01001"
    assert dombes["siren_commune"] == "210100012"
    assert (frame["millesime"] == 2026).all()
    table = epci_table(frame)
    assert table.loc["242100410", "nb_communes"] == 3
    assert table.loc["242100410", "population"] == 161830 + 13808 + 11366
    assert table.index.name == "code"


def test_headers_of_another_year_and_title_rows(tmp_path):
    # Upper-case headers, other population year, two title rows, long nature labels.
    header = [h.upper() for h in EPCICOM_HEADER]
    header[-2:] = ["PTOT_2024", "PMUN_2024"]
    rows = [[*r[:3], "Métropole" if r[3] == "METRO" else "Communauté de communes", *r[4:]]
            for r in EPCICOM_ROWS]
    path = write_epcicom(tmp_path / "epcicom2024.xlsx", header=header, rows=rows,
                         title_rows=2)
    frame = read_epci_composition(path)
    assert frame.groupby("epci")["type"].first().to_dict() == {
        "200069193": "CC", "242100410": "METRO"}
    assert frame["population_totale"].tolist() == [r[-2] for r in EPCICOM_ROWS]
    assert (frame["millesime"] == 2024).all()


def test_errors(tmp_path):
    with pytest.raises(ConfigurationError, match="does not exist"):
        read_epci_composition(tmp_path / "absent.xlsx")
    path = write_epcicom(tmp_path / "epcicom2026.xlsx")
    with pytest.raises(ConfigurationError, match="Composition communale"):
        read_epci_composition(path, sheet="Feuil9")
    # A commune in two EPCI.
    rows = [*EPCICOM_ROWS, [*EPCICOM_ROWS[3][:9], "21231", *EPCICOM_ROWS[3][10:]]]
    with pytest.raises(DataValidationError, match="several EPCI") as info:
        read_epci_composition(write_epcicom(tmp_path / "twice.xlsx", rows=rows))
    assert info.value.offenders == ["21231 (200069193, 242100410)"]
    # Incomplete row: reported with its spreadsheet row number (header is row 1).
    rows = [*EPCICOM_ROWS[:2], [*EPCICOM_ROWS[2][:9], None, *EPCICOM_ROWS[2][10:]]]
    with pytest.raises(DataValidationError) as info:
        read_epci_composition(write_epcicom(tmp_path / "hole.xlsx", rows=rows))
    assert info.value.offenders == [4]
    # Not the composition file (no member column).
    book = openpyxl.Workbook()
    book.active.append(["siren", "raison_sociale", "nature_juridique"])
    book.save(tmp_path / "epcisanscom2026.xlsx")
    with pytest.raises(DataValidationError, match="epcisanscom"):
        read_epci_composition(tmp_path / "epcisanscom2026.xlsx")


def _epcicom_from_shared(shared_data, path, departements=None):
    """Test-side reader of the shared flattened DGCL extract (not an official format):
    rewritten in the epcicom layout (one row per member, raison_sociale, nature_juridique...)
    as .xlsx, or as a .csv export with the same headers (much faster to write and read)."""
    members = pd.read_csv(shared_data / "population/epci_membres_cog2026.csv", dtype=str)
    epci = pd.read_csv(shared_data / "population/epci_cog2026.csv", dtype=str)
    rows = members.merge(epci.rename(columns={"code": "epci", "nom": "raison_sociale"}),
                         on="epci", how="left", validate="m:1", suffixes=("", "_epci"))
    if departements:
        rows = rows[rows["commune"].str[:2].isin(departements)]
    table = pd.DataFrame({
        "dept": rows["commune"].str[:2], "siren": rows["epci"],
        "raison_sociale": rows["raison_sociale"], "nature_juridique": rows["type"],
        "mode_financ": rows["mode_financement"], "nb_membres": rows["nb_membres"],
        "total_pop_tot": rows["population_totale_epci"],
        "total_pop_mun": rows["population_municipale_epci"],
        "dep_com": rows["commune"].str[:2], "insee": rows["commune"],
        "siren_membre": rows["siren_commune"], "nom_membre": rows["nom"],
        "ptot_2026": rows["population_totale"], "pmun_2026": rows["population_municipale"],
    })
    assert list(table.columns) == EPCICOM_HEADER
    if path.suffix == ".csv":
        table.to_csv(path, sep=";", index=False)
        return path
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("Composition communale")
    sheet.append(EPCICOM_HEADER)
    for values in table.itertuples(index=False):
        sheet.append(list(values))
    book.save(path)
    return path


@pytest.mark.integration
def test_real_composition_2026(shared_data, tmp_path):
    """Whole France through the CSV export (fast); then Côte-d'Or + Nord through .xlsx."""
    frame = read_epci_composition(_epcicom_from_shared(shared_data,
                                                       tmp_path / "epcicom2026.csv"))
    assert len(frame) == 34_871
    assert frame["epci"].nunique() == 1_255
    table = epci_table(frame)
    assert table.loc["242100410", "nb_communes"] == 23  # Dijon Métropole
    assert table.loc["200093201", "nb_communes"] == 95  # Métropole Européenne de Lille
    assert table["type"].value_counts().to_dict() == {
        "CC": 989, "CA": 230, "METRO": 21, "CU": 14, "MET69": 1}
    # Our sums of the members' population municipale equal the EPCI totals of the source.
    totals = pd.read_csv(shared_data / "population/epci_cog2026.csv", dtype=str)
    totals = totals.set_index("code")["population_municipale"].astype("Int64")
    assert table["population"].equals(totals.reindex(table.index).rename("population"))
    subset = read_epci_composition(_epcicom_from_shared(
        shared_data, tmp_path / "epcicom2026.xlsx", departements=["21", "59"]))
    assert subset.groupby("epci").size()[["242100410", "200093201"]].tolist() == [23, 95]
    assert subset.set_index("commune")["population_municipale"].equals(
        frame.set_index("commune").loc[subset["commune"], "population_municipale"])
