"""Zones blanches of a département, per kind of structure (the page « Zones blanches »).

The zones are those of :func:`indicators.zones.zones_blanches` (the one implementation),
computed on the département and the départements around it (so that a structure across
the border counts, and a zone crossing it is whole), then kept where they touch the
département.  The nearest structures of a zone are those nearest to **the centres of its
communes**, the distance the table's « distance minimale » uses
(:func:`indicators.coverage.nearest_distance_km`): the first one listed is at exactly that
distance.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import streamlit as st

from app_pages import common, loaders, logic
from render import fr

__all__ = ["ALL", "Zones", "default_kind", "kind_options", "nearest_text", "summary",
           "zones"]

#: The « all structures » kind.
ALL = "toutes"


@st.cache_resource(max_entries=16, show_spinner=False)
def _neighbourhood(serie: str, quarter: str, departement: str) -> gpd.GeoDataFrame:
    """Covered communes of the département and of the départements touching it."""
    ref = loaders.load_reference()
    deps = ref.departements
    if departement in deps.index:
        shape = deps.geometry.loc[departement]
        near = deps.index[deps.geometry.intersects(shape.buffer(0.01))]
    else:
        near = pd.Index([departement])
    scope = loaders.scope(serie, quarter)
    return scope[scope["departement"].astype("string").isin(near.astype(str))
                 .fillna(False).to_numpy(dtype=bool)]


@st.cache_resource(max_entries=16, show_spinner=False)
def _points(serie: str, quarter: str, departement: str) -> pd.DataFrame:
    from indicators.projection import commune_points

    return commune_points(_neighbourhood(serie, quarter, departement))


@st.cache_resource(max_entries=16, show_spinner=False)
def _nearby_structures(serie: str, quarter: str, departement: str) -> pd.DataFrame:
    """Active structures located in the neighbourhood of the département."""
    communes = _neighbourhood(serie, quarter, departement)
    structures = loaders.active(serie, quarter)
    return structures[logic.among(structures["commune"], communes.index)]


def _targets(serie: str, quarter: str, departement: str, column: str,
             kind: str) -> pd.DataFrame:
    """Active structures of the kind located in the neighbourhood."""
    structures = _nearby_structures(serie, quarter, departement)
    if kind == ALL:
        return structures
    return structures[(structures[column].astype("string") == kind).fillna(False)
                      .to_numpy(dtype=bool)]


class Zones:
    """Zones blanches touching a département: ``zones`` (indicators.zones), ``communes``
    (the blanche communes of the département: zone, distance_km, population),
    ``distance`` (km from every commune of the département to the nearest structure of
    the kind) and ``nearest`` (zone -> [(nom, commune, km)], centre distances)."""

    def __init__(self, zones: pd.DataFrame, communes: pd.DataFrame, distance: pd.Series,
                 nearest: dict[str, list[tuple[str, str, float]]]):
        self.zones, self.communes, self.distance, self.nearest = (zones, communes, distance,
                                                                  nearest)


def _nearest(zone_codes: list[str], points: pd.DataFrame, targets: pd.DataFrame,
             target_xy: pd.DataFrame, n: int = 3) -> list[tuple[str, str, float]]:
    from indicators.coverage import nearest_distance_km

    if not len(targets):
        return []
    k = min(n, len(targets))
    dist, pos = nearest_distance_km(points.loc[zone_codes], target_xy, k=max(k, 2))
    best: dict[int, float] = {}
    for d, p in zip(dist.ravel(), pos.ravel(), strict=True):
        if p >= 0 and np.isfinite(d):
            best[int(p)] = min(best.get(int(p), np.inf), float(d))
    ranked = sorted(best.items(), key=lambda item: item[1])[:n]
    return [(str(targets["nom"].iloc[p]) if pd.notna(targets["nom"].iloc[p])
             else str(targets["siret"].iloc[p]), str(targets["commune"].iloc[p]), d)
            for p, d in ranked]


@st.cache_resource(max_entries=64, show_spinner="Recherche des zones blanches…")
def zones(serie: str, quarter: str, departement: str, km: int, column: str,
          kind: str) -> Zones:
    """Zones blanches of one kind at ``km`` touching the département."""
    from indicators.coverage import nearest_distance_km
    from indicators.projection import structure_points
    from indicators.zones import zones_blanches

    communes = _neighbourhood(serie, quarter, departement)
    points = _points(serie, quarter, departement)
    targets = _targets(serie, quarter, departement, column, kind)
    density = loaders.density(serie, quarter)
    # n_nearest=0: the nearest structures are listed below by the centres' distance
    result = zones_blanches(communes, targets, density, distance_km=float(km), points=points,
                            n_nearest=0)
    inside = communes.index[(communes["departement"].astype("string") == departement)
                            .fillna(False).to_numpy(dtype=bool)]
    blanches = result.communes[result.communes.index.isin(inside)]
    kept = result.zones[result.zones.index.isin(blanches["zone"].unique())]
    target_xy = structure_points(targets, communes).reset_index(drop=True)
    distance = pd.Series(nearest_distance_km(points.loc[inside], target_xy), index=inside)
    nearest = {zone: _nearest(list(row["communes"]), points, targets, target_xy)
               for zone, row in kept.iterrows()}
    return Zones(kept, blanches, distance.replace(np.inf, np.nan), nearest)


def kind_options(ctx: logic.Context) -> dict[str, str]:
    """Kinds offered: all structures, then each kind present in the perimeter."""
    everything = ("Toutes les structures de l'ESS" if ctx.serie == "ess"
                  else "Toutes les structures du périmètre")
    return {ALL: everything, **common.kinds(ctx)}


def default_kind(ctx: logic.Context, departement: str, km: int,
                 options: dict[str, str]) -> str:
    """The kind a first visit opens on, so that the map shows something: the rarest kind
    near the département that has at least one zone blanche at ``km`` (most often the
    first one tried), else all structures."""
    column = common.kind_column(ctx)
    nearby = _nearby_structures(ctx.serie, ctx.quarter, departement)
    counts = nearby[column].astype("string").value_counts()
    for kind in sorted((k for k in options if k != ALL), key=lambda k: counts.get(k, 0)):
        if len(zones(ctx.serie, ctx.quarter, departement, km, column, kind).zones):
            return kind
    return ALL


def summary(ctx: logic.Context, departement: str, km: int,
            options: dict[str, str]) -> pd.DataFrame:
    """One row per kind: zones, communes and population concerned at ``km``."""
    column = common.kind_column(ctx)
    rows = []
    for kind, label in options.items():
        z = zones(ctx.serie, ctx.quarter, departement, km, column, kind)
        rows.append({"type_code": kind, "type": label, "zones": len(z.zones),
                     "communes": len(z.communes),
                     "population": int(pd.to_numeric(z.communes["population"]).sum())})
    return pd.DataFrame(rows)


def nearest_text(nearest: list[tuple[str, str, float]], names: pd.Series) -> str:
    """« Nom (Commune) à 12,3 km ; ... »."""
    return " ; ".join(f"{nom} ({names.get(commune, commune)}) à {fr.nombre(d, 1)} km"
                      for nom, commune, d in nearest) or "–"
