"""Synthetic grid for the indicator tests: a 4×4 grid of 10 km square communes.

Layout (Lambert-93, origin X0=800 000, Y0=6 600 000; row r goes north, column c east;
commune code ``21{r*4+c+1:03d}``; every commune is 10 km × 10 km = 100 km²)::

    r=3 | 21013 21014 21015 21016 |
    r=2 | 21009 21010 21011 21012 |
    r=1 | 21005 21006 21007 21008 |
    r=0 | 21001 21002 21003 21004 |
          c=0   c=1   c=2   c=3

EPCI: columns 0–1 -> "200000001", columns 2–3 -> "200000002" (they cross départements).
Départements: rows 0–1 -> "21", rows 2–3 -> "71". Région "27" for all.
Population: commune i (1..16) has 100 * i inhabitants, except 21016 which has 0.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
from pyproj import Transformer
from shapely.geometry import box

from observatory.schema import STRUCTURE_DTYPES

X0, Y0, SIDE = 800_000.0, 6_600_000.0, 10_000.0
TO_WGS84 = Transformer.from_crs(2154, 4326, always_xy=True)


def commune_code(r: int, c: int) -> str:
    return f"21{r * 4 + c + 1:03d}"


def centre(r: int, c: int, dx: float = 0.5, dy: float = 0.5) -> tuple[float, float]:
    """Lambert-93 point inside commune (r, c); (0.5, 0.5) is its centre."""
    return X0 + SIDE * (c + dx), Y0 + SIDE * (r + dy)


def make_grid(n: int = 4) -> gpd.GeoDataFrame:
    rows = []
    for r in range(n):
        for c in range(n):
            code = commune_code(r, c)
            i = r * n + c + 1
            rows.append({
                "code": code, "nom": f"Commune {i}",
                "epci": "200000001" if c < n // 2 else "200000002",
                "departement": "21" if r < n // 2 else "71", "region": "27", "zone": "metro",
                "population": 0 if i == n * n else 100 * i, "superficie_km2": 100.0,
                "geometry": box(X0 + SIDE * c, Y0 + SIDE * r, X0 + SIDE * (c + 1),
                                Y0 + SIDE * (r + 1)),
            })
    gdf = gpd.GeoDataFrame(rows, geometry="geometry", crs=2154).to_crs(4326)
    gdf["population"] = gdf["population"].astype("Int64")
    gdf["code"] = gdf["code"].astype("string")
    for col in ("nom", "epci", "departement", "region", "zone"):
        gdf[col] = gdf[col].astype("string")
    return gdf.set_index("code")


def make_structures(items: list[dict], communes: gpd.GeoDataFrame) -> pd.DataFrame:
    """Structures from dicts with ``r``, ``c`` (commune), optional ``dx``/``dy`` and fields."""
    rows = []
    for k, item in enumerate(items):
        item = dict(item)
        r, c = item.pop("r"), item.pop("c")
        dx, dy = item.pop("dx", 0.5), item.pop("dy", 0.5)
        x, y = centre(r, c, dx, dy)
        lon, lat = TO_WGS84.transform(x, y)
        code = commune_code(r, c)
        row = {
            "siret": item.pop("siret", f"{k + 1:014d}"), "nom": f"Structure {k + 1}",
            "famille_ess": "association", "naf": "94.99Z", "naf_section": "S",
            "tranche_effectif": "NN", "annee_effectif": 2023, "etat_administratif": "A",
            "commune": code, "epci": communes.loc[code, "epci"],
            "departement": communes.loc[code, "departement"], "region": "27",
            "longitude": lon, "latitude": lat, "location_precision": "geoloc_insee",
        }
        row.update(item)
        rows.append(row)
    frame = pd.DataFrame(rows)
    for col, dtype in STRUCTURE_DTYPES.items():
        if col not in frame:
            frame[col] = pd.Series(pd.NA, index=frame.index)
        frame[col] = frame[col].astype(dtype) if not dtype.startswith("datetime") else \
            pd.to_datetime(frame[col])
    return frame[list(STRUCTURE_DTYPES)]


#: The five structures of the base scenario (answers derived in tests/indicators/test_table.py).
BASE_ITEMS = [
    {"r": 0, "c": 0, "famille_ess": "association", "tranche_effectif": "01",
     "naf": "88.99B", "naf_section": "Q"},
    {"r": 0, "c": 0, "famille_ess": "cooperative", "tranche_effectif": "12",
     "naf": "47.11B", "naf_section": "G", "dx": 0.2, "dy": 0.3},
    {"r": 1, "c": 1, "famille_ess": "association", "tranche_effectif": "NN",
     "naf": "93.12Z", "naf_section": "R", "annee_effectif": 2022},
    {"r": 3, "c": 3, "famille_ess": "mutuelle", "tranche_effectif": "21",
     "etat_administratif": "F", "naf": "65.12Z", "naf_section": "K"},
    {"r": 3, "c": 3, "famille_ess": "fondation", "tranche_effectif": None,
     "naf": "85.59A", "naf_section": "P"},
]


