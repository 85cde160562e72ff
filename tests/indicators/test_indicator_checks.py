"""Input checks: COG vintage, CRS, text codes, unknown communes, bad values."""

from __future__ import annotations

import pandas as pd
import pytest

from indicators.table import indicator_table
from observatory.errors import ConfigurationError, CRSMismatchError, DataValidationError


def test_cog_mismatch_is_refused(grid, base_structures):
    with pytest.raises(DataValidationError, match="COG 2025"):
        indicator_table(base_structures, grid, "commune", structures_cog="COG 2025",
                        reference_cog="COG 2026")
    t = indicator_table(base_structures, grid, "region", structures_cog="COG 2026",
                        reference_cog="COG 2026")
    assert t["structures"].sum() == 4


def test_crs_mismatch_is_refused(grid, base_structures):
    with pytest.raises(CRSMismatchError, match="to_crs"):
        indicator_table(base_structures, grid.to_crs(2154), "commune")


def test_integer_codes_are_refused(grid, base_structures):
    bad = base_structures.copy()
    bad["commune"] = bad["commune"].astype(int)
    with pytest.raises(DataValidationError, match="not text"):
        indicator_table(bad, grid, "commune")


def test_unknown_commune_is_refused(grid, base_structures):
    bad = base_structures.copy()
    bad.loc[0, "commune"] = "99999"
    with pytest.raises(DataValidationError, match="not in the reference") as info:
        indicator_table(bad, grid, "commune")
    assert info.value.offenders == ["99999"]


def test_duplicate_siret_and_bad_band(grid, base_structures):
    dup = pd.concat([base_structures, base_structures.iloc[[0]]], ignore_index=True)
    with pytest.raises(DataValidationError, match="more than once"):
        indicator_table(dup, grid, "commune")
    bad = base_structures.copy()
    bad.loc[0, "tranche_effectif"] = "7"
    with pytest.raises(DataValidationError, match="headcount band"):
        indicator_table(bad, grid, "commune")


def test_unknown_level_and_family(grid, base_structures):
    with pytest.raises(ConfigurationError, match="Unknown territorial level"):
        indicator_table(base_structures, grid, "canton")
    bad = base_structures.copy()
    bad.loc[0, "famille_ess"] = "syndicat"
    with pytest.raises(DataValidationError, match="family"):
        indicator_table(bad, grid, "commune")


def test_structures_without_commune_are_reported(grid, base_structures):
    s = base_structures.copy()
    s.loc[0, "commune"] = pd.NA
    t = indicator_table(s, grid, "region")
    assert t["structures"].sum() == 3
    assert t.attrs["structures_sans_commune"] == 1
