"""Display geometries: coverage simplification that keeps shared borders.

Full-resolution geometries stay in the main layers (point-in-polygon); maps use the
simplified copies built here with :func:`shapely.coverage_simplify` (GEOS coverage
simplifier: borders shared by two territories are simplified once, so neighbours still
meet exactly).  Coordinates are then rounded to 1e-5° (about 1 m), identically on both
sides of a shared border.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

__all__ = ["DISPLAY_COLUMNS", "TOLERANCES", "build_display_layers", "simplify_coverage"]

# Tolerance in degrees per level (about 1° = 111 km in latitude).
TOLERANCES = {"commune": 0.0006, "epci": 0.0015, "departement": 0.006, "region": 0.008}
GRID = 1e-5
DISPLAY_COLUMNS = {
    "commune": ["nom", "epci", "departement", "region", "population", "superficie_km2"],
    "epci": ["nom", "type", "departement", "region", "population", "superficie_km2"],
    "departement": ["nom", "region", "population", "superficie_km2"],
    "region": ["nom", "population", "superficie_km2"],
}


def simplify_coverage(geometries, tolerance: float, groups=None) -> np.ndarray:
    """Coverage-simplify geometries (optionally per group, e.g. metro vs each DROM).

    Empty geometries stay empty.  If GEOS rejects a group (not a valid coverage), its
    geometries are simplified one by one with ``preserve_topology`` instead.
    """
    geoms = np.asarray(getattr(geometries, "values", geometries), dtype=object)
    groups = np.zeros(len(geoms), dtype=int) if groups is None else np.asarray(groups)
    out = geoms.copy()
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    for group in pd.unique(groups[present]):
        mask = present & (groups == group)
        try:
            simplified = shapely.coverage_simplify(geoms[mask], tolerance,
                                                   simplify_boundary=True)
        except shapely.errors.GEOSException:
            simplified = shapely.simplify(geoms[mask], tolerance, preserve_topology=True)
        simplified = shapely.set_precision(simplified, GRID)
        bad = shapely.is_empty(simplified) | ~shapely.is_valid(simplified)
        if bad.any():  # tiny territories vanish at the grid: keep a lightly simplified copy
            fallback = shapely.simplify(geoms[mask][bad], GRID, preserve_topology=True)
            simplified[bad] = shapely.make_valid(fallback)
        out[mask] = simplified
    return out


def _territory_group(level: str, layer: pd.DataFrame) -> np.ndarray:
    """Metro in one group, each overseas territory on its own (no shared borders)."""
    if level == "region":
        codes = pd.Series(layer.index, dtype="string")
        overseas = codes.isin(["01", "02", "03", "04", "06"])
    else:
        codes = pd.Series(layer.index if level == "departement" else layer["departement"],
                          dtype="string")
        overseas = codes.str.startswith("97").fillna(False)
    return np.where(overseas.to_numpy(), codes.fillna("").to_numpy(dtype=object),
                    "metro").astype(str)


def build_display_layers(layers: dict) -> dict:
    """Simplified copies of the four levels (``commune``, ``epci``, ``departement``,
    ``region``) with their main attributes."""
    out = {}
    for level, layer in layers.items():
        groups = _territory_group(level, layer)
        geoms = simplify_coverage(layer.geometry, TOLERANCES[level], groups)
        cols = [c for c in DISPLAY_COLUMNS[level] if c in layer.columns]
        out[level] = gpd.GeoDataFrame(layer[cols].copy(),
                                      geometry=gpd.GeoSeries(geoms, index=layer.index,
                                                             crs=layer.crs))
    return out
