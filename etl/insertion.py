"""The real insertion layer shipped in the repository, and the job that builds its snapshot.

``real_data/insertion/`` holds two real national lists, each beside its column mapping
(``<name>.mapping.yaml``) and their ``PROVENANCE.md``:

* ``siae_geiq_2021.csv``: 3 846 SIAE and GEIQ with BAN points (records of 2019-2021);
* ``esat_2026.csv``: 1 504 ESAT with their commune code (official list of 2026).

:func:`ensure_insertion` builds the snapshot of the series ``insertion`` (quarter
:data:`QUARTER`, territory ``france``, ``demo`` false) from those files through the real refresh
job (:func:`etl.refresh.run_refresh` with ``actors_dir``): the lists go through the actors
loader (:mod:`etl.actors`), their points are checked against the declared commune or
département, ESAT are placed at their commune, rows are accounted and rejected with their
reason, communes assigned, and the snapshot written atomically.  No network: nothing is
geocoded (a structure without a plausible point of its own goes to its commune).  The
vintages stated in the manifest's sources ("fiches 2019-2021", "liste officielle 2026") are
what the app shows.

Idempotent: when the series already holds a snapshot of :data:`QUARTER` built from the same
files (data and mappings, compared by sha256 in its manifest) nothing is done.  A snapshot of
that quarter built otherwise (a refresh from the live API) is kept unless ``force``.

Meant for ``python -m observatory demo`` (which builds both series, issue 12 §4), the app's first
run and the benchmarks.
"""

from __future__ import annotations

import hashlib
import sys
import time
from collections.abc import Callable
from pathlib import Path

from observatory.settings import REPO_ROOT

__all__ = ["QUARTER", "REAL_DATA_DIR", "SERIE", "ensure_insertion", "insertion_status",
           "shipped_files"]

SERIE = "insertion"
#: Quarter of the embedded snapshot: the release quarter of the shipped lists (their own
#: vintages are in the manifest's sources).
QUARTER = "2026-T4"
REAL_DATA_DIR = REPO_ROOT / "real_data" / "insertion"


def _say(message: str, out: Callable[[str], None] | None) -> None:
    (out or (lambda m: print(m, file=sys.stderr, flush=True)))(message)


def shipped_files(folder: Path = REAL_DATA_DIR) -> dict[str, str]:
    """File name -> sha256 of the shipped lists and their mappings."""
    names = sorted(p for p in Path(folder).iterdir()
                   if p.suffix in (".csv", ".yaml") and p.is_file())
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in names}


def insertion_status(folder: Path = REAL_DATA_DIR) -> dict:
    """``quarters`` of the series' snapshots (oldest first), and for :data:`QUARTER`:
    ``present`` (a snapshot exists), ``embedded`` (built from the shipped lists) and
    ``up_to_date`` (from exactly the files now shipped)."""
    from observatory import storage

    manifests = storage.list_snapshots(serie=SERIE)
    status = {"quarters": [m["quarter"] for m in manifests], "present": False,
              "embedded": False, "up_to_date": False}
    current = next((m for m in manifests if m["quarter"] == QUARTER), None)
    if current is None:
        return status
    recorded = {name: digest for source in (current.get("sources") or {}).values()
                for name, digest in (source.get("sha256") or {}).items()}
    shipped = shipped_files(folder)
    status.update(present=True, embedded=bool(set(shipped) & set(recorded)),
                  up_to_date=all(recorded.get(n) == d for n, d in shipped.items()))
    return status


def ensure_insertion(reference=None, *, force: bool = False,
                     out: Callable[[str], None] | None = None) -> list[str]:
    """Make sure the real ``insertion`` snapshot exists; build it when missing or stale.

    Parameters
    ----------
    reference
        Reference geography (default: :func:`geodata.reference.load_reference`).
    force
        Rebuild it even when up to date, or over a snapshot of the same quarter built
        otherwise.
    out
        Where to write the French progress lines (default: stderr).

    Returns
    -------
    list of str
        Quarters of the ``insertion`` series, oldest first.
    """
    from etl.refresh import RefreshOptions, run_refresh

    status = insertion_status()
    if status["up_to_date"] and not force:
        _say(f"Couche insertion (données réelles) déjà présente ({QUARTER}) : rien à faire.",
             out)
        return status["quarters"]
    if status["present"] and not status["embedded"] and not force:
        _say(f"Un instantané insertion {QUARTER} construit par un rafraîchissement existe : "
             "conservé (les listes embarquées ne le remplacent pas).", out)
        return status["quarters"]
    started = time.perf_counter()
    if reference is None:
        from geodata.reference import load_reference

        reference = load_reference()
    _say("Couche insertion : chargement des listes réelles (SIAE et GEIQ, fiches 2019-2021 ; "
         "ESAT, liste officielle 2026)...", out)
    options = RefreshOptions(quarter=QUARTER, serie=SERIE, actors_dir=REAL_DATA_DIR,
                             geocode=False, replace=status["present"], force=True, demo=False)
    result = run_refresh(options, reference=reference, progress=False)
    _say(f"Couche insertion prête : {result.rows.get('structures')} structures, "
         f"{result.rows.get('rejects')} rejets, en {time.perf_counter() - started:.1f} s.", out)
    return insertion_status()["quarters"]
