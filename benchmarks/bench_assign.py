"""Benchmark: commune assignment of 1 M+ points vs a plain ``geopandas.sjoin(within)``.

Points are drawn uniformly inside randomly chosen communes of the real reference geography
(all of France, full-resolution polygons).  Like SIRENE, most points carry their declared
commune: 96 % are right, 2 % declare a wrong commune, 2 % declare none; 0.5 % more are at sea
(fall back to the declared centroid).  Both methods run on the same points in the same
process; the figures printed are points per second, the speed ratio and the peak RSS.

Usage: ``python benchmarks/bench_assign.py [n_points]`` (default 1 000 000).
"""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from etl.assign import assign_communes
from geodata.reference import load_reference
from observatory.schema import empty_structures


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def random_points(communes: gpd.GeoDataFrame, n: int, seed: int = 42):
    """``n`` points uniform inside random communes (rejection sampling in the bbox)."""
    rng = np.random.default_rng(seed)
    geoms = communes.geometry.to_numpy()
    shapely.prepare(geoms)
    bounds = shapely.bounds(geoms)
    usable = np.flatnonzero(np.isfinite(bounds).all(axis=1))  # a few communes lack geometry
    which = usable[rng.integers(0, len(usable), n)]
    lon = np.full(n, np.nan)
    lat = np.full(n, np.nan)
    todo = np.arange(n)
    for _ in range(60):
        if not len(todo):
            break
        b = bounds[which[todo]]
        x = rng.uniform(b[:, 0], b[:, 2])
        y = rng.uniform(b[:, 1], b[:, 3])
        ok = shapely.contains_xy(geoms[which[todo]], x, y)
        lon[todo[ok]], lat[todo[ok]] = x[ok], y[ok]
        todo = todo[~ok]
    keep = np.isfinite(lon)
    return lon[keep], lat[keep], which[keep]


def main(n: int = 1_000_000) -> None:
    started = time.perf_counter()
    reference = load_reference()
    communes = reference.communes
    print(f"reference: {len(communes)} communes ({reference.vintages.get('cog')}), "
          f"loaded in {time.perf_counter() - started:.1f} s")
    t0 = time.perf_counter()
    lon, lat, which = random_points(communes, int(n * 1.001) + 10)  # a few slivers fail
    lon, lat, which = lon[:n], lat[:n], which[:n]
    n = len(lon)
    rng = np.random.default_rng(1)
    codes = communes.index.to_numpy(dtype=object)
    declared = codes[which].copy()
    wrong = rng.random(n) < 0.02
    declared[wrong] = codes[rng.integers(0, len(codes), wrong.sum())]
    missing = (rng.random(n) < 0.02) & ~wrong
    declared[missing] = None
    sea = rng.random(n) < 0.005
    lon[sea], lat[sea] = -30.0, 40.0
    print(f"points: {n} drawn in {time.perf_counter() - t0:.1f} s "
          f"({wrong.sum()} wrong declared, {missing.sum()} undeclared, {sea.sum()} at sea)")
    base = empty_structures()
    structures = pd.DataFrame({c: base[c].reindex(range(n)) for c in base.columns})
    structures["siret"] = pd.array(np.char.zfill(np.arange(n).astype(str), 14),
                                   dtype="string")
    structures["commune_declaree"] = pd.array(declared, dtype="string")
    structures["longitude"], structures["latitude"] = lon, lat
    structures["location_precision"] = "geoloc_insee"

    t0 = time.perf_counter()
    result = assign_communes(structures, communes, reference.code_changes)
    ours_s = time.perf_counter() - t0
    rss_ours = _peak_rss_mb()

    t0 = time.perf_counter()
    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")
    joined = gpd.sjoin(points, communes[["geometry"]], predicate="within", how="left")
    sjoin_s = time.perf_counter() - t0

    # agreement on points that sjoin placed in exactly one commune
    joined = joined[~joined.index.duplicated(keep=False)]
    placed = joined["code" if "code" in joined else "index_right"].dropna()
    ours = result.structures.set_index("siret")["commune"]
    ours = ours.reindex(structures["siret"].to_numpy()[placed.index.to_numpy()]).to_numpy()
    agree = float(np.mean(ours == placed.to_numpy(dtype=object)))

    print(f"assign_communes : {ours_s:7.2f} s  {n / ours_s:12,.0f} points/s  "
          f"stats={result.stats}")
    print(f"sjoin(within)   : {sjoin_s:7.2f} s  {n / sjoin_s:12,.0f} points/s")
    print(f"speed ratio (ours / sjoin): {sjoin_s / ours_s:.2f}x  (target >= 2x)")
    print(f"agreement with sjoin on points inside exactly one commune: {agree:.6f}")
    print(f"peak RSS: {_peak_rss_mb():,.0f} MB (after assign: {rss_ours:,.0f} MB)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
