"""Folium map builders: plain functions returning :class:`folium.Map`, tested on their HTML.

Every map loads Leaflet (and Leaflet.markercluster) from the app's own static files
(``/app/static/vendor/...``, see :mod:`observatory.assets`), never from a CDN, and has no base
tiles unless the caller passes a reachable tile server.  To find one's way without tiles,
every map can draw the **neighbouring territories in light grey** (``context=``, not
interactive) and writes the **names of the main territories** (``labels=`` the number of
names, most populated first; names that would overlap are hidden at each zoom).  The scale
is metric only, and the map opens fitted to the territory with the legend beside it.

Colour is never the only carrier of meaning: tooltips give the value *and* the class in
words, the legend lists every class with its bounds and its count (« aucun territoire » for
an empty class), structure markers carry the initial of their ESS family, and the zones
blanches are outlined with a dashed border and carry their identifier (Z001…).
Names from the data are escaped before they reach a popup, a tooltip, a label or the legend.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import folium
import geopandas as gpd
import numpy as np
import pandas as pd

from render import fr, map_payload
from render.classes import (
    SCHEMES,
    Classification,
    classify,
    default_thresholds,
    diverging_classes,
    jenks_breaks,
    parse_thresholds,
    quantile_breaks,
    thresholds_text,
)
from render.kinds import KindStyle, kind_style
from render.map_layers import (
    ContextLayer,
    GeoJsonLayer,
    LabelsLayer,
    TileSpec,
    base_map,
    context_features,
    context_rows,
    escape,
    features,
    label_rows,
    legend,
    map_assets,
    tooltip,
    view_bounds,
)
from render.point_layers import PointsLayer, StructuresLayer

__all__ = [
    "Backdrop",
    "MISSING_COLOUR",
    "SCHEMES",
    "Classification",
    "TileSpec",
    "backdrop",
    "base_map",
    "change_map",
    "choropleth_map",
    "classified_layer",
    "classify",
    "count_text",
    "default_thresholds",
    "diverging_classes",
    "finish_map",
    "jenks_breaks",
    "map_assets",
    "map_html",
    "parse_thresholds",
    "quantile_breaks",
    "start_map",
    "structures_map",
    "thresholds_text",
    "zones_map",
]

MISSING_COLOUR = "#d9d9d9"
def map_html(m: folium.Map) -> str:
    """The complete HTML document of a map (what the app embeds in an iframe), the layers'
    data written in after the templates (:mod:`render.map_payload`)."""
    return map_payload.render_page(m)


def count_text(n: int, noun: str = "territoire") -> str:
    """« aucun territoire », « 1 territoire », « 12 territoires » (legend counts)."""
    return fr.aucun(noun) if n == 0 else fr.compte(n, noun)


# --------------------------------------------------------------------------- scaffolding
def start_map(bounds: Sequence[float], *, context: gpd.GeoDataFrame | None, exclude,
              tiles: TileSpec | None, assets: Mapping[str, str] | None):
    """Base map fitted to ``bounds`` with the neighbours (``context`` minus ``exclude``)
    drawn first; returns (map, the drawn neighbours or None)."""
    m = base_map(bounds, tiles=tiles, assets=assets)
    near = context_rows(context, bounds, exclude=list(exclude))
    if near is not None:
        ContextLayer(near).add_to(m)
    return m, near


def finish_map(m: folium.Map, legend_element, labels: list, near=None) -> folium.Map:
    """Names (the data's, then the neighbours' in grey), the legend, the layer control."""
    rows = list(labels)
    if near is not None:
        rows += label_rows(near, n=8, css="contexte", priority=1000)
    if rows:
        LabelsLayer(rows).add_to(m)
    m.get_root().html.add_child(legend_element)
    folium.LayerControl(collapsed=True).add_to(m)
    return m


def classified_layer(m: folium.Map, gdf: gpd.GeoDataFrame, classes: np.ndarray,
                     colours: Sequence[str], tips: Sequence[str], *,
                     highlight: Sequence[str] = (), layer_name: str = "Territoires",
                     fill_opacity: float = 0.8) -> None:
    """Polygons filled by class (``-1``: missing, light grey), with escaped tooltips."""
    palette = np.array(list(colours) + [MISSING_COLOUR], dtype=object)
    fill = palette[np.where(np.asarray(classes) < 0, len(colours), classes)]
    selected = set(map(str, highlight))
    codes = gdf.index.astype(str)
    props = pd.DataFrame({
        "code": codes, "_f": fill,
        "_o": ["#000000" if c in selected else "#5a5a5a" for c in codes],
        "_w": [3.5 if c in selected else 0.6 for c in codes],
        "_d": [None] * len(gdf), "_t": list(tips),
    })
    GeoJsonLayer(features(gdf, props), name=layer_name, fill_opacity=fill_opacity).add_to(m)


def _legend_rows(cls: Classification, noun: str) -> list[tuple[str, str, str]]:
    rows = [(f"background:{col}", lab, count_text(n, noun))
            for col, lab, n in zip(cls.colours, cls.labels, cls.counts, strict=True)]
    n_missing = int((np.asarray(cls.classes) < 0).sum())
    if n_missing:
        rows.append((f"background:{MISSING_COLOUR}", "Donnée manquante",
                     count_text(n_missing, noun)))
    return rows


# --------------------------------------------------------------------------- choropleth
def _choropleth_tips(gdf, column, label, cls, decimales, unit, extra_fields) -> list[str]:
    unit_txt = f" {unit}" if unit else ""
    tips = []
    for (code, row), c in zip(gdf.iterrows(), cls.classes, strict=True):
        value = row[column]
        lines = [(label, fr.nombre(value, decimales, manquant="donnée manquante")
                  + (unit_txt if pd.notna(value) else ""))]
        if c >= 0:
            lines.append(("Classe", f"{c + 1} sur {len(cls.labels)} ({cls.labels[c]})"))
        for col, lab in (extra_fields or {}).items():
            integer = col.startswith("n_") or col in ("structures", "population")
            lines.append((lab, fr.nombre(row[col], 0 if integer else 1)))
        tips.append(tooltip(row.get("nom", code), code, lines))
    return tips


def _add_choropleth(m: folium.Map, gdf: gpd.GeoDataFrame, column: str, label: str,
                    scheme: str, k: int, thresholds: Sequence[float] | None, decimales: int,
                    unit: str, extra_fields: Mapping[str, str] | None,
                    highlight: Sequence[str], layer_name: str,
                    noun: str) -> tuple[list[tuple[str, str, str]], Classification]:
    """Add the choropleth layer to ``m``; return the legend rows and the classes."""
    cls = classify(gdf[column], scheme, k, thresholds, decimales, noun=noun)
    tips = _choropleth_tips(gdf, column, label, cls, decimales, unit, extra_fields)
    classified_layer(m, gdf, cls.classes, cls.colours, tips, highlight=highlight,
                     layer_name=layer_name)
    rows = _legend_rows(cls, noun)
    if highlight:
        rows.append(("background:transparent;border:3px solid #000", "Territoire choisi", ""))
    return rows, cls


def choropleth_map(
    gdf: gpd.GeoDataFrame,
    column: str,
    *,
    label: str,
    scheme: str = "quantiles",
    k: int = 5,
    thresholds: Sequence[float] | None = None,
    decimales: int = 1,
    unit: str = "",
    extra_fields: Mapping[str, str] | None = None,
    highlight: Sequence[str] = (),
    layer_name: str = "Territoires",
    tiles: TileSpec | None = None,
    assets: Mapping[str, str] | None = None,
    source_note: str | None = None,
    context: gpd.GeoDataFrame | None = None,
    labels: int | None = 12,
    noun: str = "territoire",
) -> folium.Map:
    """A choropleth of ``gdf[column]`` (index = territory code, column ``nom``).

    Parameters
    ----------
    gdf : GeoDataFrame
        Territories indexed by code, with ``nom``, ``geometry`` and the value column
        (``population``, when present, ranks the names written on the map).
    column, label : str
        The value column and its French label (legend title, tooltip).
    scheme, k, thresholds, decimales : see :func:`render.classes.classify` (manual
        thresholds in any order; corrections and empty classes are said in the legend).
    unit : str
        Unit written after values and in the legend title.
    extra_fields : mapping column -> French label
        More values shown in the tooltip (formatted with :func:`fr.nombre`).
    highlight : sequence of str
        Codes drawn with a thick black outline (the selected territory).
    context : GeoDataFrame, optional
        Neighbouring territories (index code, ``nom``, geometry) drawn in light grey.
    labels : int or None
        How many names to write (most populated first); 0 for none, None for all.
    noun : str
        What the territories are, for the legend counts ("commune", "EPCI"...).
    """
    m, near = start_map(gdf.total_bounds, context=context, exclude=gdf.index, tiles=tiles,
                        assets=assets)
    rows, cls = _add_choropleth(m, gdf, column, label, scheme, k, thresholds, decimales,
                                unit, extra_fields, highlight, layer_name, noun)
    title = fr.avec_unite(label, unit)
    note = f"Classes : {SCHEMES[scheme].lower()}" + (f". {source_note}" if source_note else "")
    names = label_rows(gdf, n=labels) if labels != 0 else []
    return finish_map(m, legend(title, rows, note, alerts=cls.notes), names, near)


# --------------------------------------------------------------------------- change
def change_map(layer: gpd.GeoDataFrame, change: pd.Series, *, relative: bool, label: str,
               tiles: TileSpec | None = None, assets: Mapping[str, str] | None = None,
               context: gpd.GeoDataFrame | None = None, labels: int | None = 12,
               period: str | None = None, noun: str = "territoire") -> folium.Map:
    """A map of change with diverging classes centred on 0 (falls red, rises blue).

    Parameters
    ----------
    layer : GeoDataFrame
        Territories (index code, ``nom``, geometry).
    change : Series
        Indexed like ``layer``: the absolute change (structures), or with ``relative=True``
        the change in percent; NA (a rate from zero structures) shows as « non calculable ».
    label : str
        What changes (« Évolution du nombre de structures »): legend title and tooltips.
    period : str, optional
        « depuis le 3e trimestre 2026 », written under the title.
    """
    values = pd.to_numeric(change.reindex(layer.index), errors="coerce")
    cls = diverging_classes(values, relative=relative)
    tips = []
    for (code, row), value, c in zip(layer.iterrows(), values, cls.classes, strict=True):
        if pd.isna(value):
            text = "non calculable (aucune structure au départ)" if relative else "–"
        else:
            text = fr.variation(value, 1 if relative else 0) + (" %" if relative else "")
        lines = [(label, text.replace(" %", "\u00a0%"))]
        if c >= 0:
            lines.append(("Classe", cls.labels[c]))
        tips.append(tooltip(row.get("nom", code), code, lines))
    m, near = start_map(layer.total_bounds, context=context, exclude=layer.index,
                        tiles=tiles, assets=assets)
    classified_layer(m, layer, cls.classes, cls.colours, tips, layer_name="Évolution")
    rows = _legend_rows(cls, noun)
    if rows and rows[-1][1] == "Donnée manquante":
        rows[-1] = (rows[-1][0], "Non calculable (aucune structure au départ)"
                    if relative else "Donnée manquante", rows[-1][2])
    title = f"{label} (en %)" if relative else label
    note = " ".join(filter(None, [period and period[0].upper() + period[1:] + ".",
                                  "Classes centrées sur 0 (stable) ; mêmes bornes à la "
                                  "baisse et à la hausse.", *cls.notes]))
    names = label_rows(layer, n=labels) if labels != 0 else []
    return finish_map(m, legend(title, rows, note), names, near)


# --------------------------------------------------------------------------- structures
def _text(value: object) -> str:
    return "–" if value is None or (not isinstance(value, str) and pd.isna(value)) \
        else escape(value)


def _structure_rows(pts: pd.DataFrame, kinds: KindStyle | None = None
                    ) -> tuple[list, list, list, list]:
    """(rows, kinds, precisions, sectors) of the structures layer, texts escaped; a kind is
    ``[label, colour, marker text]``."""
    kinds = kinds or kind_style()
    fam_codes = list(kinds.style)
    families = [[escape(kinds.labels[f]), kinds.style[f][0], kinds.style[f][1]]
                for f in fam_codes]
    prec_codes = list(fr.PRECISIONS) + ["?"]
    precisions = [escape(fr.libelle_precision(p)) for p in prec_codes]
    fam_idx = pd.Categorical(pts[kinds.column].fillna("autre"), categories=fam_codes)
    fam_idx = np.where(fam_idx.codes < 0, fam_codes.index("autre"), fam_idx.codes)
    prec_idx = pd.Categorical(pts["location_precision"], categories=prec_codes[:-1]).codes
    prec_idx = np.where(prec_idx < 0, len(prec_codes) - 1, prec_idx)
    secteur = pts["naf_libelle"] if "naf_libelle" in pts else pts.get("naf")
    secteur = (pd.Series(secteur, index=pts.index) if secteur is not None
               else pd.Series(pd.NA, index=pts.index)).astype("string").fillna("–")
    sector_codes, sector_names = pd.factorize(secteur)
    sectors = [escape(v) for v in sector_names]
    rows = [[float(lat), float(lon), int(fi), _text(nom), int(si), _text(adr), _text(siret),
             int(pi)]
            for lat, lon, fi, nom, si, adr, siret, pi in zip(
                pts["latitude"].round(5), pts["longitude"].round(5), fam_idx, pts["nom"],
                sector_codes, pts["adresse"], pts["siret"], prec_idx, strict=True)]
    return rows, families, precisions, sectors


def _drawn_points(structures: pd.DataFrame, column: str, max_points: int | None
                  ) -> tuple[pd.DataFrame, pd.Series, tuple | None]:
    """The rows drawn (with a position; at most ``max_points``, a sample spread over the
    whole territory) and their columns only, the count of every kind with a position, and
    the extent of all of them.  The rows are chosen before anything
    is copied: a national directory is 650 000 rows of 38 columns."""
    lat = pd.to_numeric(structures["latitude"], errors="coerce").to_numpy(dtype="float64")
    lon = pd.to_numeric(structures["longitude"], errors="coerce").to_numpy(dtype="float64")
    rows = np.flatnonzero(~np.isnan(lat) & ~np.isnan(lon))
    counts = structures[column].iloc[rows].fillna("autre").value_counts()
    bounds = view_bounds(lon[rows], lat[rows])
    if max_points is not None and len(rows) > max_points:
        rows = np.sort(np.random.default_rng(0).choice(rows, size=max_points, replace=False))
    drawn = [c for c in ("latitude", "longitude", "nom", column, "naf_libelle", "naf",
                         "adresse", "siret", "location_precision") if c in structures]
    return structures.iloc[rows][drawn], counts, bounds


@dataclass(frozen=True)
class Backdrop:
    """What a structures map draws under its points that does not depend on which structures
    are shown: the frame, the neighbours in grey, the outlines of the territories and the
    names.  Made once per place by :func:`backdrop` and reused by every filter of a
    directory (the outlines and the neighbours are most of a small map's work)."""

    bounds: tuple[float, float, float, float]
    context: dict | None
    outlines: dict
    name: str
    labels: tuple


def backdrop(background: gpd.GeoDataFrame, *, name: str = "Limites",
             context: gpd.GeoDataFrame | None = None, labels: int | None = 12) -> Backdrop:
    """The :class:`Backdrop` of ``background`` (territories drawn as plain outlines, with a
    tooltip of their name) and the neighbours of ``context`` around it."""
    inner = background.geometry.representative_point()
    bounds = view_bounds(inner.x, inner.y, background.geometry.bounds.to_numpy())
    near = context_rows(context, bounds, exclude=list(background.index))
    props = pd.DataFrame({
        "code": background.index.astype(str), "_f": "#ffffff", "_o": "#7a7a7a",
        "_w": 0.8, "_d": [None] * len(background),
        "_t": [tooltip(n, c, []) for c, n in zip(background.index, background["nom"],
                                                  strict=True)],
    })
    names = label_rows(background, n=labels) if labels != 0 else []
    if near is not None:
        names += label_rows(near, n=8, css="contexte", priority=1000)
    return Backdrop(bounds, context_features(near) if near is not None else None,
                    features(background, props), name, tuple(names))


def structures_map(
    structures: gpd.GeoDataFrame | pd.DataFrame,
    *,
    background: gpd.GeoDataFrame | None = None,
    background_column: str | None = None,
    background_label: str = "",
    scheme: str = "quantiles",
    k: int = 5,
    highlight: Sequence[str] = (),
    tiles: TileSpec | None = None,
    assets: Mapping[str, str] | None = None,
    max_points: int | None = None,
    context: gpd.GeoDataFrame | None = None,
    labels: int | None = 12,
    backdrop_made: Backdrop | None = None,
    kind_column: str = "famille_ess",
) -> folium.Map:
    """Structures clustered (neutral grey clusters), coloured and lettered by ESS family
    (or by insertion type with ``kind_column="type_structure"``, :func:`kind_style`),
    optionally over a choropleth (``background`` + ``background_column``) or over plain
    outlines (``background`` alone, or a ``backdrop_made`` by :func:`backdrop` once for
    many maps of one place), with the names of the main territories of ``background`` and
    the neighbours (``context``) in grey.

    ``structures`` needs ``latitude``, ``longitude``, ``nom``, ``famille_ess``, ``naf_libelle``
    (or ``naf``), ``adresse``, ``siret`` and ``location_precision``.  Rows without coordinates
    are skipped (the page says how many).  Popups show name, family, sector, address, SIRET and
    the location precision, all escaped.
    """
    urls = map_assets(assets)
    # the columns drawn only, then the rows with a position: a national directory's frame
    # has 650 000 rows of 38 columns
    kinds = kind_style(kind_column, structures)
    pts, counts, extent = _drawn_points(structures, kinds.column, max_points)
    choropleth = background is not None and background_column is not None
    if background is not None and not choropleth:  # plain outlines
        backdrop_made = backdrop(background, name=background_label or "Limites",
                                 context=context, labels=labels)
    legend_rows: list[tuple[str, str, str]] = []
    alerts: tuple[str, ...] = ()
    title = kinds.title
    names: list = []
    near = None
    if backdrop_made is not None:
        m = base_map(backdrop_made.bounds, tiles=tiles, assets=urls)
        if backdrop_made.context is not None:
            ContextLayer(backdrop_made.context).add_to(m)
        GeoJsonLayer(backdrop_made.outlines, name=backdrop_made.name,
                     fill_opacity=0.6).add_to(m)
        names = list(backdrop_made.labels)
    elif choropleth:
        m, near = start_map(background.total_bounds, context=context,
                            exclude=background.index, tiles=tiles, assets=urls)
        legend_rows, cls = _add_choropleth(m, background, background_column,
                                           background_label, scheme, k, None, 1, "", None,
                                           highlight, "Communes", "territoire")
        legend_rows = [(st, lab, "") for st, lab, _ in legend_rows]
        alerts = cls.notes
        title = f"{kinds.title} sur fond : {background_label}"
        names = label_rows(background, n=labels) if labels != 0 else []
    elif len(pts):
        m, near = start_map(extent, context=context, exclude=(), tiles=tiles, assets=urls)
    else:
        m = base_map(None, tiles=tiles, assets=urls)
    StructuresLayer(*_structure_rows(pts, kinds), kinds.title, urls,
                    noun=kinds.noun).add_to(m)
    for f, (colour, letter) in kinds.style.items():
        if kinds.column != "famille_ess" and f == "autre" and not counts.get(f, 0):
            continue  # every insertion structure has its type
        label = kinds.labels[f] if len(letter) > 1 else f"{letter} = {kinds.labels[f]}"
        legend_rows.append((f"background:{colour};border-radius:50%;color:#fff;"
                            "font:bold 9px Arial;text-align:center;line-height:12px",
                            label, fr.entier(counts.get(f, 0))))
    legend_rows.append(("background:#2d2d2d;border-radius:50%;border:1px solid #fff",
                        "Groupe de structures proches", ""))
    note = ("Un disque gris numéroté regroupe plusieurs structures proches (le nombre indique "
            "combien) ; zoomez ou cliquez pour les séparer.")
    return finish_map(m, legend(title, legend_rows, note, alerts=alerts), names, near)


# --------------------------------------------------------------------------- zones blanches
def _zone_labels(communes: gpd.GeoDataFrame, zone_ids: pd.Series | None) -> list:
    """One label per zone (« Z001 ») at a point inside its communes."""
    if zone_ids is None:
        return []
    ids = zone_ids.reindex(communes.index).astype("string")
    inside = communes[ids.notna().to_numpy()]
    if not len(inside):
        return []
    zones = inside.assign(zone_id=ids[ids.notna()]).dissolve(by="zone_id")
    zones["nom"] = zones.index.astype(str)
    # zone identifiers come before every name (a name overlapping one is hidden)
    return label_rows(zones, n=None, css="zone", priority=-100_000, text=zones["nom"])


def zones_map(
    communes: gpd.GeoDataFrame,
    underserved: pd.Series,
    *,
    distance_column: str | None = None,
    structures: pd.DataFrame | None = None,
    tiles: TileSpec | None = None,
    assets: Mapping[str, str] | None = None,
    detail: Callable[[str, pd.Series], Sequence[tuple[str, str]]] | None = None,
    zone_ids: pd.Series | None = None,
    context: gpd.GeoDataFrame | None = None,
    labels: int | None = 12,
) -> folium.Map:
    """Communes of a territory with the zones blanches filled orange and outlined dashed.

    ``underserved`` is a boolean Series indexed like ``communes`` (True = zone blanche).
    ``zone_ids`` (commune code -> « Z001 ») writes each zone's identifier on the map and in
    the tooltips, as in the table of zones.  ``distance_column`` (km to the nearest
    structure) is shown in the tooltip.
    """
    flags = underserved.reindex(communes.index).fillna(False).astype(bool)
    ids = (zone_ids.reindex(communes.index).astype("string") if zone_ids is not None
           else pd.Series(pd.NA, index=communes.index, dtype="string"))
    tips = []
    for code, row in communes.iterrows():
        zone = ids[code]
        lines = [("Zone blanche", ("oui — zone " + str(zone)) if flags[code] and pd.notna(zone)
                  else "oui" if flags[code] else "non")]
        if distance_column is not None and distance_column in communes:
            lines.append(("Distance à la structure la plus proche",
                          fr.nombre(row[distance_column], 1) + " km"))
        if "population" in communes:
            lines.append(("Population", fr.entier(row["population"])))
        if detail is not None:
            lines.extend(detail(code, row))
        tips.append(tooltip(row.get("nom", code), code, lines))
    props = pd.DataFrame({
        "code": communes.index.astype(str),
        "_f": np.where(flags, "#f4a261", "#ffffff"),
        "_o": np.where(flags, "#7a2e00", "#8a8a8a"),
        "_w": np.where(flags, 2.0, 0.5),
        "_d": ["5 4" if f else None for f in flags],
        "_t": tips,
        "zone": ids.astype(object).where(ids.notna(), None).to_numpy(),
    })
    m, near = start_map(communes.total_bounds, context=context, exclude=communes.index,
                        tiles=tiles, assets=assets)
    GeoJsonLayer(features(communes, props), name="Communes", fill_opacity=0.7).add_to(m)
    if structures is not None and len(structures):
        pts = structures.dropna(subset=["latitude", "longitude"])
        rows = [[round(float(a), 5), round(float(b), 5), _text(n)]
                for a, b, n in zip(pts["latitude"], pts["longitude"], pts["nom"], strict=True)]
        PointsLayer(rows, "Structures retenues").add_to(m)
    rows_legend = [
        ("background:#f4a261;border:2px dashed #7a2e00",
         "Zone blanche (bordure en tirets)", count_text(int(flags.sum()), "commune")),
        ("background:#ffffff;border:1px solid #8a8a8a", "Commune desservie",
         count_text(int((~flags).sum()), "commune")),
    ]
    if structures is not None and len(structures):
        rows_legend.append(("background:#1b4f72;border-radius:50%;border:1px solid #fff",
                            "Structure retenue", ""))
    zone_rows = _zone_labels(communes, ids)
    note = ("Z001… : identifiant de la zone, comme dans le tableau des zones."
            if zone_rows else None)
    names = label_rows(communes, n=labels) if labels != 0 else []
    return finish_map(m, legend("Zones blanches", rows_legend, note), zone_rows + names, near)
