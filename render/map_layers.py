"""Leaflet building blocks of the observatory's maps (folium elements with our own templates).

* :func:`base_map`: local Leaflet, no tiles unless given, a **metric-only** scale, the map
  **fitted to the data** with room kept for the legend (so that the legend, bottom right and
  foldable, never covers the territory at the opening view; it starts folded on narrow maps);
* :class:`GeoJsonLayer`: polygons styled per feature, escaped tooltips;
* :class:`ContextLayer`: neighbouring territories in light grey, not interactive;
* :class:`LabelsLayer`: permanent names (territories, zones), under the markers, decluttered
  at every zoom in priority order (a name that would overlap a more important one is hidden);
* :func:`legend`: the legend box (``<details>``, so it can be folded away).

Everything that comes from the data is escaped before it reaches the page: texts with
:func:`html.escape` (:func:`escape`), data embedded in scripts as HTML-safe JSON written in
after the templates are rendered (:mod:`render.map_payload`).
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, MacroElement
from folium.map import Layer
from folium.template import Template

from render.map_payload import CarriesData

__all__ = [
    "CONTEXT_FILL",
    "ContextLayer",
    "FitToData",
    "GeoJsonLayer",
    "LabelsLayer",
    "MetricScale",
    "TileSpec",
    "METROPOLE",
    "base_map",
    "context_features",
    "context_rows",
    "escape",
    "features",
    "label_rows",
    "legend",
    "map_assets",
    "rounded_geometry",
    "tooltip",
    "view_bounds",
]

_BACKGROUND = "#eef1f4"
CONTEXT_FILL = "#e2e2e2"
# Conventional locations of the vendored files (used when observatory.assets is absent).
_DEFAULT_ASSETS = {
    "leaflet_js": "/app/static/vendor/leaflet/leaflet.js",
    "leaflet_css": "/app/static/vendor/leaflet/leaflet.css",
    "markercluster_js": "/app/static/vendor/leaflet.markercluster/leaflet.markercluster.js",
    "markercluster_css": "/app/static/vendor/leaflet.markercluster/MarkerCluster.css",
    "markercluster_default_css":
        "/app/static/vendor/leaflet.markercluster/MarkerCluster.Default.css",
}
_CSS = (
    "<style>.leaflet-container{background:" + _BACKGROUND + ";"
    "font-family:Marianne,Arial,sans-serif;}"
    ".legende-carte{position:absolute;z-index:1000;bottom:24px;right:10px;"
    "background:rgba(255,255,255,.96);padding:8px 10px;border:1px solid #888;"
    "border-radius:4px;font:12px/1.4 Arial,sans-serif;color:#161616;max-width:250px;"
    "max-height:calc(100% - 110px);overflow:auto;box-shadow:0 1px 4px rgba(0,0,0,.25)}"
    ".legende-carte .titre{font-weight:bold;margin-bottom:4px;cursor:pointer}"
    ".legende-carte .cle{display:inline-block;width:16px;height:12px;margin-right:6px;"
    "vertical-align:middle;border:1px solid #555}"
    ".legende-carte .vide{color:#6a6a6a;font-style:italic}"
    ".legende-carte .note{margin-top:4px;font-size:11px;color:#333}"
    ".legende-carte .alerte{margin-top:4px;font-size:11px;color:#8a1c00;font-weight:bold}"
    ".ess-pt{display:flex;align-items:center;justify-content:center;border-radius:50%;"
    "color:#fff;font:bold 11px Arial,sans-serif;border:1.5px solid #fff;"
    "box-shadow:0 0 2px #000}"
    # clusters: neutral dark grey, so that only the family markers carry colour
    ".ess-cluster{display:flex;align-items:center;justify-content:center;border-radius:50%;"
    "background:rgba(45,45,45,.82);color:#fff;border:2px solid #fff;"
    "box-shadow:0 0 3px rgba(0,0,0,.55);font:bold 12px Arial,sans-serif}"
    ".etiquette span{position:absolute;transform:translate(-50%,-50%);white-space:nowrap;"
    "font:600 12px Arial,sans-serif;color:#1e1e1e;pointer-events:none;"
    "text-shadow:0 0 3px #fff,0 0 3px #fff,0 0 2px #fff,0 0 1px #fff}"
    ".etiquette.contexte span{color:#777;font-style:italic;font-weight:normal}"
    ".etiquette.zone span{color:#7a2e00;font-weight:bold;background:rgba(255,255,255,.9);"
    "border:1px solid #7a2e00;border-radius:3px;padding:0 3px;text-shadow:none}"
    "</style>"
)


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


# --------------------------------------------------------------------------- map controls
class MetricScale(MacroElement):
    """Leaflet's scale bar in kilometres and metres only (no miles, no feet)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        L.control.scale({metric: true, imperial: false, maxWidth: 160,
                         position: "bottomleft"}).addTo({{ this._parent.get_name() }});
        {% endmacro %}
    """)

    def __init__(self):
        super().__init__()
        self._name = "MetricScale"


class FitToData(MacroElement):
    """Fit the map to the data bounds, keeping the legend's width free on the right (the
    legend sits beside the territory, not over it); on a map narrower than 700 px the
    legend starts folded and no room is kept.  A map created hidden (in an inactive tab) is
    fitted again once it is shown."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }};
            var bounds = L.latLngBounds({{ this.bounds|tojson }});
            var legend = map.getContainer().ownerDocument.querySelector(".legende-carte");
            function fit() {
                var right = 24;
                if (legend) {
                    if (map.getSize().x < 700 && !legend.dataset.touched) {
                        legend.removeAttribute("open");
                    }
                    if (legend.open) { right = legend.offsetWidth + 30; }
                }
                map.fitBounds(bounds, {paddingTopLeft: [24, 24],
                                       paddingBottomRight: [right, 24], maxZoom: 15});
            }
            if (legend) {
                legend.addEventListener("toggle", function () {
                    legend.dataset.touched = "1"; });
            }
            // A map drawn while hidden (an inactive tab) has no size yet: fit it again when
            // it gets one, and on every resize until the user has moved it.
            var moved = false, box = map.getContainer();
            ["mousedown", "wheel", "touchstart", "keydown"].forEach(function (e) {
                box.addEventListener(e, function () { moved = true; }, {passive: true}); });
            map.on("resize", function () { if (!moved) { fit(); } });
            fit();
        })();
        {% endmacro %}
    """)

    def __init__(self, bounds: Sequence[float]):
        super().__init__()
        self._name = "FitToData"
        minx, miny, maxx, maxy = (float(b) for b in bounds)
        self.bounds = [[round(miny, 6), round(minx, 6)], [round(maxy, 6), round(maxx, 6)]]


class RawHtml(Element):
    """HTML written as is into the page: never read as a Jinja template (a ``{{`` in a
    label stays text) and never compiled again for each map."""

    _template = Template("{{ this.markup }}")

    def __init__(self, markup: str):
        super().__init__()
        self._name = "RawHtml"
        self.markup = markup


def base_map(bounds: Sequence[float] | None = None, *, tiles: TileSpec | None = None,
             assets: Mapping[str, str] | None = None, height: str = "100%") -> folium.Map:
    """An empty map using the local Leaflet, fitted to ``bounds`` (minx, miny, maxx, maxy).

    With ``tiles=None`` there is no base layer: the map has a light background and shows
    only the data layers (the app works with no network).  The scale is metric only.
    """
    urls = map_assets(assets)
    m = folium.Map(location=[46.6, 2.4], zoom_start=6, tiles=None, control_scale=False,
                   height=height, prefer_canvas=True, zoom_snap=0.25, zoom_delta=0.5)
    # Without a tile layer Leaflet has no zoom range, which markercluster requires.
    m.options["maxZoom"] = 18
    m.options["minZoom"] = 4
    m.default_js = [("leaflet", urls["leaflet_js"])]
    m.default_css = [("leaflet_css", urls["leaflet_css"])]
    m.get_root().header.add_child(RawHtml(_CSS), name="observatoire_css")
    m.get_root().header.add_child(
        RawHtml('<meta http-equiv="Content-Language" content="fr">'), name="lang")
    if tiles is not None:
        folium.TileLayer(tiles=tiles.url, attr=tiles.attribution, name=tiles.name,
                         control=False).add_to(m)
    MetricScale().add_to(m)
    if bounds is not None and np.all(np.isfinite(bounds)):
        minx, miny, maxx, maxy = (float(b) for b in bounds)
        m.location = [(miny + maxy) / 2, (minx + maxx) / 2]
        # runs after the page is parsed, when the legend (if any) is in the document
        FitToData((minx, miny, maxx, maxy)).add_to(m)
    return m


#: Metropolitan France with Corsica (WGS84 bounds), told apart from the overseas départements.
METROPOLE = (-5.6, 41.2, 9.8, 51.2)


def view_bounds(x, y, extents=None) -> tuple[float, float, float, float] | None:
    """The bounds a map opens on: those of every place, or, when the places are both in
    metropolitan France and overseas, those of the metropolitan ones (Paris to Réunion does
    not fit at Leaflet's smallest zoom: the map opened on the ocean; the overseas places stay
    on the map, a pan away).  ``x``, ``y``: a point of each place; ``extents``: the
    (minx, miny, maxx, maxy) of each place (its points when None)."""
    x = np.asarray(x, dtype="float64")
    y = np.asarray(y, dtype="float64")
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        return None
    inside = ok & (x >= METROPOLE[0]) & (x <= METROPOLE[2]) & (y >= METROPOLE[1]) \
        & (y <= METROPOLE[3])
    keep = inside if inside.any() and (ok & ~inside).any() else ok
    box = (np.column_stack([x, y, x, y]) if extents is None
           else np.asarray(extents, dtype="float64"))[keep]
    return (float(box[:, 0].min()), float(box[:, 1].min()), float(box[:, 2].max()),
            float(box[:, 3].max()))


def legend(title: str, rows: Sequence[tuple[str, str, str]], note: str | None = None,
           alerts: Sequence[str] = ()) -> Element:
    """A legend box: rows of (swatch CSS, label, count text); everything escaped.  A row
    whose count text starts with « aucun(e) » (an empty class) is written in grey italics."""
    items = "".join(
        ('<div class="vide">' if count.startswith("aucun") else "<div>")
        + f'<span class="cle" style="{style}"></span>{escape(label)}'
        + (f" <small>({escape(count)})</small>" if count else "") + "</div>"
        for style, label, count in rows
    )
    extra = "".join(f'<div class="alerte">{escape(a)}</div>' for a in alerts)
    extra += f'<div class="note">{escape(note)}</div>' if note else ""
    # <details>: the legend can be folded away when the map is small
    return RawHtml(
        f'<details open class="legende-carte" role="group" '
        f'aria-label="Légende : {escape(title)}">'
        f'<summary class="titre">{escape(title)}</summary>{items}{extra}</details>'
    )


# --------------------------------------------------------------------------- geometry
def escape(value: object) -> str:
    """Text of the data made safe for a map: HTML-escaped, and ``{`` ``}`` written as
    character references.  Branca renders what each layer's template wrote a *second* time,
    as a Jinja template: a name holding ``{{ … }}`` would otherwise run as template code
    on the server (and ``{% x %}`` would break the page)."""
    return html.escape(str(value)).replace("{", "&#123;").replace("}", "&#125;")


def rounded_geometry(gdf: gpd.GeoDataFrame, decimals: int = 5) -> gpd.GeoSeries:
    """Round coordinates (1e-5 degree ~ 1 m) so that map HTML stays small."""
    if gdf.crs is not None and gdf.crs.to_epsg() != 4326:
        gdf = gdf.to_crs(4326)
    geoms = shapely.transform(gdf.geometry.to_numpy(), lambda c: np.round(c, decimals))
    return gpd.GeoSeries(geoms, index=gdf.index, crs=4326)


def features(gdf: gpd.GeoDataFrame, props: pd.DataFrame) -> dict:
    """A GeoJSON FeatureCollection of ``gdf`` with ``props`` as properties."""
    geoms = rounded_geometry(gdf)
    out = []
    props = props.astype(object)
    records = props.where(props.notna(), None).to_dict("records")
    for geom, rec in zip(shapely.to_geojson(geoms.to_numpy()), records, strict=True):
        out.append({"type": "Feature", "geometry": json.loads(geom), "properties": rec})
    return {"type": "FeatureCollection", "features": out}


def tooltip(nom: object, code: object, lines: Sequence[tuple[str, str]]) -> str:
    """Tooltip HTML: name in bold, code, then « label : value » lines (all escaped)."""
    head = f"<b>{escape(nom)}</b> ({escape(code)})"
    body = "".join(f"<br>{escape(k)} : {escape(v)}" for k, v in lines)
    return head + body


# --------------------------------------------------------------------------- layers
class GeoJsonLayer(CarriesData, Layer):
    """A GeoJSON layer styled from per-feature properties, with pre-escaped tooltips.

    Properties used: ``_f`` fill colour, ``_o`` outline colour, ``_w`` outline weight,
    ``_d`` dash array (or null), ``_t`` tooltip HTML (already escaped).
    """

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.geoJSON({{ this.payload("data") }}, {
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


class ContextLayer(CarriesData, Layer):
    """Neighbouring territories in light grey, below the data, not interactive."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.geoJSON({{ this.payload("data") }}, {
            interactive: false,
            style: function () {
                return {fillColor: "{{ this.fill }}", fillOpacity: 1, color: "#b4b4b4",
                        weight: 0.8, opacity: 1};
            }
        });
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {% endmacro %}
    """)

    def __init__(self, context: gpd.GeoDataFrame | dict, name: str = "Territoires voisins"):
        """``context``: the neighbours (a GeoDataFrame), or their GeoJSON already made by
        :func:`context_features` (a map drawn again and again over the same place)."""
        super().__init__(name=name, overlay=True, control=False, show=True)
        self._name = "ContextLayer"
        self.fill = CONTEXT_FILL
        self.data = context if isinstance(context, dict) else context_features(context)


def context_features(context: gpd.GeoDataFrame) -> dict:
    """The GeoJSON of the neighbours drawn by :class:`ContextLayer` (no properties)."""
    return features(context, pd.DataFrame(index=context.index))


class LabelsLayer(CarriesData, Layer):
    """Permanent labels ``[lat, lon, text (escaped), css class, priority]``, decluttered at
    every zoom: a label overlapping a more important one (lower priority number) is hidden."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = (function () {
            var map = {{ this._parent.get_name() }};
            if (!map.getPane("etiquettes")) {
                var pane = map.createPane("etiquettes");
                pane.style.zIndex = 550; pane.style.pointerEvents = "none";  // under markers
            }
            var rows = {{ this.payload("rows") }};
            rows.sort(function (a, b) { return a[4] - b[4]; });
            var group = L.layerGroup(), marks = [];
            rows.forEach(function (r) {
                var mk = L.marker([r[0], r[1]], {interactive: false, keyboard: false,
                    pane: "etiquettes", icon: L.divIcon({className: "etiquette " + r[3],
                        html: "<span>" + r[2] + "</span>", iconSize: [0, 0]})});
                group.addLayer(mk); marks.push(mk);
            });
            function declutter() {
                var placed = [];
                marks.forEach(function (mk) {
                    var el = mk.getElement(); if (!el) { return; }
                    var span = el.firstChild; span.style.visibility = "visible";
                    var b = span.getBoundingClientRect();
                    var hit = placed.some(function (p) {
                        return !(b.right + 3 < p.left || b.left - 3 > p.right
                                 || b.bottom + 1 < p.top || b.top - 1 > p.bottom); });
                    if (hit) { span.style.visibility = "hidden"; } else { placed.push(b); }
                });
            }
            group.addTo(map);
            map.on("zoomend moveend", declutter);
            setTimeout(declutter, 0);
            return group;
        })();
        {% endmacro %}
    """)

    def __init__(self, rows: list, name: str = "Noms"):
        super().__init__(name=name, overlay=True, control=True, show=True)
        self._name = "LabelsLayer"
        self.rows = rows


def label_rows(gdf: gpd.GeoDataFrame, *, n: int | None = 12, css: str = "",
               priority: int = 10, text: pd.Series | None = None) -> list:
    """Label rows of the ``n`` most populated territories of ``gdf`` (all when ``n`` is
    None; by area without a ``population`` column), placed at a point inside each one."""
    if gdf is None or not len(gdf):
        return []
    names = (text if text is not None else gdf["nom"]).astype("string")
    # without population, the largest first (area in square degrees: a ranking only)
    weight = (pd.to_numeric(gdf["population"], errors="coerce") if "population" in gdf
              else pd.Series(shapely.area(gdf.geometry.to_numpy()), index=gdf.index))
    order = weight.fillna(0).sort_values(ascending=False, kind="stable").index
    if "_etiquette" in gdf:  # neighbours: named where they touch the data (context_rows)
        order = [c for c in order if gdf.at[c, "_etiquette"] is not None]
    if n is not None:
        order = order[:n]
    if "_etiquette" in gdf:
        points = gpd.GeoSeries(list(gdf.loc[order, "_etiquette"]), index=order, crs=4326)
    else:
        points = rounded_geometry(gdf.loc[order]).representative_point()
    return [[round(float(p.y), 5), round(float(p.x), 5), escape(names[c]), css,
             priority + i] for i, (c, p) in enumerate(points.items())
            if pd.notna(names[c]) and not p.is_empty]


def context_rows(context: gpd.GeoDataFrame | None, bounds: Sequence[float],
                 exclude: Sequence[str] = (), margin: float = 1.2) -> gpd.GeoDataFrame | None:
    """The neighbours to draw: territories of ``context`` (not in ``exclude``) within the data
    bounds widened on every side by ``margin`` times their larger side (the opening view of
    a wide map shows that much around a tall territory), clipped to that window so that the
    page stays small.  Give a coarser level than the data (départements around the communes
    of one département), not thousands of communes."""
    if context is None or not len(context):
        return None
    minx, miny, maxx, maxy = (float(b) for b in bounds)
    side = max(maxx - minx, (maxy - miny) * 1.5) * margin + 0.05
    dx, dy = side, side
    window = shapely.box(minx - dx, miny - dy, maxx + dx, maxy + dy)
    ctx = context[~context.index.astype(str).isin(set(map(str, exclude)))]
    if ctx.crs is not None and ctx.crs.to_epsg() != 4326:
        ctx = ctx.to_crs(4326)
    ctx = ctx[ctx.intersects(window)]
    if not len(ctx):
        return None
    clipped = ctx.copy()
    clipped["geometry"] = ctx.geometry.intersection(window)
    # where to write a neighbour's name: inside it, close to the data (in the opening view)
    near = shapely.box(minx - (maxx - minx) * 0.12, miny - (maxy - miny) * 0.08,
                       maxx + (maxx - minx) * 0.12, maxy + (maxy - miny) * 0.08)
    spots = ctx.geometry.intersection(near)
    clipped["_etiquette"] = [None if g.is_empty else g.representative_point()
                             for g in spots]
    return clipped[~clipped.geometry.is_empty]
