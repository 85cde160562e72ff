"""The embedded demonstration job: build the demo snapshots once, through the real refresh.

Builds two demo snapshots (``2026-T3`` and ``2026-T4``) from synthetic SIRENE files generated
over the real geography of a département (:mod:`demo.files`), through the real refresh job
(:func:`etl.refresh.run_refresh` with ``demo=True``, so that the app labels them "Données
fictives de démonstration").  Idempotent: when the demo snapshots exist it says so and returns
at once.  It never touches snapshots built from real data.

Called by ``python -m observatory demo`` (:mod:`cli.demo`), by the app on its first run and by
the benchmarks.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from observatory.errors import SnapshotError, explain
from observatory.wording import REAL_DATA_COMMAND

__all__ = ["DEMO_QUARTERS", "demo_status", "ensure_demo", "prepare_map_assets"]

DEMO_QUARTERS = ("2026-T3", "2026-T4")


def demo_status(departement: str = "21") -> dict:
    """What exists now: ``demo`` (quarters of demo snapshots of this territory), ``other_demo``
    (demo snapshots of another territory), ``real`` (quarters of real-data snapshots)."""
    from observatory import storage

    territory = f"departement:{departement}"
    status: dict = {"demo": [], "other_demo": [], "real": []}
    for manifest in storage.list_snapshots(serie="ess"):  # the demo builds the ess series
        quarter = manifest.get("quarter")
        if not manifest.get("demo"):
            status["real"].append(quarter)
        elif manifest.get("territoire") == territory:
            status["demo"].append(quarter)
        else:
            status["other_demo"].append(quarter)
    return status


def _say(message: str, out: Callable[[str], None] | None) -> None:
    (out or (lambda m: print(m, file=sys.stderr, flush=True)))(message)


def ensure_demo(departement: str = "21", *, force: bool = False, progress: bool = True,
                out: Callable[[str], None] | None = None, reference=None) -> list[str]:
    """Make sure the demo snapshots exist; build them when missing.

    Parameters
    ----------
    departement
        Demo territory (default ``"21"``, Côte-d'Or).
    force
        Rebuild them even if present (demo snapshots only).
    progress
        Progress bars of the generator and of the refresh job.
    out
        Where to write the French progress lines (default: stderr).
    reference
        Reference geography (default: :func:`geodata.reference.load_reference`, built from
        the registry packages on first use).

    Returns
    -------
    list of str
        Quarters of the demo snapshots, oldest first (empty when real data is present and
        the demo was therefore not built).

    Raises
    ------
    SnapshotError
        A demo quarter is taken by a snapshot of real data and ``force`` was asked.
    """
    departement = str(departement).upper().zfill(2)
    status = demo_status(departement)
    if status["real"] and not force:
        _say(f"Données réelles présentes ({', '.join(status['real'])}) : pas de démonstration.",
             out)
        return []
    clash = sorted(set(status["real"]) & set(DEMO_QUARTERS))
    if clash:
        raise SnapshotError(explain(
            f"The demo quarters {clash} hold snapshots built from real data.",
            "The demo never overwrites real data.",
            "Keep the real snapshots, or remove them yourself before rebuilding the demo.",
        ))
    if set(DEMO_QUARTERS) <= set(status["demo"]) and not force:
        _say(f"Instantanés de démonstration déjà présents ({', '.join(DEMO_QUARTERS)}) : "
             "rien à faire.", out)
        return list(DEMO_QUARTERS)
    return _build_demo(departement, progress, out, reference)


def _build_demo(departement: str, progress: bool, out, reference) -> list[str]:
    from demo.files import generate_demo_quarters
    from etl.refresh import RefreshOptions, run_refresh
    from observatory.settings import get_settings

    started = time.perf_counter()
    settings = get_settings()
    if reference is None:
        from geodata.reference import load_reference, reference_exists

        if not reference_exists():
            _say("1/4 Géographie de référence absente : construction depuis les paquets "
                 "(une seule fois)...", out)
        else:
            _say("1/4 Chargement de la géographie de référence...", out)
        reference = load_reference()
    step = time.perf_counter()
    _say(f"2/4 Génération des fichiers SIRENE fictifs ({departement}, "
         f"{' et '.join(DEMO_QUARTERS)}) dans {settings.demo_dir}...", out)
    paths = generate_demo_quarters(settings.demo_dir, reference, {"departement": departement},
                                   DEMO_QUARTERS, progress=progress)
    _say(f"    fichiers générés en {time.perf_counter() - step:.1f} s", out)
    for number, quarter in enumerate(DEMO_QUARTERS, start=3):
        step = time.perf_counter()
        _say(f"{number}/4 Traitement (refresh) du trimestre {quarter}...", out)
        options = RefreshOptions(quarter=quarter, sirene_dir=paths[quarter]["etablissement"].parent,
                                 departement=departement, replace=True, force=True, demo=True)
        result = run_refresh(options, reference=reference, progress=progress)
        _say(f"    {result.rows.get('structures')} structures en "
             f"{time.perf_counter() - step:.1f} s", out)
    _say(f"Démonstration prête en {time.perf_counter() - started:.1f} s (données fictives, "
         "géographie réelle). Pour charger les données réelles : " + REAL_DATA_COMMAND, out)
    return list(DEMO_QUARTERS)


def prepare_map_assets() -> None:
    """Fetch Leaflet once (npm registry) so that the app's maps work offline afterwards."""
    from observatory.assets import ensure_map_assets

    try:
        ensure_map_assets()
    except (OSError, ValueError) as exc:  # the app retries on its first map
        _say(f"Fichiers de cartographie (Leaflet) non préparés : {exc}", None)
