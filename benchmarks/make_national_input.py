"""Build France-wide demo SIRENE files for the benchmarks (never inside the git repository).

Usage::

    python benchmarks/make_national_input.py [OUT_DIR] [--ess 1500000] [--seed 2026]
        [--edition csv|parquet]

``OUT_DIR`` defaults to ``$TMPDIR/observatoire-bench-national/2026-T4`` (``/tmp`` when TMPDIR
is unset).  The files are the demo generator's (:mod:`demo.files`) over the real geography of
all France, with the model's counts scaled so that the ESS establishments (active + closed)
number about ``--ess`` (default 1.5 million), among about three times as many non-ESS rows
(the département-scale model, heavier than the national demo of ``python -m observatory
demo``, so that the refresh benchmark reads a stock of realistic size).  Prints the
duration, the row counts, the file sizes and the peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

__all__ = ["default_output", "make_national_input", "scale_for"]


def default_output() -> Path:
    """``$TMPDIR/observatoire-bench-national/2026-T4``."""
    return Path(os.environ.get("TMPDIR") or tempfile.gettempdir()) \
        / "observatoire-bench-national" / "2026-T4"


def scale_for(reference, ess_target: int) -> float:
    """Scale factor of the demo model giving about ``ess_target`` ESS establishment rows."""
    from demo.model import DemoModel, area_km2, expected_active_ess

    model = DemoModel()
    communes = reference.communes
    lam = expected_active_ess(communes["population"].fillna(0).to_numpy(float),
                              area_km2(communes), model,
                              communes["departement"].astype(str).to_numpy())
    return ess_target / (lam.sum() * (1 + model.closed_per_active))


def make_national_input(out_dir: Path, ess_target: int = 1_500_000, seed: int = 2026,
                        reference=None, edition: str = "csv") -> dict:
    """Write the national files into ``out_dir``; return the generation info (with timings)."""
    out_dir = Path(out_dir).resolve()
    if REPO in out_dir.parents or out_dir == REPO:
        raise SystemExit(f"Refusing to write benchmark input inside the repository: {out_dir}")
    from demo.files import generate_demo_files
    from demo.model import DemoModel

    if reference is None:
        from geodata.reference import load_reference

        reference = load_reference()
    scale = scale_for(reference, ess_target)
    started = time.perf_counter()
    paths = generate_demo_files(out_dir, reference, None, "2026-T4", seed,
                                model=DemoModel(scale=scale), edition=edition, progress=True)
    info = json.loads(paths["info"].read_text(encoding="utf-8"))
    info["duration_s"] = time.perf_counter() - started
    info["sizes_mb"] = {k: round(p.stat().st_size / 1e6, 1) for k, p in paths.items()}
    info["scale"] = scale
    return info


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", nargs="?", type=Path, default=None)
    parser.add_argument("--ess", type=int, default=1_500_000,
                        help="target number of ESS establishment rows (default 1 500 000)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--edition", choices=("csv", "parquet"), default="csv",
                        help="SIRENE edition of the stock files (default csv)")
    args = parser.parse_args(argv)
    out = args.out_dir or default_output()
    info = make_national_input(out, args.ess, args.seed, edition=args.edition)
    counts = info["counts"]
    ess = counts["ess_actifs"] + counts["ess_fermes"]
    other = counts["hors_ess_actifs"] + counts["hors_ess_fermes"]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"national input in {out}")
    print(f"  ESS establishments: {ess:,} (active {counts['ess_actifs']:,}); "
          f"non-ESS rows: {other:,}; units: {counts['lignes_unite_legale']:,}; "
          f"géolocalisé rows: {counts['lignes_geolocalisation']:,}")
    print(f"  scale of the model: {info['scale']:.3f}; sizes (MB): {info['sizes_mb']}")
    print(f"  generation: {info['duration_s']:.1f} s, peak RSS {peak:,.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
