"""Benchmark: every indicator for the whole of France, at every level.

About 34,900 communes (``load_reference()``) and 1.5 million synthetic active/closed
structures generated here (seeded): communes drawn with probability ∝ population + 10, points
jittered around a point inside the commune. Prints the time of each step and the peak RSS.

Targets (2-core machine): everything but the permutation tests < 15 s; Gi* and LISA with 999
permutations on all communes < 60 s; peak RSS < 3 GB.

Usage: ``.venv/bin/python benchmarks/bench_indicators.py [--structures 1500000]
[--permutations 999] [--skip-hotspots] [--snapshot 2026-T4]`` (``--snapshot``: read a stored
snapshot, e.g. a national demo one, instead of generating structures).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TIMES: dict[str, float] = {}


CPU: dict[str, float] = {}


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@contextmanager
def step(name: str):
    t0, c0 = time.perf_counter(), cpu_s()
    yield
    TIMES[name] = time.perf_counter() - t0
    CPU[name] = cpu_s() - c0
    print(f"{name:<62} {TIMES[name]:7.2f} s wall {CPU[name]:7.2f} s CPU  "
          f"(peak RSS {peak_rss_mb():,.0f} MB)", flush=True)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def synthetic_structures(communes, n: int, seed: int = 1) -> pd.DataFrame:
    """``n`` structures spread like the population (seeded)."""
    from indicators.employment import BANDS
    from observatory.schema import FAMILIES, STRUCTURE_DTYPES

    rng = np.random.default_rng(seed)
    ok = ~(communes.geometry.isna().to_numpy() | communes.geometry.is_empty.to_numpy())
    pool = communes.loc[ok]
    weight = pool["population"].fillna(0).to_numpy(dtype=float) + 10
    pick = rng.choice(len(pool), size=n, p=weight / weight.sum())
    rep = pool.geometry.representative_point()
    lon = rep.x.to_numpy()[pick] + rng.normal(0, 0.004, n)
    lat = rep.y.to_numpy()[pick] + rng.normal(0, 0.003, n)
    nafs = np.array(["88.99B", "94.99Z", "85.59A", "93.12Z", "90.01Z", "64.19Z", "47.11B",
                     "43.21A", "86.10Z", "55.10Z", "56.10A", "01.11Z", "87.30A"])
    sections = np.array(["Q", "S", "P", "R", "R", "K", "G", "F", "Q", "I", "I", "A", "Q"])
    k = rng.integers(0, len(nafs), n)
    data = {
        "siret": pd.array(np.char.zfill(np.arange(n).astype(str), 14), dtype="string"),
        "famille_ess": pd.array(rng.choice(FAMILIES, n, p=[.78, .08, .04, .02, .05, .03]),
                                dtype="string"),
        "naf": pd.array(nafs[k], dtype="string"),
        "naf_section": pd.array(sections[k], dtype="string"),
        "tranche_effectif": pd.array(rng.choice(list(BANDS), n), dtype="string"),
        "annee_effectif": pd.array(rng.choice([2022, 2023], n, p=[.3, .7]), dtype="Int64"),
        "etat_administratif": pd.array(np.where(rng.random(n) < .9, "A", "F"), dtype="string"),
        "commune": pd.array(pool.index.to_numpy()[pick], dtype="string"),
        "longitude": lon, "latitude": lat,
        "nom": pd.array(np.char.add("Structure ", np.arange(n).astype(str)), dtype="string"),
    }
    frame = pd.DataFrame(data)
    for col in ("epci", "departement", "region"):
        frame[col] = pd.array(pool[col].to_numpy()[pick], dtype="string")
    for col, dtype in STRUCTURE_DTYPES.items():
        if col not in frame:
            frame[col] = pd.Series(pd.NA, index=frame.index, dtype=dtype)
    return frame


def approximate_density(communes) -> pd.DataFrame:
    """Density classes: the project's approximation (no INSEE grid in the benchmark)."""
    from geodata.density_grid import approximate_density_levels

    return approximate_density_levels(communes)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--structures", type=int, default=1_500_000)
    parser.add_argument("--permutations", type=int, default=999)
    parser.add_argument("--skip-hotspots", action="store_true")
    parser.add_argument("--snapshot", help="use this stored snapshot (e.g. a national demo "
                        "snapshot) instead of synthetic structures")
    args = parser.parse_args(argv)

    from geodata.reference import load_reference
    from indicators.change import change_by_levels
    from indicators.concentration import location_quotients
    from indicators.counts import count_by
    from indicators.coverage import structure_distances
    from indicators.prepare import validate_inputs
    from indicators.projection import commune_points
    from indicators.ranks import peer_groups, ranks
    from indicators.rural import density_split
    from indicators.table import commune_base, indicator_table
    from indicators.zones import zones_blanches

    with step("load_reference()"):
        ref = load_reference()
    communes = ref.communes
    if args.snapshot:
        from observatory.storage import load_snapshot

        with step(f"load snapshot {args.snapshot} (not timed in total)"):
            structures = pd.DataFrame(load_snapshot(args.snapshot).structures).drop(
                columns="geometry", errors="ignore")
    else:
        with step(f"generate {args.structures:,} synthetic structures (not timed in total)"):
            structures = synthetic_structures(communes, args.structures)
    density = approximate_density(communes)
    print(f"communes: {len(communes):,}; structures: {len(structures):,} "
          f"({int((structures['etat_administratif'] == 'A').sum()):,} active)")
    t_all, c_all = time.perf_counter(), cpu_s()
    with step("validate_inputs + encode (COG, CRS, codes, SIRET, families, bands)"):
        prep = validate_inputs(structures, communes, structures_cog=ref.vintages["cog"],
                               reference_cog=ref.vintages["cog"])
    with step("commune centroids in Lambert-93 / local CRS"):
        points = commune_points(communes)
    with step("structure points projected"):
        prep.projected(communes)
    with step("commune base (counts, sectors, sections, jobs, distance)"):
        base = commune_base(structures, communes, density=density, points=points,
                            prepared=prep)
    tables = {}
    for level in ("commune", "epci", "departement", "region"):
        with step(f"indicator_table level={level}"):
            names = None if level == "commune" else ref.layer(level)["nom"]
            tables[level] = indicator_table(structures, communes, level, names=names,
                                            density=density, points=points, base=base,
                                            prepared=prep)
    with step("distances per family (6) and per sector (10)"):
        structure_distances(structures, communes, by="famille_ess", points=points,
                            prepared=prep)
        structure_distances(structures, communes, by="secteur_ess", points=points,
                            prepared=prep)
    with step("counts by NAF section"):
        count_by(structures, communes, "naf_section", prepared=prep)
    with step("rural/urban split dens3 + dens7 at every level"):
        for level in ("commune", "epci", "departement", "region"):
            for grid in ("dens3", "dens7"):
                density_split(base, communes, density, level=level, grid=grid)
    with step("zones blanches (all structures, 10 km)"):
        zb = zones_blanches(communes, structures, density, distance_km=10, points=points,
                            prepared=prep)
    with step("zones blanches (coopératives, 10 km)"):
        zc = zones_blanches(communes, structures, density, distance_km=10,
                            by="famille_ess", category="cooperative", points=points,
                            prepared=prep)
    print(f"   zones blanches: {len(zb.zones)} (all), {len(zc.zones)} (coopératives)")
    with step("location quotients France + région, families + sectors"):
        for level in ("epci", "departement"):
            t = tables[level]
            for by in ("famille_ess", "secteur_ess"):
                location_quotients(t, by=by)
                location_quotients(t, by=by, reference=ref.layer(level)["region"])
    with step("ranks (EPCI in département, départements in région)"):
        ranks(tables["epci"], peer_groups(ref.epci, "departement"))
        ranks(tables["departement"], peer_groups(ref.departements, "region"))
    # previous quarter: 2 % of the SIRET absent, 1 % 800 m away (built outside the timing)
    t_pause = time.perf_counter()
    c_pause = cpu_s()
    rng = np.random.default_rng(2)
    keep = rng.random(len(structures)) >= 0.02
    old = structures[["siret", "etat_administratif", "commune", "longitude", "latitude",
                      "nom", "famille_ess", "naf", "tranche_effectif"]].loc[keep].copy()
    moved = rng.random(len(old)) < 0.01
    old.loc[moved, "longitude"] = old.loc[moved, "longitude"] + 0.01
    t_all += time.perf_counter() - t_pause
    c_all += cpu_s() - c_pause
    with step("structure changes + change by territory (4 levels)"):
        change_by_levels(old, structures, communes)
    total, total_cpu = time.perf_counter() - t_all, cpu_s() - c_all
    print(f"{'TOTAL without permutation tests':<62} {total:7.2f} s wall {total_cpu:7.2f} s CPU"
          "  (target < 15 s)")
    print(f"   load average during the run: {os.getloadavg()} on {os.cpu_count()} cores")
    if not args.skip_hotspots:
        from indicators.hotspots import contiguity_weights, hot_spots

        values = tables["commune"]["structures_per_10k"]
        geom = communes.geometry
        keep = values.notna().to_numpy() & ~(geom.isna().to_numpy() | geom.is_empty.to_numpy())
        with step("Queen contiguity weights (communes with a value)"):
            w, islands = contiguity_weights(communes.loc[keep])
        print(f"   islands attached: {len(islands)}")
        with step(f"Gi* + LISA, {args.permutations} permutations, all communes"):
            hs = hot_spots(communes, values, permutations=args.permutations, weights=w)
        perm = TIMES[f"Gi* + LISA, {args.permutations} permutations, all communes"] + TIMES[
            "Queen contiguity weights (communes with a value)"]
        perm_cpu = sum(CPU[k] for k in CPU if k.startswith(("Gi*", "Queen")))
        print(f"{'TOTAL permutation tests (weights + Gi* + LISA)':<62} {perm:7.2f} s wall "
              f"{perm_cpu:7.2f} s CPU  (target < 60 s)")
        print("   Gi* classes:", hs["gi_classe"].value_counts().to_dict())
    print(f"peak RSS: {peak_rss_mb():,.0f} MB (target < 3 GB)")
    print(f"   load average at the end: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
