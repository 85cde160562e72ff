"""INSEE grille communale de densité: loader on fixtures in the real layouts (titles on rows
1–4, header on row 5), the 7 -> 3 nesting, the approximation and the join with communes.

The real file is not available (no public copy found; see shared/data/population/
PROVENANCE.md): these fixtures are synthetic and labelled so.
"""

from __future__ import annotations

import openpyxl
import pandas as pd
import pytest
from fixtures_official import DENSITY_ROWS, write_density_7_levels, write_density_2025

from geodata.density_grid import (
    COLUMNS,
    LIBELLES_7,
    SEVEN_TO_THREE,
    approximate_density_levels,
    density_levels,
    read_density_grid,
)
from observatory.errors import ConfigurationError, DataValidationError

EXPECTED_7 = {code: level for code, _name, level, _pop in DENSITY_ROWS}


def test_seven_level_file(tmp_path):
    path = write_density_7_levels(tmp_path / "grille_densite_7_niveaux_2024.xlsx", 2024)
    # The header is on spreadsheet row 5, as in the real file.
    sheet = openpyxl.load_workbook(path).active
    assert sheet["A5"].value == "CODGEO" and sheet["A1"].value.startswith("Grille")
    grid = read_density_grid(path)
    assert list(grid.columns) == list(COLUMNS)
    assert grid.index.name == "code"
    assert grid["dens7"].to_dict() == EXPECTED_7
    assert grid.loc["21231", "libelle"] == "Grands centres urbains"
    assert grid.loc["21003", "libelle"] == "Rural à habitat très dispersé"
    assert (grid["source"] == "insee").all() and (grid["millesime"] == 2024).all()
    assert str(grid["dens7"].dtype) == "Int8"
    from geodata.density_grid import load_density_grid  # the name the indicators CLI uses

    assert load_density_grid(path).equals(grid)


def test_2025_file_sheet_maille_communale(tmp_path):
    path = write_density_2025(tmp_path / "fichier_diffusion_2025.xlsx")
    assert openpyxl.load_workbook(path).sheetnames[0] == "Documentation"
    grid = read_density_grid(path)  # finds "Maille communale" by itself
    assert grid["dens7"].to_dict() == EXPECTED_7  # from DENS7, not DENS
    assert (grid["millesime"] == 2025).all()
    assert grid.loc["2A004", "dens3"] == 2


def test_nesting_seven_into_three(tmp_path):
    grid = read_density_grid(write_density_7_levels(tmp_path / "g2024.xlsx"))
    expected = {1: 1, 2: 2, 3: 2, 4: 2, 5: 3, 6: 3, 7: 3}  # docs/data-sources.md §7
    assert expected == SEVEN_TO_THREE
    assert all(expected[a] == b for a, b in zip(grid["dens7"], grid["dens3"], strict=True))
    # Nesting is monotone: a more rural 7-level class is never less rural in 3 levels.
    pairs = grid[["dens7", "dens3"]].drop_duplicates().sort_values("dens7")
    assert pairs["dens3"].is_monotonic_increasing
    assert list(LIBELLES_7) == list(range(1, 8))


def test_wrong_sheet_missing_column_bad_values(tmp_path):
    path = write_density_2025(tmp_path / "fichier_diffusion_2025.xlsx")
    with pytest.raises(ConfigurationError, match="Maille communale"):
        read_density_grid(path, sheet="Maille supracommunale")
    with pytest.raises(DataValidationError, match="no header row with CODGEO"):
        read_density_grid(path, sheet="Documentation")
    no_dens = write_density_7_levels(tmp_path / "no_dens.xlsx", header=[
        "CODGEO", "LIBGEO", "NIVEAU", "LIBDENS", "PMUN21", *[f"P{i}" for i in range(1, 8)]])
    with pytest.raises(DataValidationError, match="DENS") as info:
        read_density_grid(no_dens)
    assert "NIVEAU" in str(info.value)
    bad = write_density_7_levels(tmp_path / "bad.xlsx", rows=[("21231", "Dijon", 1, 1)])
    book = openpyxl.load_workbook(bad)
    book.active["C6"] = 8
    book.save(bad)
    with pytest.raises(DataValidationError, match="not levels 1–7") as info:
        read_density_grid(bad)
    assert info.value.offenders == ["21231: '8'"]
    with pytest.raises(ConfigurationError, match="does not exist"):
        read_density_grid(tmp_path / "absent.xlsx")


def test_2025_dens_contradicting_dens7(tmp_path):
    path = write_density_2025(tmp_path / "fichier_diffusion_2025.xlsx")
    book = openpyxl.load_workbook(path)
    book["Maille communale"]["C6"] = 3  # Dijon: DENS7 = 1 but DENS = 3
    book.save(path)
    with pytest.raises(DataValidationError, match="contradicts DENS7") as info:
        read_density_grid(path)
    assert info.value.offenders == ["21231: DENS7=1 DENS=3"]


def test_approximation_thresholds_hand_computed():
    # population, area (km²) -> density (inh/km²) -> expected level (first rule that applies)
    cases = {
        "A": (10_000, 5.0, 1),   # 2 000 ≥ 1 500
        "B": (6_000, 10.0, 2),   # 600 ≥ 300 and 6 000 ≥ 5 000
        "C": (2_000, 4.0, 4),    # 500 ≥ 300 but 2 000 < 5 000
        "D": (8_000, 40.0, 3),   # 200 < 300 but 8 000 ≥ 5 000
        "E": (1_500, 30.0, 5),   # 50 < 300, 1 500 ≥ 1 000
        "F": (600, 10.0, 6),     # 60 ≥ 50, 600 < 1 000
        "G": (200, 10.0, 7),     # 20 < 50
        "H": (1_500, 1.0, 1),    # exactly 1 500: ≥
        "I": (300, 1.0, 4),      # exactly 300, small
        "J": (50, 1.0, 6),       # exactly 50
        "K": (49, 1.0, 7),
        "L": (0, 3.0, 7),        # no inhabitant: defined, most rural
    }
    communes = pd.DataFrame({"population": [c[0] for c in cases.values()],
                             "superficie_km2": [c[1] for c in cases.values()]},
                            index=list(cases))
    levels = approximate_density_levels(communes)
    assert levels["dens7"].to_dict() == {k: c[2] for k, c in cases.items()}
    assert levels["dens3"].to_dict() == {k: SEVEN_TO_THREE[c[2]] for k, c in cases.items()}
    assert (levels["source"] == "approximation").all()
    assert levels["millesime"].isna().all()
    assert levels.loc["E", "libelle"] == "Bourgs ruraux"


def test_approximation_unusable_rows_are_unclassified_or_refused():
    communes = pd.DataFrame({"population": [100, None, 5], "superficie_km2": [1.0, 2.0, 0.0]},
                            index=["X", "Y", "Z"])
    levels = approximate_density_levels(communes)
    assert levels.loc["X", "dens7"] == 6  # 100 inh/km²
    assert levels.loc[["Y", "Z"], "dens7"].isna().all()
    assert levels.loc[["Y", "Z"], "dens3"].isna().all()
    assert levels["source"].tolist() == ["approximation", "indisponible", "indisponible"]
    assert levels.attrs["non_classees"] == ["Y", "Z"]
    with pytest.raises(DataValidationError) as info:
        approximate_density_levels(communes, on_invalid="raise")
    assert info.value.offenders == ["Y", "Z"]
    with pytest.raises(DataValidationError, match="superficie_km2"):
        approximate_density_levels(communes[["population"]])


def _communes(codes, population=1_000, area=10.0):
    return pd.DataFrame({"population": population, "superficie_km2": area},
                        index=pd.Index(codes, name="code", dtype="string"))


def test_density_levels_uses_grid_and_reports_unmatched(tmp_path):
    grid = read_density_grid(write_density_7_levels(tmp_path / "g_2024.xlsx"))
    codes = [c for c in EXPECTED_7 if c != "2A004"]
    # All but one commune in the grid, plus a commune created after the grid's COG.
    communes = _communes([*codes, "21999"])  # 21999: 1 000 inh / 10 km² -> level 5
    with pytest.raises(DataValidationError, match="87.5%"):  # 7 of 8 < 95 % by default
        density_levels(communes, grid)
    levels = density_levels(communes, grid, min_coverage=0.8)
    assert levels.loc[codes, "dens7"].to_dict() == {c: EXPECTED_7[c] for c in codes}
    assert (levels.loc[codes, "source"] == "insee").all()
    assert levels.loc["21999", ["dens7", "source"]].tolist() == [5, "approximation"]
    unmatched = levels.attrs["non_apparies"]
    assert unmatched == {"communes_absentes_de_la_grille": ["21999"],
                         "codes_grille_inconnus": ["2A004"]}
    assert levels.index.equals(communes.index)
    kept_na = density_levels(communes, grid, fill_missing="na", min_coverage=0.8)
    assert pd.isna(kept_na.loc["21999", "dens7"])
    with pytest.raises(DataValidationError) as info:
        density_levels(communes, grid, fill_missing="raise", min_coverage=0.8)
    assert info.value.offenders == ["21999"]


def test_density_levels_other_cog_is_refused(tmp_path):
    grid = read_density_grid(write_density_7_levels(tmp_path / "g_2024.xlsx"))
    communes = _communes(["01001", "01002", "21231"])  # 1 of 3 in the grid
    with pytest.raises(DataValidationError, match="COG") as info:
        density_levels(communes, grid)
    assert info.value.offenders == ["01001", "01002"]
    without = density_levels(communes)  # no grid: approximation for all
    assert (without["source"] == "approximation").all()


@pytest.mark.integration
def test_approximation_on_real_cote_d_or(shared_data):
    import geopandas as gpd

    from geodata.crs import area_km2

    frame = gpd.read_file(shared_data / "boundaries/communes_21.geojson").set_index("code")
    frame["superficie_km2"] = area_km2(frame.geometry, frame["departement"])
    levels = approximate_density_levels(frame)
    assert len(levels) == 698 and levels["dens7"].notna().all()
    # Dijon: 161 830 inhabitants on about 40 km² (≈ 4 000 inh/km²).
    assert levels.loc["21231", "dens7"] == 1
    # Côte-d'Or is mostly villages: most communes fall in the rural levels.
    assert (levels["dens3"] == 3).mean() > 0.8
    density = frame["population"] / frame["superficie_km2"]
    assert (levels.loc[density >= 1500, "dens7"] == 1).all()
