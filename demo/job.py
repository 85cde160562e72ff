"""The embedded demonstration job: build the ``ess`` demo snapshots once, through the real
refresh.

By default the demo covers all of France (every département, metropolitan and overseas) over
five consecutive quarters (:data:`DEMO_QUARTERS`, so that change over a year can be shown):
synthetic SIRENE files in the official Parquet edition (:mod:`demo.files`, model
:data:`demo.model.NATIONAL_MODEL`), each quarter run through the real refresh job
(:func:`etl.refresh.run_refresh` with ``demo=True``, so that every page labels them "Données
fictives de démonstration") into the series ``ess``.  ``departement="21"`` builds one
département instead (CSV edition, more non-ESS rows to filter out).

Idempotent: when the demo snapshots exist it says so and returns at once; files already
generated with the same parameters are reused and only missing snapshots are refreshed.  It
never touches snapshots built from real data, and looks only at the series ``ess`` (a real
snapshot in another series never stops it).

Called by ``python -m observatory demo`` (:mod:`cli.demo`), by the app and by the benchmarks.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

from observatory.errors import SnapshotError, explain
from observatory.wording import REAL_DATA_COMMAND

__all__ = ["DEMO_QUARTERS", "SERIE", "demo_status", "ensure_default", "ensure_demo",
           "prepare_map_assets"]

DEMO_QUARTERS = ("2025-T4", "2026-T1", "2026-T2", "2026-T3", "2026-T4")
#: The series the demo is built in (observatory.vocabulary.SERIES).
SERIE = "ess"

Say = Callable[[str], None]


def _territoire(departement: str | None) -> str:
    return "france" if departement is None else f"departement:{departement}"


def _normalise(departement: str | None) -> str | None:
    return None if departement in (None, "") else str(departement).upper().zfill(2)


def demo_status(departement: str | None = None) -> dict:
    """What the series ``ess`` holds now: ``demo`` (quarters of demo snapshots of this
    territory: France by default), ``other_demo`` (quarter -> territoire of demo snapshots of
    another territory), ``real`` (quarters of real-data snapshots)."""
    from observatory import storage

    territory = _territoire(_normalise(departement))
    status: dict = {"demo": [], "other_demo": {}, "real": []}
    for manifest in storage.list_snapshots(serie=SERIE):  # the demo builds the ess series
        quarter = manifest.get("quarter")
        if not manifest.get("demo"):
            status["real"].append(quarter)
        elif manifest.get("territoire") == territory:
            status["demo"].append(quarter)
        else:
            status["other_demo"][quarter] = manifest.get("territoire")
    return status


def _say(message: str, out: Say | None) -> None:
    (out or (lambda m: print(m, file=sys.stderr, flush=True)))(message)


def ensure_demo(*, departement: str | None = None, force: bool = False, progress: bool = True,
                out: Say | None = None, reference=None) -> list[str]:
    """Make sure the demo snapshots exist; build them when missing.

    Parameters
    ----------
    departement
        ``None`` (default): all of France.  A département code (``"21"``): that département
        only; when the national demo is present it already covers it and nothing is built
        (unless ``force``).
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
    departement = _normalise(departement)
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
    if not force:
        if set(DEMO_QUARTERS) <= set(status["demo"]):
            _say(f"Instantanés de démonstration déjà présents ({', '.join(DEMO_QUARTERS)}) : "
                 "rien à faire.", out)
            return list(DEMO_QUARTERS)
        national = {q for q, t in status["other_demo"].items() if t == "france"}
        if departement is not None and set(DEMO_QUARTERS) <= national:
            _say(f"La démonstration nationale, déjà présente, couvre le département "
                 f"{departement} : rien à faire (--force pour ne garder que ce département).",
                 out)
            return list(DEMO_QUARTERS)
    return _build_demo(departement, status["demo"] if not force else [], progress, out,
                       reference)


def _load_reference(reference, out: Say | None):
    if reference is not None:
        return reference
    from geodata.reference import load_reference, reference_exists

    if not reference_exists():
        _say("1/3 Géographie de référence absente : construction depuis les paquets "
             "(une seule fois)...", out)
    else:
        _say("1/3 Chargement de la géographie de référence...", out)
    return load_reference()


def _generation(departement: str | None):
    """Territory, model and edition of the demo files."""
    from demo.model import NATIONAL_MODEL, DemoModel

    if departement is None:
        return None, NATIONAL_MODEL, "parquet"
    return {"departement": departement}, DemoModel(), "csv"


def _reusable(folder: Path, departement: str | None) -> bool:
    """The files of every demo quarter are there, generated with the same parameters."""
    from demo.files import DEFAULT_SEED, INFO_FILE, generation_info

    territory, model, edition = _generation(departement)
    previous = None
    for quarter in DEMO_QUARTERS:
        info = folder / quarter / INFO_FILE
        if not info.is_file():
            return False
        stored = json.loads(info.read_text(encoding="utf-8"))
        stored.pop("counts", None)
        wanted = generation_info(territory, quarter, DEFAULT_SEED, model, edition, previous)
        if stored != json.loads(json.dumps(wanted)):
            return False
        previous = quarter
    return True


def _generate(departement: str | None, reference, progress: bool, out: Say | None
              ) -> tuple[Path, bool]:
    """Generate the files of the demo quarters unless reusable; returns (folder, fresh)."""
    import pyarrow as pa

    from demo.files import DEFAULT_SEED, generate_demo_quarters
    from observatory.settings import get_settings

    folder = get_settings().demo_dir
    label = "France entière" if departement is None else f"département {departement}"
    if _reusable(folder, departement):
        _say(f"2/3 Fichiers SIRENE fictifs déjà générés ({label}) : réutilisés.", out)
        return folder, False
    step = time.perf_counter()
    _say(f"2/3 Génération des fichiers SIRENE fictifs ({label}, {DEMO_QUARTERS[0]} à "
         f"{DEMO_QUARTERS[-1]}) dans {folder}...", out)
    territory, model, edition = _generation(departement)
    generate_demo_quarters(folder, reference, territory, DEMO_QUARTERS, DEFAULT_SEED,
                           model=model, edition=edition, progress=progress)
    pa.default_memory_pool().release_unused()  # the refresh job needs the memory now
    _say(f"    fichiers générés en {time.perf_counter() - step:.1f} s", out)
    return folder, True


def _build_demo(departement: str | None, present: list[str], progress: bool, out: Say | None,
                reference) -> list[str]:
    from etl.refresh import RefreshOptions, run_refresh

    started = time.perf_counter()
    reference = _load_reference(reference, out)
    folder, fresh = _generate(departement, reference, progress, out)
    todo = [q for q in DEMO_QUARTERS if fresh or q not in present]
    for number, quarter in enumerate(todo, start=1):
        step = time.perf_counter()
        _say(f"3/3 Traitement (refresh) du trimestre {quarter} ({number}/{len(todo)})...", out)
        options = RefreshOptions(quarter=quarter, sirene_dir=folder / quarter, serie=SERIE,
                                 departement=departement, replace=True, force=True, demo=True)
        result = run_refresh(options, reference=reference, progress=progress)
        _say(f"    {result.rows.get('structures')} structures, {result.rows.get('rejects')} "
             f"rejets, en {time.perf_counter() - step:.1f} s", out)
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


def ensure_default(*, departement: str | None = None, force: bool = False,
                   progress: bool = True, out: Say | None = None,
                   reference=None) -> dict[str, list[str]]:
    """The embedded default, both series: the ``ess`` demonstration (:func:`ensure_demo`)
    and the real ``insertion`` layer (:func:`etl.insertion.ensure_insertion`, from the lists
    shipped in ``real_data/insertion``).  Each is built only when missing; a real snapshot in
    one series never stops the other from being built.

    Returns
    -------
    dict
        ``{"ess": quarters, "insertion": quarters}``.
    """
    from etl.insertion import ensure_insertion

    if reference is None:
        from geodata.reference import load_reference

        reference = load_reference()
    built = {"ess": ensure_demo(departement=departement, force=force, progress=progress,
                                out=out, reference=reference)}
    built["insertion"] = ensure_insertion(reference, force=force, out=out)
    return built
