"""Validation of the reference geography: collect every problem, then fail loudly.

:func:`validate_reference` checks, for the commune layer and the dissolved layers:
unique codes, a département and a région for every commune, valid non-empty geometries
(communes known to have no geometry are allowed, they are logged in ``repairs.csv``),
the WGS84 CRS, and that every member of the official EPCI composition is a commune of
the layer.  The 4 island communes that belong to no EPCI (Île-de-Bréhat, Île-de-Sein,
Ouessant, Île-d'Yeu) are legitimate.
"""

from __future__ import annotations

import pandas as pd
import shapely

from geodata.crs import WGS84
from observatory.errors import CRSMismatchError, DataValidationError, explain

__all__ = ["ISLAND_COMMUNES", "validate_reference"]

ISLAND_COMMUNES = ("22016", "29083", "29155", "85113")


def _layer_problems(name: str, layer, known_empty=()) -> list[tuple[str, str, str]]:
    problems = []
    duplicated = layer.index[layer.index.duplicated()].unique()
    problems += [(name, "code_duplique", str(c)) for c in duplicated]
    problems += [(name, "code_manquant", "") for _ in range(int(pd.isna(layer.index).sum()))]
    geoms = layer.geometry.values
    empty = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    allowed = pd.Index(list(known_empty), dtype="string")
    for code in layer.index[empty & ~layer.index.isin(allowed)]:
        problems.append((name, "geometrie_vide", str(code)))
    invalid = ~empty & ~shapely.is_valid(geoms)
    for code, geom in zip(layer.index[invalid], geoms[invalid], strict=True):
        problems.append((name, "geometrie_invalide",
                         f"{code}: {shapely.is_valid_reason(geom)}"))
    return problems


def validate_reference(communes, *, epci=None, departements=None, regions=None,
                       epci_members: pd.DataFrame | None = None, known_empty=(),
                       allowed_without_epci=ISLAND_COMMUNES) -> None:
    """Check the reference layers; raise one error listing every offender.

    Parameters
    ----------
    communes : GeoDataFrame
        Index ``code``; columns ``epci``, ``departement``, ``region``, ``geometry``.
    epci, departements, regions : GeoDataFrame, optional
        Dissolved layers indexed by code.
    epci_members : DataFrame, optional
        Official composition (``epci``, ``commune``).
    known_empty : iterable of str
        Communes allowed to have an empty geometry (logged elsewhere).
    allowed_without_epci : iterable of str
        Communes allowed outside any EPCI.

    Raises
    ------
    CRSMismatchError
        A layer is not in EPSG:4326.
    DataValidationError
        Any other problem; ``offenders`` holds ``(layer, check, detail)`` tuples.
    """
    layers = {"communes": communes, "epci": epci, "departements": departements,
              "regions": regions}
    layers = {k: v for k, v in layers.items() if v is not None}
    wrong_crs = [(k, str(v.crs)) for k, v in layers.items()
                 if v.crs is None or not v.crs.equals(WGS84)]
    if wrong_crs:
        raise CRSMismatchError(explain(
            "Reference layers are not in WGS84.",
            "Every layer is stored in EPSG:4326 (longitude, latitude).",
            "Reproject them with .to_crs('EPSG:4326') before assembling.",
            offenders=wrong_crs,
        ), offenders=wrong_crs)
    problems = _layer_problems("communes", communes, known_empty)
    for name in ("epci", "departements", "regions"):
        if name in layers:
            problems += _layer_problems(name, layers[name])
    for col in ("departement", "region"):
        for code in communes.index[communes[col].isna()]:
            problems.append(("communes", f"sans_{col}", str(code)))
    no_epci = communes.index[communes["epci"].isna()]
    for code in no_epci.difference(pd.Index(list(allowed_without_epci), dtype="string")):
        problems.append(("communes", "sans_epci", str(code)))
    if epci is not None:
        unknown = pd.Index(communes["epci"].dropna().unique()).difference(epci.index)
        problems += [("communes", "epci_inconnu", str(c)) for c in unknown]
        problems += [("epci", "sans_nom", str(c)) for c in epci.index[epci["nom"].isna()]]
    if departements is not None:
        problems += [("departements", "sans_nom", str(c))
                     for c in departements.index[departements["nom"].isna()]]
    if regions is not None:
        problems += [("regions", "sans_nom", str(c)) for c in regions.index[regions["nom"].isna()]]
    if epci_members is not None:
        missing = epci_members[~epci_members["commune"].isin(communes.index)]
        problems += [("epci", "membre_absent_des_communes", f"{e}:{c}")
                     for e, c in zip(missing["epci"], missing["commune"], strict=True)]
        joined = epci_members.set_index("commune")["epci"]
        joined = joined[joined.index.isin(communes.index)]
        differs = joined[communes.loc[joined.index, "epci"].to_numpy() != joined.to_numpy()]
        problems += [("communes", "epci_different_composition", f"{c}:{e}")
                     for c, e in differs.items()]
    if problems:
        raise DataValidationError(explain(
            f"The reference geography fails {len(problems)} check(s).",
            "Codes must be unique, every commune needs a département and a région, "
            "geometries must be valid and non-empty, and the EPCI composition must match "
            "the commune layer.",
            "Fix the input files (or the loader), then build again; the offenders are "
            "(layer, check, detail).",
            offenders=problems,
        ), offenders=problems)
