"""Maps of concentration: location quotients and hot and cold spots (Getis-Ord Gi*).

* :func:`quotient_map`: classes of the location quotient centred on 1 (the category weighs
  as much in the commune as in the reference), symmetric on a log scale (0,5 and 2 are as far
  from 1); communes with too few structures for a quotient to mean anything are grey and say
  why (« effectif trop faible »);
* :func:`hotspot_map`: « point chaud » (the commune *and its neighbours* have high values,
  more than chance would give), « point froid », « non significatif », with the z-score and
  the p-value in every tooltip.

Both follow the other maps (:mod:`render.maps`): neighbours in grey, names of the main
communes, metric scale, legend beside the territory.
"""

from __future__ import annotations

from collections.abc import Mapping

import folium
import geopandas as gpd
import numpy as np
import pandas as pd

from render import fr
from render.map_layers import TileSpec, label_rows, legend, tooltip
from render.maps import MISSING_COLOUR, classified_layer, count_text, finish_map, start_map

__all__ = ["HOTSPOT_CLASSES", "QUOTIENT_BOUNDS", "hotspot_map", "quotient_classes",
           "quotient_map"]

#: Upper bounds of the quotient classes (the last class is open).
QUOTIENT_BOUNDS = (0.5, 0.8, 1.25, 2.0)
_QUOTIENT_LABELS = ("Nettement sous-représentée (moins de 0,5)",
                    "Sous-représentée (0,5 à 0,8)",
                    "Proche de la référence (0,8 à 1,25)",
                    "Sur-représentée (1,25 à 2)",
                    "Nettement sur-représentée (plus de 2)")
# ColorBrewer PRGn (5 classes, colour-blind safe): purple under, green over
_QUOTIENT_COLOURS = ("#7b3294", "#c2a5cf", "#f7f7f7", "#a6dba0", "#008837")
#: Gi* class -> (colour, legend label).
HOTSPOT_CLASSES = {
    "point chaud": ("#d7301f", "Point chaud : valeurs élevées regroupées"),
    "point froid": ("#2c7bb6", "Point froid : valeurs faibles regroupées"),
    "non significatif": ("#f4f4f4", "Non significatif"),
}


def quotient_classes(lq: pd.Series) -> np.ndarray:
    """Class of each quotient (0 to 4, -1 when undefined): ``q < 0,5``, ``0,5 ≤ q < 0,8``,
    ``0,8 ≤ q ≤ 1,25``, ``1,25 < q ≤ 2``, ``q > 2`` (the middle class is closed on both
    sides, so that 0,8 and 1,25 — inverse of each other — are both « proche »)."""
    q = pd.to_numeric(lq, errors="coerce").astype("float64").to_numpy()
    out = np.full(len(q), -1, dtype=int)
    ok = np.isfinite(q)
    v = q[ok]
    out[ok] = np.select([v < 0.5, v < 0.8, v <= 1.25, v <= 2.0], [0, 1, 2, 3], default=4)
    return out


def quotient_map(layer: gpd.GeoDataFrame, lq: pd.Series, *, label: str,
                 structures: pd.Series | None = None, reason: pd.Series | None = None,
                 tiles: TileSpec | None = None, assets: Mapping[str, str] | None = None,
                 context: gpd.GeoDataFrame | None = None, labels: int | None = 15,
                 reference: str = "la référence") -> folium.Map:
    """The location quotient of one category by commune.

    Parameters
    ----------
    layer : GeoDataFrame
        Communes (index code, ``nom``, ``population``, geometry).
    lq : Series
        Quotient per commune (NA when undefined or not shown).
    label : str
        The category (« Associations »).
    structures : Series, optional
        Structures of the commune (all categories), shown in the tooltip.
    reason : Series, optional
        Why a quotient is missing (« effectif trop faible : 3 structures »).
    reference : str
        What the quotient compares with (« la France entière »).
    """
    values = pd.to_numeric(lq.reindex(layer.index), errors="coerce")
    classes = quotient_classes(values)
    why = (reason.reindex(layer.index) if reason is not None
           else pd.Series(pd.NA, index=layer.index, dtype="string"))
    tips = []
    for (code, row), value, c in zip(layer.iterrows(), values, classes, strict=True):
        lines = [(f"Quotient de localisation ({label})",
                  fr.nombre(value, 2) if pd.notna(value) else str(why[code])
                  if pd.notna(why[code]) else "non défini")]
        if c >= 0:
            lines.append(("Lecture", _QUOTIENT_LABELS[c].split(" (")[0]))
        if structures is not None:
            lines.append(("Structures de l'ESS", fr.entier(structures.get(code))))
        tips.append(tooltip(row.get("nom", code), code, lines))
    m, near = start_map(layer.total_bounds, context=context, exclude=layer.index,
                        tiles=tiles, assets=assets)
    classified_layer(m, layer, classes, _QUOTIENT_COLOURS, tips, layer_name="Quotients")
    rows = [(f"background:{col}", lab, count_text(int((classes == i).sum()), "commune"))
            for i, (col, lab) in enumerate(zip(_QUOTIENT_COLOURS, _QUOTIENT_LABELS,
                                               strict=True))]
    n_missing = int((classes < 0).sum())
    if n_missing:
        rows.append((f"background:{MISSING_COLOUR}", "Non calculé (effectif trop faible "
                     "ou aucune structure)", count_text(n_missing, "commune")))
    note = (f"Quotient = part de la catégorie parmi les structures de la commune, divisée "
            f"par sa part dans {reference}. 1 : même poids ; 2 : deux fois plus présente.")
    names = label_rows(layer, n=labels) if labels != 0 else []
    return finish_map(m, legend(f"Quotient de localisation : {label}", rows, note), names,
                      near)


def hotspot_map(layer: gpd.GeoDataFrame, result: pd.DataFrame, *, label: str,
                decimales: int = 1, tiles: TileSpec | None = None,
                assets: Mapping[str, str] | None = None,
                context: gpd.GeoDataFrame | None = None, labels: int | None = 15,
                threshold_text: str | None = None) -> folium.Map:
    """Hot and cold spots (Gi*) of ``label`` by commune.

    ``result`` is the frame of :func:`indicators.hotspots.hot_spots` (``valeur``, ``gi_z``,
    ``gi_p``, ``gi_classe``, ``motif_na``) indexed like ``layer``.
    """
    res = result.reindex(layer.index)
    kinds = list(HOTSPOT_CLASSES)
    cls = res["gi_classe"].astype("string")
    classes = np.array([kinds.index(c) if isinstance(c, str) and c in kinds else -1
                        for c in cls.fillna("")])
    tips = []
    for (code, row), (_, r) in zip(layer.iterrows(), res.iterrows(), strict=True):
        lines = [(label, fr.nombre(r["valeur"], decimales, manquant="donnée manquante"))]
        if pd.notna(r.get("gi_classe")):
            lines.append(("Résultat", str(r["gi_classe"]).capitalize()))
        if pd.notna(r.get("gi_z")):
            lines.append(("Score z (Gi*)", fr.nombre(r["gi_z"], 2)))
            lines.append(("Probabilité critique (p)", fr.nombre(r["gi_p"], 3)))
        if pd.notna(r.get("motif_na")):
            lines.append(("Remarque", str(r["motif_na"])))
        tips.append(tooltip(row.get("nom", code), code, lines))
    m, near = start_map(layer.total_bounds, context=context, exclude=layer.index,
                        tiles=tiles, assets=assets)
    classified_layer(m, layer, classes, [HOTSPOT_CLASSES[k][0] for k in kinds], tips,
                     layer_name="Points chauds et froids")
    rows = [(f"background:{HOTSPOT_CLASSES[k][0]}", HOTSPOT_CLASSES[k][1],
             count_text(int((classes == i).sum()), "commune")) for i, k in enumerate(kinds)]
    n_missing = int((classes < 0).sum())
    if n_missing:
        rows.append((f"background:{MISSING_COLOUR}", "Exclue de l'analyse",
                     count_text(n_missing, "commune")))
    note = ("Une commune est un point chaud quand elle et ses voisines ont ensemble des "
            "valeurs plus élevées que le hasard ne le donnerait."
            + (f" {threshold_text}" if threshold_text else ""))
    names = label_rows(layer, n=labels) if labels != 0 else []
    return finish_map(m, legend(f"Points chauds et froids : {label}", rows, note), names,
                      near)
