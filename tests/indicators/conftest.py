"""Fixtures of the indicator tests (the grid itself is described in indicator_grid.py)."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from indicator_grid import BASE_ITEMS, make_grid, make_structures


@pytest.fixture()
def grid() -> gpd.GeoDataFrame:
    return make_grid()


@pytest.fixture()
def base_structures(grid) -> pd.DataFrame:
    return make_structures(BASE_ITEMS, grid)
