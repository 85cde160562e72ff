"""Benchmark of the reference geography: cold build, cold load, warm load, peak RSS.

Usage: ``python benchmarks/bench_reference.py [--skip-build]``.  The cold build goes to
a temporary folder (the registry packages are fetched into ``settings.packages_dir``,
once); the loads are measured in fresh subprocesses so that caches do not help.
Targets: warm load of all communes < 2 s, peak RSS < 1.5 GB.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

_LOAD = """
import json, resource, sys, time
t0 = time.perf_counter()
from geodata.reference import load_reference
t1 = time.perf_counter()
ref = load_reference(build=False, directory=sys.argv[1])
t2 = time.perf_counter()
n = len(ref.communes)
t3 = time.perf_counter()
ref.display("commune", within="59"); ref.display("departement")
t4 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "load_s": t2 - t1, "communes": n,
                  "display_s": t4 - t3,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

_BUILD = """
import json, resource, sys, time
from geodata.build import build_reference
t0 = time.perf_counter()
build_reference(force=True, progress=False, directory=sys.argv[1])
print(json.dumps({"build_s": time.perf_counter() - t0,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _run(code: str, *args: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code, *args], cwd=REPO, check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--skip-build", action="store_true",
                        help="measure loads on settings.reference_dir (built if needed)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.skip_build:
            from geodata.build import build_reference

            directory = str(build_reference(progress=False))  # no-op when already built
        else:
            directory = str(Path(tmp) / "reference")
            build = _run(_BUILD, directory)
            print(f"cold build:             {build['build_s']:7.1f} s   "
                  f"peak RSS {build['peak_rss_mb']:7.0f} MB")
        # Drop the OS page cache is not possible unprivileged: the first load after the
        # build is "cold" for Python (new process, nothing imported).
        cold = _run(_LOAD, directory)
        print(f"cold load (new process): {cold['import_s'] + cold['load_s']:6.2f} s   "
              f"(imports {cold['import_s']:.2f} s + read {cold['load_s']:.2f} s)")
        warm_runs = [_run(_LOAD, directory) for _ in range(3)]
        best = min(r["load_s"] for r in warm_runs)
        peak = max(r["peak_rss_mb"] for r in warm_runs)
        print(f"warm load of all {warm_runs[0]['communes']} communes: {best:6.2f} s "
              f"(best of 3; target < 2 s)")
        print(f"display layers (communes 59 + départements): "
              f"{warm_runs[0]['display_s']:.2f} s")
        print(f"peak RSS of a load:      {peak:7.0f} MB (target < 1536 MB)")
        t0 = time.perf_counter()
        from geodata.reference import load_reference

        load_reference(directory=directory)
        t1 = time.perf_counter()
        load_reference(directory=directory)
        print(f"in-process cache hit:    {(time.perf_counter() - t1) * 1000:6.2f} ms "
              f"(first in-process load {t1 - t0:.2f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
