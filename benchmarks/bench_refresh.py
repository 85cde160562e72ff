"""Benchmark: the national refresh end to end, and commune assignment vs a plain sjoin.

Usage::

    python benchmarks/bench_refresh.py [INPUT_DIR] [--ess 1500000]

``INPUT_DIR`` holds national SIRENE files in the official format; when it lacks them they are
generated first by ``benchmarks/make_national_input.py`` (default
``$TMPDIR/observatoire-bench-national/2026-T4``, never inside the repository).

1. ``run_refresh`` (national, quarter 2026-T4, ``demo=True``) runs in a child process with
   ``OBSERVATOIRE_DATA_DIR`` in a temporary folder: wall time and the child's peak RSS.
   Targets (issue): < 5 minutes, peak RSS < 4 GB.
2. On the located structures of that snapshot, ``etl.assign.assign_communes`` and
   ``geopandas.sjoin(predicate="within")`` run side by side in this process on the same points
   (target: assignment at least twice as fast).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

__all__ = ["main"]


def _peak_mb(who=resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


def _child(input_dir: str) -> None:
    """Run the refresh (in the child process) and print its result as JSON."""
    from etl.refresh import RefreshOptions, run_refresh

    started = time.perf_counter()
    result = run_refresh(RefreshOptions(quarter="2026-T4", sirene_dir=Path(input_dir),
                                        demo=True, replace=True, force=True), progress=True)
    print("RESULT " + json.dumps({
        "duration_s": time.perf_counter() - started, "structures": result.rows,
        "accounting": result.accounting, "path": str(result.path),
        "assignment": result.assignment, "peak_rss_mb": _peak_mb()}, default=str))


def _refresh(input_dir: Path, data_dir: Path) -> dict:
    env = dict(os.environ, OBSERVATOIRE_DATA_DIR=str(data_dir))
    if "OBSERVATOIRE_REFERENCE_DIR" not in env:
        from observatory.settings import get_settings

        env["OBSERVATOIRE_REFERENCE_DIR"] = str(get_settings().reference_dir)
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, __file__, "--child", str(input_dir)], env=env,
                          stdout=subprocess.PIPE, text=True, check=True)
    wall = time.perf_counter() - started
    line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULT "))
    out = json.loads(line[len("RESULT "):])
    out["wall_s"] = wall
    return out


def _assign_vs_sjoin(snapshot_path: Path) -> None:
    import geopandas as gpd
    import numpy as np
    import pandas as pd

    from etl.assign import assign_communes
    from geodata.reference import load_reference

    reference = load_reference()
    frame = pd.read_parquet(snapshot_path / "structures.parquet")
    frame = frame.drop(columns=["geometry"], errors="ignore")
    frame = frame[frame["longitude"].notna()].reset_index(drop=True)
    for column in ("commune", "epci", "departement", "region"):
        frame[column] = pd.array([None] * len(frame), dtype="string")
    n = len(frame)
    t0 = time.perf_counter()
    result = assign_communes(frame, reference.communes, reference.code_changes)
    ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(frame["longitude"], frame["latitude"]),
                              crs="EPSG:4326")
    joined = gpd.sjoin(points, reference.communes[["geometry"]], predicate="within", how="left")
    plain = time.perf_counter() - t0
    joined = joined[~joined.index.duplicated(keep=False)]
    right = "code" if "code" in joined else "index_right"
    placed = joined[right].dropna()
    mine = result.structures["commune"].to_numpy(dtype=object)[placed.index.to_numpy()]
    agree = float(np.mean(mine == placed.to_numpy(dtype=object)))
    print(f"assignment on {n:,} snapshot points (same process, same points):")
    print(f"  etl.assign.assign_communes : {ours:7.2f} s  {n / ours:12,.0f} points/s")
    print(f"  geopandas.sjoin(within)    : {plain:7.2f} s  {n / plain:12,.0f} points/s")
    print(f"  speed ratio: {plain / ours:.2f}x (target >= 2x); agreement {agree:.6f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="national refresh benchmark")
    parser.add_argument("input_dir", nargs="?", type=Path, default=None)
    parser.add_argument("--ess", type=int, default=1_500_000)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--skip-assign", action="store_true")
    args = parser.parse_args(argv)
    if args.child:
        _child(str(args.input_dir))
        return 0
    from make_national_input import default_output, make_national_input

    input_dir = args.input_dir or default_output()
    if not (input_dir / "StockEtablissement_utf8.csv").is_file():
        print(f"generating the national input into {input_dir} ...", flush=True)
        info = make_national_input(input_dir, args.ess)
        print(f"  generated in {info['duration_s']:.1f} s: {info['counts']}")
    sizes = {p.name: round(p.stat().st_size / 1e6) for p in input_dir.glob("*.csv")}
    print(f"input: {input_dir} (MB: {sizes})", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-refresh-") as data_dir:
        out = _refresh(input_dir, Path(data_dir))
        acc = out["accounting"]
        print(f"run_refresh (national, child process): {out['duration_s']:.1f} s "
              f"(wall {out['wall_s']:.1f} s, target < 300 s), peak RSS "
              f"{_peak_mb(resource.RUSAGE_CHILDREN):,.0f} MB (target < 4 096 MB)")
        print(f"  rows: {out['structures']}; sirene read {acc['sirene']['read']:,}, kept "
              f"{acc['sirene']['kept']:,}, rejected {acc['sirene']['rejected']:,}, filtered "
              f"{acc['sirene'].get('filtered', 0):,}")
        print(f"  assignment stats: {out['assignment']}")
        if not args.skip_assign:
            _assign_vs_sjoin(Path(out["path"]))
    print(f"peak RSS of this process: {_peak_mb():,.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
