"""Benchmark: ``python -m observatory demo`` for Côte-d'Or from scratch (target < 60 s).

Runs the command in a child process with ``OBSERVATOIRE_DATA_DIR`` in a fresh temporary
folder (the reference geography is reused from the usual place; pass ``--with-reference`` to
build it too), then runs it a second time (idempotent: it must only check).  Prints wall
times and the child's peak RSS.  Also times the file generation alone.

Usage: ``python benchmarks/bench_demo.py [--departement 21] [--with-reference]``
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def _run(env: dict, departement: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "observatory", "demo", "--departement", departement],
                   cwd=REPO, env=env, check=True, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="time the demo command from scratch")
    parser.add_argument("--departement", default="21")
    parser.add_argument("--with-reference", action="store_true",
                        help="also build the reference geography in the fresh folder")
    args = parser.parse_args(argv)
    from observatory.settings import get_settings

    with tempfile.TemporaryDirectory(prefix="bench-demo-") as tmp:
        env = dict(os.environ, OBSERVATOIRE_DATA_DIR=tmp)
        if not args.with_reference:
            env["OBSERVATOIRE_REFERENCE_DIR"] = str(get_settings().reference_dir)
        first = _run(env, args.departement)
        second = _run(env, args.departement)
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"demo --departement {args.departement} from scratch: {first:.1f} s "
              f"(target < 60 s){' incl. reference build' if args.with_reference else ''}")
        print(f"second run (idempotent check): {second:.1f} s; peak RSS of the children "
              f"{peak:,.0f} MB")

        from demo.files import generate_demo_quarters
        from geodata.reference import load_reference

        os.environ.setdefault("OBSERVATOIRE_REFERENCE_DIR", env.get(
            "OBSERVATOIRE_REFERENCE_DIR", str(Path(tmp) / "reference")))
        reference = load_reference()
        started = time.perf_counter()
        generate_demo_quarters(Path(tmp) / "files", reference,
                               {"departement": args.departement})
        print(f"file generation alone (two quarters): {time.perf_counter() - started:.1f} s "
              "(target well under 10 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
