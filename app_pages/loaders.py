"""Cached loaders of the app: reference, series of snapshots, indicator tables, map assets.

Everything derived from a snapshot is keyed by ``(serie, quarter)``: the perimeter ``ess``
and the perimeter ``insertion`` are two series of snapshots side by side (docs/
architecture.md, SERIES_API).  A store with a single series shows that one (a manifest
without ``serie`` is read as ``ess``).

Big read-only frames are cached with ``st.cache_resource`` (shared by every session, never
mutated by the pages); small lists with ``st.cache_data``.  After the first page is drawn,
:func:`warm_up` prepares the other pages' data in a background thread.
"""

from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pandas as pd
import streamlit as st

from app_pages import coverage, logic
from render import maps

__all__ = [
    "DEFAULT_SERIE",
    "active",
    "changes_by_level",
    "commune_base",
    "coverage_of",
    "data_context",
    "density",
    "display_layer",
    "france_at",
    "indicator_table",
    "load_reference",
    "load_snapshot",
    "name_rank",
    "map_assets",
    "light_structures",
    "release_memory",
    "scope",
    "search_haystack",
    "series_quarters",
    "table_at",
    "tiles",
    "warm_up",
]

DEFAULT_SERIE = "ess"
log = logging.getLogger(__name__)


class DataUnavailableError(RuntimeError):
    """No snapshot can be shown (the page says so in French)."""


# --------------------------------------------------------------------------- reference
@st.cache_resource(show_spinner="Chargement de la géographie de référence…")
def load_reference():
    """The reference geography (read-only; shared by every session)."""
    from geodata.reference import load_reference as _load

    return _load()


# --------------------------------------------------------------------------- snapshots
@st.cache_resource(show_spinner="Préparation des données de démonstration…", ttl=60)
def _ensure_data() -> list[dict]:
    """Manifests of every snapshot of every series; builds the demo on a fresh clone.
    Re-read every minute, so that a refresh run by staff shows without a restart."""
    from observatory import storage

    snapshots = storage.list_snapshots()  # every series
    if not any(m.get("serie", DEFAULT_SERIE) == DEFAULT_SERIE for m in snapshots):
        from demo.job import ensure_default

        ensure_default(progress=False)  # the embedded default: both series, all France
        snapshots = storage.list_snapshots()
    return snapshots


def series_quarters() -> dict[str, list[dict]]:
    """Manifests grouped by series (``serie`` of the manifest, ``ess`` when absent), oldest
    quarter first; the default series first."""
    grouped: dict[str, list[dict]] = {}
    for manifest in _ensure_data():
        grouped.setdefault(str(manifest.get("serie") or DEFAULT_SERIE), []).append(manifest)
    for manifests in grouped.values():
        manifests.sort(key=lambda m: str(m.get("quarter")))
    return dict(sorted(grouped.items(), key=lambda kv: (kv[0] != DEFAULT_SERIE, kv[0])))


#: Columns of the structures the pages never read (dropped once loaded: memory).
_UNUSED = ("millesimes", "geometry")
#: Columns an indicator table needs (earlier quarters are read with these only).
LIGHT_COLUMNS = ("identifiant", "siret", "etat_administratif", "commune", "departement",
                 "famille_ess", "naf", "naf_section", "tranche_effectif", "annee_effectif",
                 "longitude", "latitude")


@st.cache_resource(show_spinner="Chargement de l'instantané…", max_entries=4)
def load_snapshot(serie: str, quarter: str) -> SimpleNamespace:
    """The latest snapshot of a series as the pages use it: its **active** structures (every
    page and indicator counts active structures only; a national snapshot holds hundreds
    of thousands of closed ones), its rejects and its manifest; read-only."""
    from observatory import storage

    snap = storage.load_snapshot(quarter, serie=serie, active_only=True, without=_UNUSED)
    loaded = SimpleNamespace(quarter=snap.quarter, serie=serie, manifest=snap.manifest,
                             rejects=snap.rejects,
                             structures=pd.DataFrame(snap.structures).reset_index(drop=True))
    release_memory()
    return loaded


def release_memory() -> None:
    """Give back to the system what Arrow's allocator kept from finished work.  Reading a
    national snapshot leaves its decoding buffers in the allocator's free lists: 949 MB
    resident after the read, 514 MB after this call (the frame itself is 316 MB)."""
    import pyarrow as pa

    pa.default_memory_pool().release_unused()


def _manifest(serie: str, quarter: str) -> dict:
    return next(m for m in series_quarters().get(serie, []) if m["quarter"] == quarter)


def light_structures(serie: str, quarter: str, columns=LIGHT_COLUMNS,
                     active_only: bool = False) -> pd.DataFrame:
    """Some columns of a snapshot's structures, read from its file (not cached): what the
    indicators of an earlier quarter, or the change between two quarters, need.
    ``active_only``: the active structures only, filtered while reading."""
    import pyarrow.parquet as pq

    from observatory import storage

    path = Path(_manifest(serie, quarter)["path"]) / "structures.parquet"
    present = set(pq.read_schema(path).names)
    return storage.read_structures(path, [c for c in columns if c in present],
                                   active_only=active_only)


def data_context(serie: str) -> logic.Context:
    """Reference and the snapshots of ``serie`` (the latest is shown).

    Raises DataUnavailableError (French message) when nothing can be shown."""
    try:
        if not _reference_built():
            load_reference()  # fresh clone: build it first, the demo build needs it too
        with ThreadPoolExecutor(max_workers=2) as pool:  # parquet reads release the GIL
            reference_job = pool.submit(_quiet(load_reference))
            grouped = series_quarters()
            manifests = grouped.get(serie) or []
            if manifests:
                load_snapshot(serie, manifests[-1]["quarter"])
            reference = reference_job.result()
    except (ImportError, FileNotFoundError, RuntimeError, ValueError, OSError) as exc:
        log.exception("data unavailable")
        raise DataUnavailableError("Les données de l'observatoire ne sont pas disponibles "
                              f"({type(exc).__name__}). Le personnel trouvera le détail dans "
                              "le journal du serveur.") from exc
    if not manifests:
        raise DataUnavailableError("Aucun instantané n'est disponible pour ce périmètre.")
    quarters = [str(m["quarter"]) for m in manifests]
    return logic.Context(reference=reference, snapshots=manifests, quarter=quarters[-1],
                         previous=quarters[-2] if len(quarters) > 1 else None,
                         snapshot=load_snapshot(serie, quarters[-1]), serie=serie,
                         series=list(grouped))


def _reference_built() -> bool:
    from geodata.reference import reference_exists

    try:
        return reference_exists()
    except (OSError, ValueError):
        return False


def _quiet(function):
    """Run a cached loader from a worker thread without Streamlit's context warnings."""
    def run():
        logger = logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context")
        level = logger.level
        logger.setLevel(logging.ERROR)
        try:
            return function()
        finally:
            logger.setLevel(level)
    return run


def _prefetch_imports() -> None:
    """Import the modules the pages need while the reference is being read."""
    import indicators.table
    import indicators.zones

    _ = (indicators.table, indicators.zones)


def preload() -> None:
    """At server start (``app.py`` lifespan): imports, reference, the latest snapshot of each
    series, so that the first visitor does not wait.  Errors are left for the page to report
    in French."""
    try:
        _quiet(_prefetch_imports)()
        if _reference_built():
            _quiet(load_reference)()
            grouped = _quiet(series_quarters)()
            for serie, manifests in grouped.items():
                quarters = [m["quarter"] for m in manifests]
                _quiet(lambda s=serie, q=quarters[-1]: load_snapshot(s, q))()
            if DEFAULT_SERIE in grouped:  # what the first page (Comparer, EPCI) shows
                _quiet(lambda: _first_page(DEFAULT_SERIE, [str(m["quarter"]) for m in
                                                           grouped[DEFAULT_SERIE]]))()
            release_memory()
            # the warm-up starts after the first page is drawn (navigation.py): started
            # here, it would hold the interpreter while the first visitor waits
    except Exception:
        log.exception("preload failed; the first page will retry")


def _first_page(serie: str, quarters: list[str]) -> None:
    """What Comparer's first view needs besides the snapshot: indicators and coverage of
    the levels it shows, the France row of its references, and the previous quarter for its
    map of change (reading and computing that quarter is most of a cold first page)."""
    latest = quarters[-1]
    for level in ("epci", "departement", "region"):
        indicator_table(serie, latest, level)
        coverage_of(serie, latest, level)
    france_at(serie, latest)
    if len(quarters) > 1:
        _past_tables(serie, quarters[-2])


_WARM: set[tuple[str, str]] = set()
_WARM_LOCK = threading.Lock()


def warm_up() -> None:
    """After a page is drawn: compute, once per process and in the background, what the
    other pages need (every level, the earlier quarters for the charts)."""
    try:
        grouped = series_quarters()
    except Exception:
        return
    _start_warm_up(grouped)


def _start_warm_up(grouped: dict[str, list[dict]]) -> None:
    todo = []
    with _WARM_LOCK:
        if os.environ.get("OBSERVATOIRE_NO_WARMUP"):
            return
        for serie, manifests in grouped.items():
            quarters = [str(m["quarter"]) for m in manifests]
            if quarters and (serie, quarters[-1]) not in _WARM:
                _WARM.add((serie, quarters[-1]))
                todo.append((serie, quarters))
    if not todo:
        return

    def work() -> None:
        for serie, quarters in todo:
            if serie != DEFAULT_SERIE:  # its Comparer view, as the preload did for the default
                _first_page(serie, quarters)
            for level in ("departement", "epci", "commune", "region"):
                indicator_table(serie, quarters[-1], level)
            search_haystack(serie, quarters[-1])  # the directory's first search
            name_rank(serie, quarters[-1])  # and its table in name order
        for serie, quarters in todo:
            for quarter in reversed(quarters[:-1]):  # the previous quarter first
                _past_tables(serie, quarter)
                release_memory()
            if len(quarters) > 1:  # the staff page's change table
                changes_by_level(serie, quarters[-2], quarters[-1])

    threading.Thread(target=_quiet(work), name="observatoire-warm-up", daemon=True).start()


# --------------------------------------------------------------------------- derived frames
@st.cache_resource(max_entries=8, show_spinner=False)
def scope(serie: str, quarter: str) -> gpd.GeoDataFrame:
    """Communes covered by a snapshot (see :func:`app_pages.logic.scope_communes`)."""
    return logic.scope_communes(load_reference(), load_snapshot(serie, quarter))


def active(serie: str, quarter: str) -> pd.DataFrame:
    """Active structures of a snapshot (read-only; the loaded snapshot keeps only those).
    Checked once per loaded snapshot, not at each call: a directory run calls this six
    times, and the check reads 650 000 rows of a national snapshot (about 9 ms each)."""
    snap = load_snapshot(serie, quarter)
    kept = getattr(snap, "actives", None)
    if kept is None:
        structures = snap.structures
        mask = (structures["etat_administratif"] == "A").to_numpy(dtype=bool)
        kept = structures if mask.all() else structures[mask]
        snap.actives = kept  # same answer from any thread: a race only computes it twice
    return kept


@st.cache_resource(max_entries=4, show_spinner="Préparation de la recherche…")
def search_haystack(serie: str, quarter: str) -> pd.Series:
    """Folded text the directory searches, aligned with :func:`active` (name, enseigne,
    SIRET, address; a few seconds for a national snapshot, prepared by the warm-up)."""
    from app_pages import tables

    return tables.search_text(active(serie, quarter))


@st.cache_resource(max_entries=4, show_spinner=False)
def name_rank(serie: str, quarter: str) -> np.ndarray:
    """Rank of each active structure in name order (:func:`app_pages.tables.name_rank`,
    from the search text), aligned with :func:`active`, whose row labels are positions."""
    from app_pages import tables

    return tables.name_rank(active(serie, quarter), key=search_haystack(serie, quarter))


@st.cache_resource(max_entries=32, show_spinner=False)
def coverage_of(serie: str, quarter: str, level: str) -> pd.DataFrame:
    """Coverage of the territories of ``level`` (:func:`app_pages.coverage.coverage_table`)."""
    return coverage.coverage_table(load_reference().communes, scope(serie, quarter).index,
                                   level)


@st.cache_resource(max_entries=8, show_spinner=False)
def density(serie: str, quarter: str) -> pd.DataFrame:
    """Density levels of the scope's communes: the INSEE grid if downloaded, else the
    approximation of :mod:`geodata.density_grid` (labelled ``source = "approximation"``)."""
    from geodata import density_grid
    from observatory.settings import get_settings

    communes = scope(serie, quarter)
    grid = None
    for path in sorted(get_settings().downloads_dir.glob("**/*densit*.xlsx")):
        try:
            grid = density_grid.read_density_grid(path)
            break
        except (ValueError, OSError):
            continue
    try:
        return density_grid.density_levels(communes, grid)
    except ValueError:
        return density_grid.density_levels(communes, None)


@st.cache_resource(show_spinner="Calcul des indicateurs…", max_entries=16)
def commune_base(serie: str, quarter: str) -> pd.DataFrame:
    """Extensive indicators per commune of the scope (computed once, rolled up per level)."""
    from indicators.table import commune_base as _base

    return _base(load_snapshot(serie, quarter).structures, scope(serie, quarter),
                 density=density(serie, quarter))


@st.cache_resource(show_spinner="Calcul des indicateurs…", max_entries=64)
def indicator_table(serie: str, quarter: str, level: str) -> pd.DataFrame:
    """Indicators of every territory of ``level`` in the snapshot's scope (read-only)."""
    ref = load_reference()
    names = None if level == "commune" else logic.layer(ref, level)["nom"]
    return logic.compute_table(load_snapshot(serie, quarter).structures, scope(serie, quarter),
                               level, base=commune_base(serie, quarter), names=names,
                               density=density(serie, quarter))


#: Columns kept of an earlier quarter's tables (key figures, change, history charts).
PAST_COLUMNS = ("nom", "population", "structures", "structures_per_10k",
                "structures_per_100km2", "emplois_estimes", "distance_moyenne_km",
                "part_population_plus_10km", "part_population_couverte")


@st.cache_resource(show_spinner="Calcul des indicateurs des trimestres précédents…",
                   max_entries=16)
def _past_tables(serie: str, quarter: str) -> dict[str, pd.DataFrame]:
    """The main indicators of an earlier quarter at every level, computed from a few
    columns of its file (its full snapshot is never kept in memory)."""
    from indicators.scope import covered_communes
    from indicators.table import commune_base as _base

    ref = load_reference()
    structures = light_structures(serie, quarter, active_only=True)
    communes = covered_communes(ref.communes, _manifest(serie, quarter).get("territoire"),
                                structures)
    from geodata import density_grid

    dens = density_grid.density_levels(communes, None)
    base = _base(structures, communes, density=dens)
    out = {}
    for level in ("commune", "epci", "departement", "region"):
        names = None if level == "commune" else logic.layer(ref, level)["nom"]
        table = logic.compute_table(structures, communes, level, base=base, names=names,
                                    density=dens)
        out[level] = table[[c for c in PAST_COLUMNS if c in table.columns]].copy()
    if len(communes) == len(ref.communes):  # all of France: its own row
        out["france"] = _france_row(structures, communes, base)
    return out


@st.cache_resource(show_spinner="Comparaison des instantanés…", max_entries=4)
def changes_by_level(serie: str, previous: str, current: str) -> dict[str, pd.DataFrame]:
    """The change table between two quarters at every level, restricted to the scope
    (:func:`indicators.change.change_by_levels`: structures matched once for the four
    levels).  The previous quarter is read active structures only: a structure closed then
    and active now is « nouveau » either way, and one closed then and not active now is in
    no column of the table.  Prepared by the warm-up for the staff page."""
    from indicators.change import change_by_levels

    communes = scope(serie, current)
    columns = ["identifiant", "siret", "etat_administratif", "commune", "longitude",
               "latitude"]
    now = load_snapshot(serie, current).structures
    tables = change_by_levels(light_structures(serie, previous, columns, active_only=True),
                              now[[c for c in columns if c in now.columns]], communes)
    out = {}
    for level, table in tables.items():
        keep = communes.index if level == "commune" else communes[level].dropna().unique()
        out[level] = table[logic.among(table.index, keep)].drop(columns=["motif_na"],
                                                               errors="ignore")
    release_memory()  # the previous quarter's file was read for this
    return out


def _france_row(structures, communes, base) -> pd.DataFrame:
    from indicators.table import indicator_table as _table

    row = _table(structures, communes, groups=pd.Series("FR", index=communes.index),
                 base=base)
    row["nom"] = "France"
    return row


@st.cache_resource(max_entries=4, show_spinner=False)
def _france_latest(serie: str, quarter: str) -> pd.DataFrame:
    return _france_row(load_snapshot(serie, quarter).structures, scope(serie, quarter),
                       commune_base(serie, quarter))


def france_at(serie: str, quarter: str) -> pd.DataFrame | None:
    """Indicators of France as a whole in a quarter (None unless the snapshot covers all of
    France)."""
    quarters = [m["quarter"] for m in series_quarters().get(serie, [])]
    if quarters and quarter == quarters[-1]:
        if len(scope(serie, quarter)) < len(load_reference().communes):
            return None
        return _france_latest(serie, quarter)
    return _past_tables(serie, quarter).get("france")


def table_at(serie: str, quarter: str, level: str) -> pd.DataFrame:
    """Indicators of ``level`` in any quarter: the full table for the latest quarter, the
    main columns (:data:`PAST_COLUMNS`) for an earlier one."""
    quarters = [m["quarter"] for m in series_quarters().get(serie, [])]
    if quarters and quarter == quarters[-1]:
        return indicator_table(serie, quarter, level)
    return _past_tables(serie, quarter)[level]


@st.cache_resource(max_entries=32, show_spinner=False)
def display_layer(level: str, within: tuple[str, str] | None = None) -> gpd.GeoDataFrame:
    """Simplified geometries for maps (``within`` = (level, code) of the parent)."""
    return logic.display_geometries(load_reference(), level, within)


# --------------------------------------------------------------------------- map assets
@st.cache_resource(show_spinner=False)
def map_assets() -> dict[str, str]:
    """URL paths of the Leaflet files served by the app (fetched once from npm if missing)."""
    try:
        from observatory.assets import ensure_map_assets

        return maps.map_assets(ensure_map_assets())
    except Exception:
        log.exception("Leaflet assets not prepared")
        st.warning("Les fichiers de cartographie n'ont pas pu être préparés : la carte peut "
                   "ne pas s'afficher. Le détail est dans le journal du serveur.")
        return maps.map_assets()


# --------------------------------------------------------------------------- tiles
_TILE_STATE: dict[str, object] = {}


def _probe_tiles() -> None:
    from observatory import catalog, http

    for name in ("tiles_ign_plan", "tiles_osm"):
        try:
            source = catalog.get_source(name)
            url = source.url.replace("{z}", "5").replace("{x}", "16").replace("{y}", "11")
            http.get(url, use_cache=False, timeout=3, retries=0)
        except Exception:
            continue
        _TILE_STATE["spec"] = maps.TileSpec(source.url, html_credit(source), source.title)
        return


def html_credit(source) -> str:
    """Attribution of a tile source (escaped)."""
    import html

    return html.escape(getattr(source, "attribution", None)
                       or f"{source.producer} — {source.licence}")


def tiles() -> maps.TileSpec | None:
    """A tile layer when a tile server answered, else ``None`` (never blocks the page).

    The probe runs once in the background; offline mode disables it.
    """
    from observatory.settings import get_settings

    try:
        if get_settings().offline:
            return None
    except ValueError:
        return None
    if "thread" not in _TILE_STATE:
        thread = threading.Thread(target=_probe_tiles, daemon=True)
        _TILE_STATE["thread"] = thread
        thread.start()
    return _TILE_STATE.get("spec")  # type: ignore[return-value]
