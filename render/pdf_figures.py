"""Static figures of the PDF fiche (matplotlib object API: no pyplot, thread-safe).

* :func:`static_map_png`: sub-territories on a **light grey** ramp (the indicator stays
  readable, and the fill is always lighter than the symbols), structures as family-coloured
  dots **edged in white** (visible on any fill), the **names of the main communes**, a
  **scale bar** in kilometres and the legend beside the map;
* :func:`evolution_png`: the number of structures over the quarters, the territory and its
  reference (as an index base 100 when their sizes differ too much to share an axis).
"""

from __future__ import annotations

import io
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from matplotlib import patheffects
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle

from render import fr
from render.classes import classify
from render.kinds import kind_style
from render.maps import MISSING_COLOUR

__all__ = ["GREYS", "evolution_png", "evolution_series", "nice_length_km", "static_map_figure",
           "static_map_png"]

#: Light grey ramp of the PDF map's classes (the darkest stays lighter than every symbol).
GREYS = ("#f6f6f6", "#e3e3e3", "#cfcfcf", "#bababa", "#a3a3a3")
_HALO = [patheffects.withStroke(linewidth=2.2, foreground="white")]


def _cos_lat(gdf: gpd.GeoDataFrame) -> float:
    if not len(gdf):
        return 1.0
    _, miny, _, maxy = gdf.total_bounds
    return math.cos(math.radians((miny + maxy) / 2))


def nice_length_km(width_km: float) -> float:
    """A round scale-bar length close to a quarter of the map width (1, 2, 5 × 10^n km).

    >>> nice_length_km(80), nice_length_km(9), nice_length_km(300)
    (20.0, 2.0, 50.0)
    """
    target = max(width_km / 4, 1e-3)
    power = 10 ** math.floor(math.log10(target))
    return float(max(s * power for s in (1, 2, 5) if s * power <= target))


def _scale_bar(ax, bounds, cos_lat: float) -> None:
    """A black and white bar of a round number of km, bottom left, with its length."""
    minx, miny, maxx, maxy = bounds
    km_per_degree = 111.32 * cos_lat
    length_km = nice_length_km((maxx - minx) * km_per_degree)
    length = length_km / km_per_degree
    x0 = minx + (maxx - minx) * 0.03
    y0 = miny + (maxy - miny) * 0.03
    h = (maxy - miny) * 0.012
    for i in range(2):
        ax.add_patch(Rectangle((x0 + i * length / 2, y0), length / 2, h, zorder=6,
                               facecolor="black" if i == 0 else "white",
                               edgecolor="black", linewidth=0.6))
    label = f"{fr.nombre(length_km, 0 if length_km >= 1 else 1)} km"
    ax.text(x0 + length / 2, y0 + h * 1.8, label, ha="center", va="bottom", fontsize=7,
            zorder=6, path_effects=_HALO)


def _names(ax, fig, territoires: gpd.GeoDataFrame, n: int) -> None:
    """Names of the ``n`` most populated territories, with a white halo; a name that would
    overlap one already written is skipped."""
    if "nom" not in territoires or not len(territoires):
        return
    weight = (pd.to_numeric(territoires["population"], errors="coerce")
              if "population" in territoires
              else pd.Series(shapely.area(territoires.geometry.to_numpy()),
                             index=territoires.index))
    order = weight.fillna(0).sort_values(ascending=False, kind="stable").index[: n * 2]
    points = territoires.loc[order].geometry.representative_point()
    renderer = fig.canvas.get_renderer()
    placed = []
    for code, point in points.items():
        if len(placed) >= n:
            break
        text = ax.text(point.x, point.y, str(territoires.at[code, "nom"]), fontsize=7,
                       ha="center", va="center", zorder=7, color="#111111",
                       fontweight="bold", path_effects=_HALO)
        box = text.get_window_extent(renderer=renderer).expanded(1.08, 1.2)
        if any(box.overlaps(other) for other in placed):
            text.remove()
        else:
            placed.append(box)


def static_map_png(territoires: gpd.GeoDataFrame, structures: pd.DataFrame | None = None,
                   column: str = "structures_per_10k",
                   label: str = "Structures pour 10 000 habitants", dpi: int = 150,
                   names: int = 8, size: tuple[float, float] = (7.0, 6.0),
                   kind_column: str = "famille_ess") -> bytes:
    """The map of :func:`static_map_figure` as PNG bytes."""
    fig = static_map_figure(territoires, structures, column, label, dpi, names, size,
                            kind_column)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def static_map_figure(territoires: gpd.GeoDataFrame, structures: pd.DataFrame | None = None,
                      column: str = "structures_per_10k",
                      label: str = "Structures pour 10 000 habitants", dpi: int = 150,
                      names: int = 8, size: tuple[float, float] = (7.0, 6.0),
                      kind_column: str = "famille_ess") -> Figure:
    """A map: territories classed in quantiles (light greys), structures as white-edged
    dots coloured by ESS family (or by insertion type, ``kind_column="type_structure"``,
    the colours of the app's maps: :func:`render.kinds.kind_style`), names of the main
    territories, a scale bar, the legend under the map (so that the map has the full
    width)."""
    fig = Figure(figsize=size, dpi=dpi)
    FigureCanvasAgg(fig)  # a renderer, to measure the names (no pyplot)
    legend_h = min(0.45, 1.05 / size[1])  # the legend takes ~1 inch under the map
    ax = fig.add_axes((0.005, legend_h, 0.99, 0.995 - legend_h))
    ax.set_axis_off()
    handles = []
    if len(territoires):
        cls = classify(territoires[column], "quantiles", 5)
        ramp = np.asarray(GREYS)[np.linspace(0, len(GREYS) - 1, max(1, len(cls.colours)))
                                 .round().astype(int)]
        colours = [ramp[c] if c >= 0 else MISSING_COLOUR for c in cls.classes]
        territoires.plot(ax=ax, color=colours, edgecolor="#8c8c8c", linewidth=0.3)
        handles += [Patch(facecolor=c, edgecolor="#8c8c8c", label=lab)
                    for c, lab in zip(ramp, cls.labels, strict=True)]
    kinds = kind_style(kind_column, structures)
    if structures is not None and len(structures):
        pts = structures.dropna(subset=["longitude", "latitude"])
        size_pt = 16 if len(pts) < 400 else 9 if len(pts) < 3000 else 5
        found = pts[kinds.column].fillna("autre")
        for code, (colour, text) in kinds.style.items():
            sel = pts[(found == code).to_numpy(dtype=bool)]
            if len(sel):
                ax.scatter(sel["longitude"], sel["latitude"], s=size_pt, c=colour,
                           linewidths=0.5, edgecolors="white", zorder=4)
                name = kinds.labels[code] if len(text) > 1 else f"{text} {kinds.labels[code]}"
                handles.append(Line2D([], [], marker="o", linestyle="", color=colour,
                                      markeredgecolor="white", markersize=6, label=name))
    if len(territoires):
        minx, miny, maxx, maxy = territoires.total_bounds
        padx, pady = (maxx - minx) * 0.02, (maxy - miny) * 0.02
        ax.set_xlim(minx - padx, maxx + padx)
        ax.set_ylim(miny - pady, maxy + pady)
        cos_lat = _cos_lat(territoires)
        ax.set_aspect(1 / max(0.2, cos_lat))
        _scale_bar(ax, (minx, miny, maxx, maxy), cos_lat)
        _names(ax, fig, territoires, names)
    patches = [h for h in handles if isinstance(h, Patch)]
    dots = [h for h in handles if not isinstance(h, Patch)]
    if patches:  # the classes on the left, the families on the right
        fig.legend(handles=patches, title=label, loc="upper left", fontsize=7,
                   bbox_to_anchor=(0.04, legend_h), title_fontsize=7, frameon=False,
                   alignment="left")
    if dots:  # long type names: one column
        family = kinds.column == "famille_ess"
        fig.legend(handles=dots, title="Structures (famille de l'ESS)" if family
                   else "Structures (type)", loc="upper left", ncols=2 if family else 1,
                   bbox_to_anchor=(0.45, legend_h), fontsize=7 if family else 6.5,
                   title_fontsize=7, frameon=False, alignment="left")
    return fig


def evolution_series(evolution: pd.DataFrame) -> tuple[pd.DataFrame, bool]:
    """(quarters × territories, indexed): the values, or an index base 100 at the first
    quarter when the largest series is more than three times the smallest."""
    data = evolution.dropna(subset=["valeur"]).copy()
    data["trimestre"] = data["trimestre"].astype(str)
    quarters = sorted(data["trimestre"].unique())
    series = list(dict.fromkeys(data["territoire"].astype(str)))
    wide = data.pivot_table(index="trimestre", columns="territoire", values="valeur",
                            aggfunc="first").reindex(index=quarters, columns=series)
    indexed = len(series) > 1 and wide.max().max() > 3 * max(wide.max().min(), 1e-9)
    if indexed:
        wide = wide / wide.bfill().iloc[0] * 100
    return wide, indexed


def tick_decimals(ticks) -> int:
    """Decimals that tell the ticks of an axis apart (a density between 94,8 and 95,3 has
    ticks every 0,1: one decimal, not six labels reading « 95 »); at most two.

    >>> tick_decimals([94.7, 94.8, 94.9]), tick_decimals([0, 500, 1000]), tick_decimals([1, 1.05])
    (1, 0, 2)
    """
    ticks = np.asarray(ticks, dtype="float64")
    steps = np.diff(np.unique(ticks))
    if not len(steps) or steps.min() >= 1:
        return 0
    return int(min(2, np.ceil(-np.log10(steps.min()) - 1e-9)))


def evolution_png(evolution: pd.DataFrame, *, label: str = "Structures de l'ESS actives",
                  dpi: int = 150, size: tuple[float, float] = (7.0, 2.6)) -> bytes:
    """Line chart of ``evolution`` (``trimestre``, ``territoire``, ``valeur``) by quarter,
    quarters written « T4 2026 », numbers ``1 234``.  When the largest series is more than
    three times the smallest, every series is shown as an index (base 100 at the first
    quarter) so that they can share the axis."""
    wide, indexed = evolution_series(evolution)
    quarters, series = list(wide.index), list(wide.columns)
    fig = Figure(figsize=size, dpi=dpi)
    ax = fig.add_axes((0.11, 0.2, 0.58, 0.72))
    colours = ["#0072B2", "#E69F00", "#009E73", "#CC79A7"]
    x = np.arange(len(quarters))
    for i, name in enumerate(series):
        ax.plot(x, wide[name].to_numpy(dtype=float), marker="o", markersize=4, linewidth=1.8,
                color=colours[i % len(colours)], label=name)
    ax.set_xticks(x, [fr.trimestre_court(q) for q in quarters], fontsize=7)
    ax.tick_params(axis="y", labelsize=7)
    decimals = tick_decimals(ax.get_yticks())
    ax.yaxis.set_major_formatter(lambda v, _pos: fr.nombre(v, decimals))
    ax.set_ylabel(f"Indice (base 100 au {fr.trimestre_court(quarters[0])})" if indexed
                  else label, fontsize=7)
    ax.grid(axis="y", color="#dddddd", linewidth=0.6)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if len(quarters) == 1:
        ax.set_xlim(-0.5, 0.5)
    fig.legend(loc="upper left", bbox_to_anchor=(0.71, 0.92), fontsize=7, frameon=False,
               title="Territoire", title_fontsize=7)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()
