"""Cached loaders of the app: reference, snapshots, indicator tables, map assets, tiles.

Big read-only frames are cached with ``st.cache_resource`` (shared by every session, never
mutated by the pages); everything is computed once per process and reused.  After the first
page is drawn, :func:`warm_up` prepares the other pages' data in a background thread.
"""

from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import geopandas as gpd
import pandas as pd
import streamlit as st

from app_pages import logic
from observatory.wording import REAL_DATA_COMMAND
from render import maps

__all__ = [
    "active",
    "commune_base",
    "data_context",
    "density",
    "display_layer",
    "indicator_table",
    "load_reference",
    "load_snapshot",
    "map_assets",
    "scope",
    "tiles",
    "warm_up",
]



# --------------------------------------------------------------------------- loaders
@st.cache_resource(show_spinner="Chargement de la géographie de référence…")
def load_reference():
    """The reference geography (read-only; shared by every session)."""
    from geodata.reference import load_reference as _load

    return _load()


@st.cache_resource(show_spinner="Préparation des données de démonstration…")
def _ensure_data() -> list[dict]:
    """Snapshots available; builds the two demo snapshots on a fresh clone."""
    from observatory import storage

    snapshots = storage.list_snapshots(serie="ess")
    if not snapshots:
        from demo.job import ensure_demo

        ensure_demo(departement="21", progress=False)
        snapshots = storage.list_snapshots(serie="ess")
    return snapshots


@st.cache_resource(show_spinner="Chargement de l'instantané…", max_entries=4)
def load_snapshot(quarter: str):
    """One snapshot (structures, rejects, manifest), read-only."""
    from observatory import storage

    return storage.load_snapshot(quarter)


def data_context() -> logic.Context:
    """Reference, snapshot list, current and previous snapshots; stops the page on error."""
    try:
        if not _reference_built():
            load_reference()  # fresh clone: build it first, the demo build needs it too
        with ThreadPoolExecutor(max_workers=3) as pool:  # parquet reads release the GIL
            reference_job = pool.submit(_quiet(load_reference))
            imports_job = pool.submit(_prefetch_imports)
            snapshots = _ensure_data()
            quarters = [s["quarter"] for s in snapshots]
            if quarters:
                load_snapshot(quarters[-1])
            reference = reference_job.result()
            imports_job.result()
    except (ImportError, FileNotFoundError, RuntimeError, ValueError, OSError) as exc:
        st.error("Les données de l'observatoire ne sont pas disponibles : "
                 f"{exc}\n\nPour charger des données réelles : `{REAL_DATA_COMMAND}`")
        st.stop()
    if not snapshots:
        st.error("Aucun instantané n'est disponible. Pour charger des données réelles : "
                 f"`{REAL_DATA_COMMAND}`")
        st.stop()
    current = quarters[-1]
    previous = quarters[-2] if len(quarters) > 1 else None
    return logic.Context(reference=reference, snapshots=snapshots, quarter=current,
                         previous=previous, snapshot=load_snapshot(current))


def _reference_built() -> bool:
    from geodata.reference import reference_exists

    try:
        return reference_exists()
    except (OSError, ValueError):
        return False


def _prefetch_imports() -> None:
    """Import the indicator modules (scipy.spatial...) while the reference is being read."""


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


def preload() -> None:
    """At server start (``app.py`` lifespan): imports, reference, snapshots, the first page's
    indicators, so that the first visitor does not wait for them.  Errors are left for the
    page to report in French."""
    try:
        _quiet(_prefetch_imports)()
        if _reference_built():
            _quiet(load_reference)()
            snapshots = _quiet(_ensure_data)()
            quarters = [s["quarter"] for s in snapshots]
            if quarters:
                _quiet(lambda: load_snapshot(quarters[-1]))()
                _start_warm_up(quarters[-1], quarters[-2] if len(quarters) > 1 else None)
    except Exception:
        logging.getLogger(__name__).exception("preload failed; the first page will retry")


_WARM: set[str] = set()
_WARM_LOCK = threading.Lock()


def warm_up() -> None:
    """After a page is drawn: compute, once per process and in the background, what the
    other pages need (other levels, the previous quarter, the search index)."""
    try:
        snapshots = _ensure_data()
    except Exception:
        return
    quarters = [s["quarter"] for s in snapshots]
    if quarters:
        _start_warm_up(quarters[-1], quarters[-2] if len(quarters) > 1 else None)


def _start_warm_up(quarter: str, previous: str | None) -> None:
    with _WARM_LOCK:
        if quarter in _WARM or os.environ.get("OBSERVATOIRE_NO_WARMUP"):
            return
        _WARM.add(quarter)

    def work() -> None:
        for q in (quarter, previous):
            if q is None:
                continue
            for level in ("departement", "epci", "commune", "region"):
                indicator_table(q, level)
        active(quarter)

    threading.Thread(target=_quiet(work), name="observatoire-warm-up", daemon=True).start()


@st.cache_resource(max_entries=4)
def density(quarter: str) -> pd.DataFrame:
    """Density levels of the scope's communes: the INSEE grid if downloaded, else the
    approximation of :mod:`geodata.density_grid` (labelled ``source = "approximation"``)."""
    from geodata import density_grid
    from observatory.settings import get_settings

    communes = scope(quarter)
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


@st.cache_resource(show_spinner="Calcul des indicateurs…", max_entries=4)
def commune_base(quarter: str, famille: str | None = None) -> pd.DataFrame:
    """Extensive indicators per commune of the scope (computed once, rolled up per level)."""
    from indicators.table import commune_base as _base

    snap = load_snapshot(quarter)
    structures = snap.structures
    if famille:
        structures = structures[structures["famille_ess"] == famille]
    return _base(structures, scope(quarter), density=density(quarter))


@st.cache_resource(show_spinner="Calcul des indicateurs…", max_entries=24)
def indicator_table(quarter: str, level: str, famille: str | None = None) -> pd.DataFrame:
    """Indicators of every territory of ``level`` in the snapshot's scope (read-only)."""
    ref = load_reference()
    snap = load_snapshot(quarter)
    structures = snap.structures
    if famille:
        structures = structures[structures["famille_ess"] == famille]
    names = None if level == "commune" else logic._layer(ref, level)["nom"]
    return logic.compute_table(structures, scope(quarter), level,
                               base=commune_base(quarter, famille), names=names,
                               density=density(quarter))


@st.cache_resource(max_entries=32)
def display_layer(level: str, within: tuple[str, str] | None = None) -> gpd.GeoDataFrame:
    """Simplified geometries for maps (``within`` = (level, code) of the parent)."""
    return logic.display_geometries(load_reference(), level, within)


# --------------------------------------------------------------------------- map assets
@st.cache_resource
def map_assets() -> dict[str, str]:
    """URL paths of the Leaflet files served by the app (fetched once from npm if missing)."""
    try:
        from observatory.assets import ensure_map_assets

        return maps.map_assets(ensure_map_assets())
    except Exception as exc:
        st.warning(f"Les fichiers de cartographie (Leaflet) n'ont pas pu être préparés : {exc}")
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


@st.cache_resource(max_entries=4)
def scope(quarter: str) -> gpd.GeoDataFrame:
    """Communes covered by a snapshot (see :func:`app_pages.logic.scope_communes`)."""
    return logic.scope_communes(load_reference(), load_snapshot(quarter))


@st.cache_resource(max_entries=4)
def active(quarter: str) -> pd.DataFrame:
    """Active structures of a snapshot (read-only)."""
    structures = load_snapshot(quarter).structures
    return structures[structures["etat_administratif"] == "A"]
