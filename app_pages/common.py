"""Shared pieces of the pages: page start, captions, maps, exports, labels of kinds.

Everything the user reads is in French.  Pages stay thin: they call these helpers, the
territory helpers (:mod:`app_pages.territoires`) and the bound widgets
(:mod:`app_pages.widgets`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping

import pandas as pd
import streamlit as st

from app_pages import loaders, logic, perimetre, urlstate
from observatory.vocabulary import STRUCTURE_TYPES
from render import exports, fr, maps

__all__ = [
    "about",
    "current_serie",
    "decimals",
    "download_buttons",
    "indicators",
    "kind_label",
    "kinds",
    "show_map",
    "source_caption",
    "start",
    "warm_up",
]

warm_up = loaders.warm_up


def current_serie() -> str:
    """The perimeter chosen in the sidebar (``navigation.py``)."""
    return str(st.session_state.get("serie") or loaders.DEFAULT_SERIE)


def start(page: str, title: str, names: Iterable[str]) -> logic.Context:
    """Begin a page: URL parameters checked, title, data of the perimeter, provenance line
    and demo banner, coverage of the snapshot."""
    urlstate.begin(page, names)
    st.title(title)
    ctx = loaders.data_context(current_serie())
    perimetre.show_status(ctx)
    note = logic.coverage_text(ctx.reference, ctx.snapshot)
    if note:
        st.caption(note)
    return ctx


# --------------------------------------------------------------------------- indicators
def indicators() -> dict:
    """The indicator registry (French labels, units, kinds)."""
    from indicators.registry import INDICATORS

    return INDICATORS


def label_unit(indicator) -> str:
    """« Part de la population couverte (%) », but « Structures pour 10 000 habitants » (the
    unit is not written twice)."""
    return fr.avec_unite(indicator.label_fr, indicator.unit_fr)


_SHORT = {
    "structures": "Structures actives",
    "structures_per_10k": "Pour 10 000 habitants",
    "structures_per_100km2": "Pour 100 km²",
    "emplois_estimes": "Emplois estimés (salariés)",
}


def short_label(name: str, label: str) -> str:
    """Short label of a key figure (metric cards truncate long labels)."""
    return _SHORT.get(name, label)


def decimals(indicator) -> int:
    """Decimals used to show an indicator."""
    return logic.decimals(indicator)


def indicator_choices(table: pd.DataFrame) -> list[str]:
    """Indicators of the registry present (and not all missing) in ``table``, main first."""
    registry = indicators()
    first = [n for n in logic.KEY_INDICATORS if n in table.columns]
    rest = [n for n in registry if n in table.columns and n not in first
            and not n.startswith("n_section_") and n != "population_x_distance_km"]
    return [n for n in first + rest if table[n].notna().any()]


# --------------------------------------------------------------------------- kinds
def kind_column(ctx: logic.Context) -> str:
    """Column telling the kinds of structures apart: ESS family, or insertion type."""
    column = perimetre.KIND_COLUMN.get(ctx.serie, "famille_ess")
    structures = loaders.active(ctx.serie, ctx.quarter)
    return column if column in structures.columns else "famille_ess"


def kind_label(column: str, value: str) -> str:
    """French label of a kind (« Coopérative », « ESAT »...)."""
    if column == "famille_ess":
        return fr.libelle_famille(value)
    return f"{STRUCTURE_TYPES[value]} ({value})" if value in STRUCTURE_TYPES else value


def kinds(ctx: logic.Context) -> dict[str, str]:
    """Kinds with at least one active structure in the perimeter, most frequent first:
    code -> French label (kinds without any structure are never offered)."""
    column = kind_column(ctx)
    counts = loaders.active(ctx.serie, ctx.quarter)[column].value_counts()
    return {str(code): kind_label(column, str(code)) for code, n in counts.items() if n > 0}


def structure_columns(ctx: logic.Context) -> dict:
    """Columns of a table of structures (:func:`app_pages.tables.structures_table`)."""
    from app_pages.frtable import Col

    kind = "Famille de l'ESS" if kind_column(ctx) == "famille_ess" else "Type"
    return {"nom": Col("Nom"), "type": Col(kind), "secteur": Col("Secteur d'activité"),
            "adresse": Col("Adresse"), "commune": Col("Commune"), "siret": Col("SIRET"),
            "localisation": Col("Localisation"),
            "gestion_publique": Col("Gestion publique", "bool",
                                    help="Structure gérée par une personne publique "
                                         "(commune, CCAS...) : dans l'offre d'insertion, hors "
                                         "de l'ESS au sens légal."),
            "capacite": Col("Places (ESAT)", "int")}


def structures_table(ctx: logic.Context, structures: pd.DataFrame) -> pd.DataFrame:
    """Structures with their French labels (kind, commune name, precision)."""
    from app_pages import tables

    column = kind_column(ctx)
    labels = {str(k): kind_label(column, str(k)) for k in structures[column].dropna().unique()} \
        if column in structures else {}
    return tables.structures_table(structures, loaders.load_reference().communes["nom"],
                                   column, labels)


def search_haystack(ctx: logic.Context) -> pd.Series:
    """Folded text the directory searches (computed once per snapshot)."""
    return loaders.search_haystack(ctx.serie, ctx.quarter)


# --------------------------------------------------------------------------- display
def source_caption(ctx: logic.Context, extra: str | None = None) -> None:
    """Source and vintage line written under every map and table."""
    st.caption(logic.source_text(ctx) + (f" {extra}" if extra else ""))


def show_map(m, *, height: int = 560, alt: str = "Carte") -> None:
    """Embed a folium map as a self-contained iframe (local Leaflet, no CDN)."""
    st.iframe(maps.map_html(m), height=height, alt=alt)


_MAPS: OrderedDict[tuple, str] = OrderedDict()
_MAPS_LOCK = threading.Lock()
_MAPS_KEPT = 24


def show_cached_map(key: tuple, build: Callable[[], object], *, height: int = 560,
                    alt: str = "Carte") -> None:
    """Embed the map ``build()`` makes, built once per ``key`` (everything the map depends
    on) for the whole process: a rerun that changes something else does not rebuild it."""
    key = (*key, loaders.tiles() is not None)
    with _MAPS_LOCK:
        html = _MAPS.get(key)
        if html is not None:
            _MAPS.move_to_end(key)
    if html is None:
        html = maps.map_html(build())
        with _MAPS_LOCK:
            _MAPS[key] = html
            while len(_MAPS) > _MAPS_KEPT:
                _MAPS.popitem(last=False)
    st.iframe(html, height=height, alt=alt)


@st.cache_resource(show_spinner=False)
def export_names() -> dict[str, pd.Series]:
    """Territory names for the labels beside codes in exports (level -> code -> nom)."""
    ref = loaders.load_reference()
    return {level: logic.layer(ref, level)["nom"].astype("string")
            for level in ("commune", "epci", "departement", "region")}


def about(ctx: logic.Context, title: str,
          filtres: Mapping[str, object] | None = None) -> dict[str, str]:
    """The « À propos » of an export (render.exports.snapshot_about): content, perimeter,
    filters, snapshot, real or demonstration data, sources, licence, date."""
    text = " ; ".join(f"{k} : {v}" for k, v in (filtres or {}).items() if v not in (None, ""))
    manifest = {**ctx.manifest, "serie": ctx.serie, "quarter": ctx.quarter}
    return exports.snapshot_about(manifest, contenu=title,
                                  filtres=text or "aucun (toutes les lignes affichées)")


def downloadable(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with its rows numbered 0..n-1 (a named index, the territory code, becomes a
    column): render.exports.export_frame aligns its columns on that numbering, and a
    filtered frame keeps the labels of the rows it kept."""
    named = df.index.name is not None and df.index.name not in df.columns
    return df.reset_index() if named else df.reset_index(drop=True)


def download_buttons(df: pd.DataFrame, name: str, *, key: str,
                     about: Mapping[str, str] | None = None, geo: bool = False,
                     kind: str = "auto") -> None:
    """CSV, XLSX and optionally GeoJSON downloads of exactly ``df`` in the one export model
    (render.exports: French headers, labels beside codes, numbers as numbers, « À propos »),
    built only when the user clicks."""
    frame = downloadable(df)
    names = export_names()
    cols = st.columns(3 if geo else 2)
    cols[0].download_button(
        "Télécharger en CSV",
        lambda: exports.csv_bytes(frame, about=about, kind=kind, names=names),
        file_name=exports.export_filename(name, "csv"), mime="text/csv", key=f"{key}_csv",
        on_click="ignore")
    cols[1].download_button(
        "Télécharger en XLSX",
        lambda: exports.xlsx_bytes(frame, about=about, kind=kind, names=names),
        file_name=exports.export_filename(name, "xlsx"),
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key=f"{key}_xlsx", on_click="ignore")
    if geo:
        cols[2].download_button(
            "Télécharger en GeoJSON",
            lambda: exports.geojson_bytes(frame, about=about, kind=kind, names=names),
            file_name=exports.export_filename(name, "geojson"), mime="application/geo+json",
            key=f"{key}_geojson", on_click="ignore")


def context_layer(level: str):
    """Neighbouring territories drawn in grey around a map of ``level`` (a coarser level)."""
    coarser = {"commune": "departement", "epci": "departement", "departement": "region",
               "region": "region"}[level]
    return loaders.display_layer(coarser)


NOUNS = {"commune": "commune", "epci": "EPCI", "departement": "département",
         "region": "région"}


# --------------------------------------------------------------------------- page API v1
# The names pages used before the perimeter and permalinks (app_pages/concentrations.py,
# owned by the rendering developer, still uses them); they read the perimeter chosen in the
# sidebar.  New code uses start(), app_pages.widgets and app_pages.territoires.
def page_setup(title: str) -> None:
    """Title of the page (v1)."""
    st.title(title)


def data_context() -> logic.Context:
    """Data of the perimeter chosen in the sidebar (v1)."""
    return loaders.data_context(current_serie())


def demo_banner(ctx: logic.Context) -> None:
    """Perimeter, provenance and demo banner (v1: now :func:`perimetre.show_status`)."""
    perimetre.show_status(ctx)


def param(name: str, default: str | None = None) -> str | None:
    """A URL parameter (v1; new pages bind widgets with app_pages.widgets)."""
    value = st.query_params.get(name)
    return value if value not in (None, "") else default


def set_params(**values: str | None) -> None:
    """Write URL parameters (v1)."""
    for key, value in values.items():
        urlstate.write(key, None if value is None else str(value))


def territories_in_scope(ctx: logic.Context, level: str) -> pd.DataFrame:
    """Covered territories of ``level`` (v1: app_pages.territoires)."""
    from app_pages import territoires

    return territoires.territories_in_scope(ctx, level)


def default_territory(ctx: logic.Context, level: str) -> str | None:
    """The territory a page opens on (v1: app_pages.territoires)."""
    from app_pages import territoires

    return territoires.default_territory(ctx, level)


def indicator_table(quarter: str, level: str) -> pd.DataFrame:
    """Indicators of the perimeter chosen in the sidebar (v1)."""
    return loaders.indicator_table(current_serie(), quarter, level)


display_layer = loaders.display_layer
tiles = loaders.tiles
map_assets = loaders.map_assets
