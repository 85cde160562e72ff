"""Folium map builders: plain functions returning :class:`folium.Map`, tested on their HTML.

Every map loads Leaflet (and Leaflet.markercluster) from the app's own static files
(``/app/static/vendor/...``, see :mod:`observatory.assets`), never from a CDN, and has no base
tiles unless the caller passes a reachable tile server.  Names from the data are escaped with
:func:`html.escape` before they reach a popup, a tooltip or the legend; data embedded in
scripts goes through Jinja's ``tojson`` (which also escapes ``<``, ``>`` and ``&``).

Colour is never the only carrier of meaning: choropleth tooltips give the value *and* the
class in words, the legend lists every class with its bounds, structure markers carry the
initial of their ESS family, and the zones blanches are outlined with a dashed border.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element
from folium.elements import JSCSSMixin
from folium.map import Layer
from folium.template import Template

from render import fr

__all__ = [
    "FAMILY_STYLE",
    "MISSING_COLOUR",
    "SCHEMES",
    "Classification",
    "TileSpec",
    "base_map",
    "choropleth_map",
    "classify",
    "jenks_breaks",
    "quantile_breaks",
    "map_assets",
    "map_html",
    "structures_map",
    "zones_map",
]

#: Classification schemes offered to users: key -> French label.
SCHEMES = {
    "quantiles": "Quantiles (effectifs égaux)",
    "jenks": "Seuils naturels (Jenks)",
    "manuel": "Seuils manuels",
}
#: ColorBrewer YlGnBu (9 classes), sampled for fewer classes; readable by colour-blind users.
_PALETTE = ("#ffffd9", "#edf8b1", "#c7e9b4", "#7fcdbb", "#41b6c4",
            "#1d91c0", "#225ea8", "#253494", "#081d58")
MISSING_COLOUR = "#d9d9d9"
#: ESS family -> (colour, letter shown in the marker). Okabe-Ito colours.
FAMILY_STYLE = {
    "association": ("#0072B2", "A"),
    "cooperative": ("#E69F00", "C"),
    "mutuelle": ("#009E73", "M"),
    "fondation": ("#CC79A7", "F"),
    "societe_commerciale_ess": ("#D55E00", "S"),
    "autre": ("#555555", "?"),
}
_BACKGROUND = "#eef1f4"
# Conventional locations of the vendored files (used when observatory.assets is absent).
_DEFAULT_ASSETS = {
    "leaflet_js": "/app/static/vendor/leaflet/leaflet.js",
    "leaflet_css": "/app/static/vendor/leaflet/leaflet.css",
    "markercluster_js": "/app/static/vendor/leaflet.markercluster/leaflet.markercluster.js",
    "markercluster_css": "/app/static/vendor/leaflet.markercluster/MarkerCluster.css",
    "markercluster_default_css":
        "/app/static/vendor/leaflet.markercluster/MarkerCluster.Default.css",
}


@dataclass(frozen=True)
class TileSpec:
    """A reachable tile server: URL template and attribution (HTML allowed)."""

    url: str
    attribution: str
    name: str = "Fond de carte"


def map_assets(assets: Mapping[str, str] | None = None) -> dict[str, str]:
    """URL paths of Leaflet and markercluster files served by the app.

    ``assets`` (the answer of :func:`observatory.assets.ensure_map_assets`, which the app calls
    once) may use any key names: files are recognised by their path.  Missing entries fall
    back to the conventional ``/app/static/vendor/...`` paths (builders never touch the
    network).
    """
    assets = assets or {}
    found = dict(_DEFAULT_ASSETS)
    for key, value in dict(assets).items():
        path = str(value)
        low = f"{key} {path}".lower()
        if "markercluster" in low:
            if path.endswith(".js"):
                found["markercluster_js"] = path
            elif path.endswith("Default.css"):
                found["markercluster_default_css"] = path
            elif path.endswith(".css"):
                found["markercluster_css"] = path
        elif "leaflet" in low:
            if path.endswith("leaflet.js"):
                found["leaflet_js"] = path
            elif path.endswith("leaflet.css"):
                found["leaflet_css"] = path
    return found


def map_html(m: folium.Map) -> str:
    """The complete HTML document of a map (what the app embeds in an iframe)."""
    return m.get_root().render()


# --------------------------------------------------------------------------- classification
@dataclass(frozen=True)
class Classification:
    """Classes of a numeric column: ``classes`` is -1 for missing values."""

    classes: np.ndarray
    bins: tuple[float, ...]
    labels: tuple[str, ...]
    colours: tuple[str, ...]
    scheme: str
    counts: tuple[int, ...]


def _palette(k: int) -> tuple[str, ...]:
    if k <= 1:
        return (_PALETTE[5],)
    idx = np.linspace(1, len(_PALETTE) - 1, k).round().astype(int)
    return tuple(_PALETTE[i] for i in idx)


def classify(values: pd.Series | Sequence[float], scheme: str = "quantiles", k: int = 5,
             thresholds: Sequence[float] | None = None, decimales: int = 1) -> Classification:
    """Classify values (mapclassify's schemes and conventions) and write French labels.

    The breaks are those of :class:`mapclassify.Quantiles`, :class:`mapclassify.FisherJenks`
    and :class:`mapclassify.UserDefined` (checked against mapclassify in the tests), computed
    with numpy: importing mapclassify costs ~2 s (scikit-learn, scipy.stats, pyplot) on the
    app's first page, and its pure-Python Fisher-Jenks takes seconds without numba.

    Parameters
    ----------
    values : Series or sequence of float
        Values; missing ones get class ``-1`` ("Donnée manquante").
    scheme : {"quantiles", "jenks", "manuel"}
        Quantiles, Fisher-Jenks natural breaks, or user-defined upper bounds.
    k : int
        Number of classes (reduced when there are fewer distinct values).
    thresholds : sequence of float
        Upper bounds of the classes for ``scheme="manuel"``; the maximum is added if needed.
    decimales : int
        Decimals in the labels.
    """
    if scheme not in SCHEMES:
        raise ValueError(
            f"Unknown classification scheme {scheme!r}. Valid schemes: {', '.join(SCHEMES)}. "
            "How to fix: pass one of them."
        )
    y = pd.to_numeric(pd.Series(values), errors="coerce").astype("float64").to_numpy()
    valid = np.isfinite(y)
    classes = np.full(len(y), -1, dtype=int)
    if not valid.any():
        return Classification(classes, (), (), (), scheme, ())
    yv = y[valid]
    distinct = np.unique(yv)
    if scheme == "manuel":
        if not thresholds:
            raise ValueError(
                "Manual classification needs thresholds. How to fix: give at least one "
                "upper bound, e.g. thresholds=[5, 10, 20]."
            )
        bins = sorted({float(t) for t in thresholds})
    elif len(distinct) <= max(1, k) or len(distinct) < 3:
        bins = [float(v) for v in distinct[: max(1, k)]]
    elif scheme == "quantiles":
        bins = quantile_breaks(yv, k)
    else:
        bins = jenks_breaks(yv, min(k, len(distinct)))
    if bins[-1] < yv.max():
        bins.append(float(yv.max()))
    bins_arr = np.asarray(bins, dtype=float)
    # class i holds bins[i-1] < y <= bins[i] (mapclassify's convention)
    classes[valid] = np.searchsorted(bins_arr, yv, side="left")
    labels = []
    low = float(yv.min())
    for i, high in enumerate(bins_arr):
        if i == 0 and np.isclose(low, high):
            labels.append(fr.nombre(high, decimales))
        elif i == 0:
            labels.append(f"de {fr.nombre(low, decimales)} à {fr.nombre(high, decimales)}")
        else:
            labels.append(f"plus de {fr.nombre(bins_arr[i - 1], decimales)} "
                          f"à {fr.nombre(high, decimales)}")
    counts = tuple(int((classes == i).sum()) for i in range(len(bins_arr)))
    return Classification(classes, tuple(float(b) for b in bins_arr), tuple(labels),
                          _palette(len(bins_arr)), scheme, counts)


def quantile_breaks(values: np.ndarray, k: int) -> list[float]:
    """Upper bounds of ``k`` quantile classes, as :class:`mapclassify.Quantiles` computes them
    (linear percentiles at 100/k, 200/k ... 100, duplicates removed)."""
    step = 100.0 / k
    pct = np.minimum(np.arange(step, 100 + step, step)[:k], 100.0)
    return [float(v) for v in np.unique(np.percentile(np.asarray(values, dtype=float), pct))]


def jenks_breaks(values: np.ndarray, k: int, max_points: int = 1000) -> list[float]:
    """Upper bounds of the ``k`` Fisher-Jenks natural-break classes (exact dynamic programme).

    Vectorised with numpy (mapclassify's pure-Python version takes seconds on a few hundred
    values without numba).  Above ``max_points`` values, the breaks are computed on
    ``max_points`` evenly spaced quantiles of the data (deterministic approximation).
    """
    x = np.sort(np.asarray(values, dtype=float))
    if len(x) > max_points:
        x = np.quantile(x, np.linspace(0, 1, max_points))
    n = len(x)
    k = max(1, min(k, n))
    s1 = np.concatenate([[0.0], np.cumsum(x)])
    s2 = np.concatenate([[0.0], np.cumsum(x * x)])
    start = np.arange(n)[:, None]
    end = np.arange(n)[None, :]
    count = end - start + 1
    with np.errstate(divide="ignore", invalid="ignore"):
        cost = (s2[end + 1] - s2[start]) - (s1[end + 1] - s1[start]) ** 2 / count
    cost[count <= 0] = np.inf
    best = cost[0].copy()  # one class covering x[0..i]
    starts = []
    for _ in range(1, k):
        total = best[:-1, None] + cost[1:, :]  # last class starts at m = row + 1
        arg = np.argmin(total, axis=0)
        best = total[arg, np.arange(n)]
        starts.append(arg + 1)
    breaks = [float(x[-1])]
    i = n - 1
    for step in reversed(starts):
        m = int(step[i])
        breaks.append(float(x[m - 1]))
        i = m - 1
    return sorted(set(breaks))


# --------------------------------------------------------------------------- base map
def _rounded_geometry(gdf: gpd.GeoDataFrame, decimals: int = 5) -> gpd.GeoSeries:
    """Round coordinates (1e-5 degree ~ 1 m) so that map HTML stays small."""
    if gdf.crs is not None and gdf.crs.to_epsg() != 4326:
        gdf = gdf.to_crs(4326)
    geoms = shapely.transform(gdf.geometry.to_numpy(), lambda c: np.round(c, decimals))
    return gpd.GeoSeries(geoms, index=gdf.index, crs=4326)


def base_map(bounds: Sequence[float] | None = None, *, tiles: TileSpec | None = None,
             assets: Mapping[str, str] | None = None, height: str = "100%") -> folium.Map:
    """An empty map using the local Leaflet, fitted to ``bounds`` (minx, miny, maxx, maxy).

    With ``tiles=None`` there is no base layer: the map has a light background and shows
    only the data layers (the app works with no network).
    """
    urls = map_assets(assets)
    m = folium.Map(location=[46.6, 2.4], zoom_start=6, tiles=None, control_scale=True,
                   height=height, prefer_canvas=False, zoom_snap=0.25, zoom_delta=0.5)
    # Without a tile layer Leaflet has no zoom range, which markercluster requires.
    m.options["maxZoom"] = 18
    m.options["minZoom"] = 4
    m.default_js = [("leaflet", urls["leaflet_js"])]
    m.default_css = [("leaflet_css", urls["leaflet_css"])]
    css = (
        "<style>.leaflet-container{background:" + _BACKGROUND + ";"
        "font-family:Marianne,Arial,sans-serif;}"
        ".legende-carte{position:absolute;z-index:1000;bottom:18px;right:10px;"
        "background:rgba(255,255,255,.95);padding:8px 10px;border:1px solid #888;"
        "border-radius:4px;font:12px/1.35 Arial,sans-serif;color:#161616;max-width:260px}"
        ".legende-carte .titre{font-weight:bold;margin-bottom:4px;cursor:pointer}"
        ".legende-carte .cle{display:inline-block;width:16px;height:12px;margin-right:6px;"
        "vertical-align:middle;border:1px solid #555}"
        ".ess-pt{display:flex;align-items:center;justify-content:center;border-radius:50%;"
        "color:#fff;font:bold 11px Arial,sans-serif;border:1.5px solid #fff;"
        "box-shadow:0 0 2px #000}</style>"
    )
    m.get_root().header.add_child(Element(css), name="observatoire_css")
    m.get_root().header.add_child(
        Element('<meta http-equiv="Content-Language" content="fr">'), name="lang")
    if tiles is not None:
        folium.TileLayer(tiles=tiles.url, attr=tiles.attribution, name=tiles.name,
                         control=False).add_to(m)
    if bounds is not None and np.all(np.isfinite(bounds)):
        minx, miny, maxx, maxy = (float(b) for b in bounds)
        # padding keeps points off the edges; max_zoom keeps a lone point in its context
        m.fit_bounds([[miny, minx], [maxy, maxx]], padding=(40, 40), max_zoom=15)
        m.location = [(miny + maxy) / 2, (minx + maxx) / 2]
    return m


def _legend(title: str, rows: Sequence[tuple[str, str, str]], note: str | None = None) -> Element:
    """A legend box: rows of (swatch CSS, label, count text); everything escaped."""
    items = "".join(
        f'<div><span class="cle" style="{style}"></span>{html.escape(label)}'
        f'{" <small>(" + html.escape(count) + ")</small>" if count else ""}</div>'
        for style, label, count in rows
    )
    extra = f"<div><small>{html.escape(note)}</small></div>" if note else ""
    # <details>: the legend can be folded away when it hides part of the map
    return Element(
        f'<details open class="legende-carte" role="group" '
        f'aria-label="Légende : {html.escape(title)}">'
        f'<summary class="titre">{html.escape(title)}</summary>{items}{extra}</details>'
    )


# --------------------------------------------------------------------------- choropleth
class _GeoJsonLayer(Layer):
    """A GeoJSON layer styled from per-feature properties, with pre-escaped tooltips.

    Properties used: ``_f`` fill colour, ``_o`` outline colour, ``_w`` outline weight,
    ``_d`` dash array (or null), ``_t`` tooltip HTML (already escaped).
    """

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.geoJSON({{ this.data|tojson }}, {
            style: function (f) {
                var p = f.properties;
                return {fillColor: p._f, color: p._o, weight: p._w, dashArray: p._d,
                        fillOpacity: {{ this.fill_opacity }}, opacity: 1};
            },
            onEachFeature: function (f, layer) {
                layer.bindTooltip(f.properties._t, {sticky: true});
                layer.on({
                    mouseover: function (e) { e.target.setStyle({weight: 3}); },
                    mouseout: function (e) {
                        e.target.setStyle({weight: e.target.feature.properties._w}); }
                });
            }
        });
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {% endmacro %}
    """)

    def __init__(self, data: dict, name: str, fill_opacity: float = 0.8, show: bool = True):
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "GeoJsonLayer"
        self.data = data
        self.fill_opacity = fill_opacity


def _features(gdf: gpd.GeoDataFrame, props: pd.DataFrame) -> dict:
    geoms = _rounded_geometry(gdf)
    features = []
    props = props.astype(object)
    records = props.where(props.notna(), None).to_dict("records")
    for geom, rec in zip(shapely.to_geojson(geoms.to_numpy()), records, strict=True):
        features.append({"type": "Feature", "geometry": _json_loads(geom), "properties": rec})
    return {"type": "FeatureCollection", "features": features}


def _json_loads(text: str) -> dict:
    import json

    return json.loads(text)


def _tooltip(nom: object, code: object, lines: Sequence[tuple[str, str]]) -> str:
    head = f"<b>{html.escape(str(nom))}</b> ({html.escape(str(code))})"
    body = "".join(f"<br>{html.escape(k)} : {html.escape(v)}" for k, v in lines)
    return head + body


def _add_choropleth(m: folium.Map, gdf: gpd.GeoDataFrame, column: str, label: str,
                    scheme: str, k: int, thresholds: Sequence[float] | None, decimales: int,
                    unit: str, extra_fields: Mapping[str, str] | None,
                    highlight: Sequence[str], layer_name: str) -> list[tuple[str, str, str]]:
    """Add the choropleth layer to ``m``; return the legend rows."""
    cls = classify(gdf[column], scheme, k, thresholds, decimales)
    colours = np.array(list(cls.colours) + [MISSING_COLOUR], dtype=object)
    fill = colours[np.where(cls.classes < 0, len(cls.colours), cls.classes)]
    selected = set(map(str, highlight))
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
        tips.append(_tooltip(row.get("nom", code), code, lines))
    codes = gdf.index.astype(str)
    props = pd.DataFrame({
        "code": codes,
        "_f": fill,
        "_o": ["#000000" if c in selected else "#5a5a5a" for c in codes],
        "_w": [3.5 if c in selected else 0.6 for c in codes],
        "_d": [None] * len(gdf),
        "_t": tips,
    })
    _GeoJsonLayer(_features(gdf, props), name=layer_name).add_to(m)
    rows = [(f"background:{col}", lab, f"{n} terr.")
            for col, lab, n in zip(cls.colours, cls.labels, cls.counts, strict=True)]
    n_missing = int((cls.classes < 0).sum())
    if n_missing:
        rows.append((f"background:{MISSING_COLOUR}", "Donnée manquante", f"{n_missing} terr."))
    if selected:
        rows.append(("background:transparent;border:3px solid #000", "Territoire choisi", ""))
    return rows


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
) -> folium.Map:
    """A choropleth of ``gdf[column]`` (index = territory code, column ``nom``).

    Parameters
    ----------
    gdf : GeoDataFrame
        Territories indexed by code, with ``nom``, ``geometry`` and the value column.
    column, label : str
        The value column and its French label (legend title, tooltip).
    scheme, k, thresholds, decimales : see :func:`classify`.
    unit : str
        Unit written after values and in the legend title.
    extra_fields : mapping column -> French label
        More values shown in the tooltip (formatted with :func:`fr.nombre`).
    highlight : sequence of str
        Codes drawn with a thick black outline (the selected territory).
    """
    m = base_map(gdf.total_bounds, tiles=tiles, assets=assets)
    rows = _add_choropleth(m, gdf, column, label, scheme, k, thresholds, decimales, unit,
                           extra_fields, highlight, layer_name)
    title = f"{label}{' (' + unit + ')' if unit else ''}"
    note = f"Classes : {SCHEMES[scheme].lower()}" + (f". {source_note}" if source_note else "")
    m.get_root().html.add_child(_legend(title, rows, note))
    return m


# --------------------------------------------------------------------------- structures
class _StructuresLayer(JSCSSMixin, Layer):
    """Clustered structures; rows ``[lat, lon, family index, nom, sector index, adresse,
    siret, precision index]`` with every text already escaped (``title``/``alt`` of a
    marker: "name – family", read by screen readers)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = (function () {
            // texts arrive HTML-escaped (for popups); a DOM title wants the plain text
            var txt = function (s) {
                var t = document.createElement("textarea"); t.innerHTML = s; return t.value; };
            var fam = {{ this.families|tojson }};
            var prec = {{ this.precisions|tojson }};
            var sect = {{ this.sectors|tojson }};
            var rows = {{ this.rows|tojson }};
            var cluster = L.markerClusterGroup({maxClusterRadius: 45,
                                                chunkedLoading: true});
            for (var i = 0; i < rows.length; i++) {
                var r = rows[i], f = fam[r[2]];
                var icon = L.divIcon({className: "", iconSize: [20, 20],
                    html: '<div class="ess-pt" style="width:18px;height:18px;background:'
                          + f[1] + '" aria-hidden="true">' + f[2] + '</div>'});
                var label = txt(r[3]) + ' – ' + txt(f[0]);
                var mk = L.marker([r[0], r[1]], {icon: icon, title: label, alt: label});
                mk.bindPopup('<b>' + r[3] + '</b><br>Famille : ' + f[0]
                    + '<br>Secteur : ' + sect[r[4]] + '<br>Adresse : ' + r[5]
                    + '<br>SIRET : ' + r[6] + '<br>Localisation : ' + prec[r[7]]);
                cluster.addLayer(mk);
            }
            cluster.addTo({{ this._parent.get_name() }});
            return cluster;
        })();
        {% endmacro %}
    """)

    def __init__(self, rows: list, families: list, precisions: list, sectors: list, name: str,
                 urls: dict):
        super().__init__(name=name, overlay=True, control=True, show=True)
        self._name = "StructuresLayer"
        self.rows, self.families, self.precisions = rows, families, precisions
        self.sectors = sectors
        self.default_js = [("markerclusterjs", urls["markercluster_js"])]
        self.default_css = [("markerclustercss", urls["markercluster_css"]),
                            ("markerclusterdefaultcss", urls["markercluster_default_css"])]


def _text(value: object) -> str:
    return "–" if value is None or (not isinstance(value, str) and pd.isna(value)) \
        else html.escape(str(value))


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
) -> folium.Map:
    """Structures clustered, coloured and lettered by ESS family, optionally over a choropleth
    (``background`` + ``background_column``) or over plain outlines (``background`` alone).

    ``structures`` needs ``latitude``, ``longitude``, ``nom``, ``famille_ess``, ``naf_libelle``
    (or ``naf``), ``adresse``, ``siret`` and ``location_precision``.  Rows without coordinates
    are skipped (the page says how many).  Popups show name, family, sector, address, SIRET and
    the location precision, all escaped.
    """
    urls = map_assets(assets)
    pts = structures.dropna(subset=["latitude", "longitude"])
    if background is not None:
        bounds = background.total_bounds
    elif len(pts):
        bounds = (pts.longitude.min(), pts.latitude.min(), pts.longitude.max(),
                  pts.latitude.max())
    else:
        bounds = None
    m = base_map(bounds, tiles=tiles, assets=urls)
    legend_rows: list[tuple[str, str, str]] = []
    title = "Structures de l'ESS"
    if background is not None and background_column is not None:
        legend_rows = _add_choropleth(m, background, background_column, background_label,
                                      scheme, k, None, 1, "", None, highlight, "Communes")
        legend_rows = [(st, lab, "") for st, lab, _ in legend_rows]
        title = f"Structures de l'ESS sur fond : {background_label}"
    elif background is not None:  # plain outlines, to find one's way without base tiles
        props = pd.DataFrame({
            "code": background.index.astype(str), "_f": "#ffffff", "_o": "#7a7a7a",
            "_w": 0.8, "_d": [None] * len(background),
            "_t": [_tooltip(n, c, []) for c, n in zip(background.index, background["nom"],
                                                        strict=True)],
        })
        _GeoJsonLayer(_features(background, props), name=background_label or "Limites",
                      fill_opacity=0.6).add_to(m)
    counts = pts["famille_ess"].fillna("autre").value_counts()
    if max_points is not None and len(pts) > max_points:
        pts = pts.sample(n=max_points, random_state=0)  # spread over the whole territory
    fam_codes = list(FAMILY_STYLE)
    families = [[html.escape(fr.libelle_famille(f)), FAMILY_STYLE[f][0], FAMILY_STYLE[f][1]]
                for f in fam_codes]
    prec_codes = list(fr.PRECISIONS) + ["?"]
    precisions = [html.escape(fr.libelle_precision(p)) for p in prec_codes]
    fam_idx = pd.Categorical(pts["famille_ess"].fillna("autre"), categories=fam_codes)
    fam_idx = np.where(fam_idx.codes < 0, fam_codes.index("autre"), fam_idx.codes)
    prec_idx = pd.Categorical(pts["location_precision"], categories=prec_codes[:-1]).codes
    prec_idx = np.where(prec_idx < 0, len(prec_codes) - 1, prec_idx)
    secteur = pts["naf_libelle"] if "naf_libelle" in pts else pts.get("naf")
    secteur = (pd.Series(secteur, index=pts.index) if secteur is not None
               else pd.Series(pd.NA, index=pts.index)).astype("string").fillna("–")
    sector_codes, sector_names = pd.factorize(secteur)
    sectors = [html.escape(str(v)) for v in sector_names]
    rows = [[float(lat), float(lon), int(fi), _text(nom), int(si), _text(adr), _text(siret),
             int(pi)]
            for lat, lon, fi, nom, si, adr, siret, pi in zip(
                pts["latitude"].round(5), pts["longitude"].round(5), fam_idx, pts["nom"],
                sector_codes, pts["adresse"], pts["siret"], prec_idx, strict=True)]
    _StructuresLayer(rows, families, precisions, sectors, "Structures de l'ESS",
                     urls).add_to(m)
    for f in fam_codes:
        colour, letter = FAMILY_STYLE[f]
        legend_rows.append((f"background:{colour};border-radius:50%;color:#fff;"
                            "font:bold 9px Arial;text-align:center;line-height:12px",
                            f"{letter} = {fr.libelle_famille(f)}",
                            fr.entier(counts.get(f, 0))))
    folium.LayerControl(collapsed=True).add_to(m)
    note = ("Un cercle numéroté regroupe plusieurs structures proches (le nombre indique "
            "combien) ; zoomez ou cliquez pour les séparer.")
    m.get_root().html.add_child(_legend(title, legend_rows, note))
    return m


# --------------------------------------------------------------------------- zones blanches
def zones_map(
    communes: gpd.GeoDataFrame,
    underserved: pd.Series,
    *,
    distance_column: str | None = None,
    structures: pd.DataFrame | None = None,
    tiles: TileSpec | None = None,
    assets: Mapping[str, str] | None = None,
    detail: Callable[[str, pd.Series], Sequence[tuple[str, str]]] | None = None,
) -> folium.Map:
    """Communes of a territory with the zones blanches filled orange and outlined dashed.

    ``underserved`` is a boolean Series indexed like ``communes`` (True = zone blanche).
    ``distance_column`` (km to the nearest structure) is shown in the tooltip.
    """
    flags = underserved.reindex(communes.index).fillna(False).astype(bool)
    tips = []
    for code, row in communes.iterrows():
        lines = [("Zone blanche", "oui" if flags[code] else "non")]
        if distance_column is not None and distance_column in communes:
            lines.append(("Distance à la structure la plus proche",
                          fr.nombre(row[distance_column], 1) + " km"))
        if "population" in communes:
            lines.append(("Population", fr.entier(row["population"])))
        if detail is not None:
            lines.extend(detail(code, row))
        tips.append(_tooltip(row.get("nom", code), code, lines))
    props = pd.DataFrame({
        "code": communes.index.astype(str),
        "_f": np.where(flags, "#f4a261", "#ffffff"),
        "_o": np.where(flags, "#7a2e00", "#8a8a8a"),
        "_w": np.where(flags, 2.0, 0.5),
        "_d": ["5 4" if f else None for f in flags],
        "_t": tips,
    })
    m = base_map(communes.total_bounds, tiles=tiles, assets=assets)
    _GeoJsonLayer(_features(communes, props), name="Communes", fill_opacity=0.7).add_to(m)
    urls = map_assets(assets)
    if structures is not None and len(structures):
        pts = structures.dropna(subset=["latitude", "longitude"])
        rows = [[round(float(a), 5), round(float(b), 5), _text(n)]
                for a, b, n in zip(pts["latitude"], pts["longitude"], pts["nom"], strict=True)]
        _PointsLayer(rows, "Structures retenues", urls).add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    rows_legend = [
        ("background:#f4a261;border:2px dashed #7a2e00",
         "Zone blanche (bordure en tirets)", fr.entier(int(flags.sum())) + " comm."),
        ("background:#ffffff;border:1px solid #8a8a8a", "Commune desservie",
         fr.entier(int((~flags).sum())) + " comm."),
    ]
    if structures is not None and len(structures):
        rows_legend.append(("background:#1b4f72;border-radius:50%", "Structure retenue", ""))
    m.get_root().html.add_child(_legend("Zones blanches", rows_legend))
    return m


class _PointsLayer(Layer):
    """Small circle markers ``[lat, lon, name]`` (names escaped), not clustered."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.layerGroup();
        (function () {
            var rows = {{ this.rows|tojson }};
            for (var i = 0; i < rows.length; i++) {
                L.circleMarker([rows[i][0], rows[i][1]], {radius: 2, stroke: false,
                    fillColor: "#1b4f72", fillOpacity: 0.8}).bindTooltip(rows[i][2])
                    .addTo({{ this.get_name() }});
            }
        })();
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {% endmacro %}
    """)

    def __init__(self, rows: list, name: str, urls: dict):
        super().__init__(name=name, overlay=True, control=True, show=True)
        self._name = "PointsLayer"
        self.rows = rows

