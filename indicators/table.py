"""The main indicator table, one row per territory (used by the CLI and the app).

Everything is computed once at commune level (:func:`commune_base`: extensive columns only)
and rolled up with :func:`indicators.rollup.rollup`, so a département equals the sum of its
communes whatever the path.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from indicators.checks import check_cog, check_crs
from indicators.counts import commune_counts
from indicators.coverage import NO_STRUCTURE_REASON, coverage_columns, structure_distances
from indicators.employment import band_year
from indicators.prepare import PreparedStructures, encode, prepare_structures, validate_inputs
from indicators.projection import commune_points
from indicators.registry import FAMILIES, family_column
from indicators.rollup import compute_intensive, rollup
from indicators.rural import density_levels, rural_mask
from observatory.errors import DataValidationError, explain
from observatory.vocabulary import LEVELS, check_level

__all__ = ["MAIN_COLUMNS", "NO_GEOMETRY_REASON", "commune_base", "indicator_table",
           "indicator_tables", "territory_codes"]

NO_GEOMETRY_REASON = "contour de la commune inconnu : distance non calculée"

#: Columns shown first, in this order (contract with the CLI and the app).
MAIN_COLUMNS = (
    "nom", "population", "superficie_km2", "structures", "structures_per_10k",
    "structures_per_100km2", *(family_column(f) for f in FAMILIES), "emplois_estimes",
    "emplois_bas", "emplois_haut", "annee_effectifs", "distance_structure_km",
    "part_population_couverte",
)


def commune_base(structures: pd.DataFrame | None, communes: pd.DataFrame, *,
                 density: pd.DataFrame | None = None, points: pd.DataFrame | None = None,
                 with_distance: bool = True,
                 prepared: PreparedStructures | None = None) -> pd.DataFrame:
    """Extensive indicators per commune, plus ``distance_structure_km``.

    Parameters
    ----------
    structures : DataFrame
        Structures frame (``observatory.schema``); only active rows count.
    communes : GeoDataFrame
        Reference communes indexed by code (``population``, ``superficie_km2``,
        ``departement``, ``geometry``).
    density : DataFrame, optional
        Density levels: adds ``population_rurale`` and ``structures_rurales``.
    points : DataFrame, optional
        Precomputed projected centroids (:func:`indicators.projection.commune_points`).
    with_distance : bool
        Compute distances (needs geometries and coordinates).
    prepared : PreparedStructures, optional
        Encoded structures (saves the encoding when several tables are built).

    Returns
    -------
    DataFrame indexed by commune code. ``distance_structure_km`` is ``inf`` when no structure
    exists in the commune's projection zone.
    """
    prep = prepared if prepared is not None else prepare_structures(structures, communes)
    counts = commune_counts(None, communes, prepared=prep)
    pop = pd.to_numeric(communes["population"]).astype("Float64").fillna(0)
    base = pd.DataFrame({
        "population": pop.to_numpy(dtype="float64").round().astype("int64"),
        "superficie_km2": pd.to_numeric(communes["superficie_km2"]).astype("float64")
        .fillna(0.0).to_numpy(),
    }, index=communes.index)
    base = pd.concat([base, counts], axis=1)
    if with_distance:
        dist = structure_distances(None, communes, points=points, prepared=prep)[
            "distance_structure_km"]
    else:
        dist = pd.Series(np.nan, index=communes.index)
    base = pd.concat([base, coverage_columns(counts["structures"], pop, dist)], axis=1)
    if density is not None:
        rural = rural_mask(density_levels(communes.index, density))
        base["population_rurale"] = np.where(rural, base["population"], 0)
        base["structures_rurales"] = np.where(rural, base["structures"], 0)
    base["distance_structure_km"] = dist.to_numpy()
    base.attrs = dict(counts.attrs)
    return base


def territory_codes(communes: pd.DataFrame, level: str, territory: str,
                    territory_level: str | None = None) -> list[str]:
    """Codes at ``level`` inside (or equal to) ``territory``.

    Parameters
    ----------
    communes : DataFrame
        Reference communes (``epci``, ``departement``, ``region``).
    level : str
        Level of the rows wanted.
    territory : str
        Code of the filtering territory ("21", "242100410", "27"...).
    territory_level : str, optional
        Level of ``territory``; guessed when omitted: a code of the wanted level first, then
        commune (5 chars), EPCI (9 digits), département, région.

    Returns
    -------
    list of str (sorted)
    """
    check_level(level)
    code = str(territory)
    order = LEVELS[LEVELS.index(level):]
    if territory_level is None:
        candidates = [lv for lv in order if lv != "commune" and code in set(
            communes[lv].dropna().astype(str))]
        if level == "commune" and code in communes.index:
            candidates.insert(0, "commune")
        if not candidates:
            raise DataValidationError(explain(
                f"Territory {code!r} is not a {' / '.join(order)} code of the reference.",
                f"A --territory must contain {level} territories.",
                "Give an existing code (département '21', région '27', EPCI SIREN...).",
                [code]), [code])
        territory_level = candidates[0]
    check_level(territory_level)
    if LEVELS.index(territory_level) < LEVELS.index(level):
        raise DataValidationError(explain(
            f"A {territory_level} cannot contain {level} territories.",
            "The filter keeps the sub-territories of the given territory.",
            "Choose a lower --level or a larger territory."), [code])
    key = (communes.index.to_series() if territory_level == "commune"
           else communes[territory_level]).astype("string")
    inside = communes.loc[key.eq(code).fillna(False).to_numpy(dtype=bool)]
    values = inside.index if level == "commune" else inside[level].dropna()
    return sorted(set(map(str, values)))


def indicator_table(structures: pd.DataFrame, communes: pd.DataFrame, level: str = "commune",
                    *, groups=None, territories=None, density: pd.DataFrame | None = None,
                    names: pd.Series | None = None, structures_cog: str | None = None,
                    reference_cog: str | None = None, points: pd.DataFrame | None = None,
                    base: pd.DataFrame | None = None,
                    prepared: PreparedStructures | None = None) -> pd.DataFrame:
    """One row per territory with the main ESS indicators.

    Parameters
    ----------
    structures : DataFrame
        Structures frame of a snapshot.
    communes : GeoDataFrame
        ``reference.communes``.
    level : {"commune", "epci", "departement", "region"}
        Level of the rows (ignored when ``groups`` is given).
    groups : dict or Series, optional
        commune code -> group name, for user-defined territories.
    territories : iterable of str, optional
        Keep only these codes (see :func:`territory_codes`).
    density : DataFrame, optional
        Density levels; adds the density class (commune level) or the rural population share.
    names : Series, optional
        code -> name for levels above the commune (``reference.layer(level)["nom"]``).
    structures_cog, reference_cog : str, optional
        COG vintages of the snapshot manifest and of the reference; they must match.
    points, base : DataFrame, optional
        Precomputed commune centroids / commune base (to reuse across levels).
    prepared : PreparedStructures, optional
        Encoded structures (to reuse across levels); the checks then run only on the COG/CRS.

    Returns
    -------
    DataFrame
        Indexed by ``code``: :data:`MAIN_COLUMNS` first (``distance_structure_km`` only at
        commune level), then every other indicator and ``motif_na``.
    """
    if prepared is None:
        prepared = validate_inputs(structures, communes, structures_cog=structures_cog,
                                   reference_cog=reference_cog)
    else:
        check_cog(structures_cog, reference_cog)
        check_crs(communes, structures)
    if base is None:
        base = commune_base(structures, communes, density=density, points=points,
                            prepared=prepared)
    commune_rows = groups is None and check_level(level) == "commune"
    if commune_rows:
        out = compute_intensive(base.drop(columns="distance_structure_km"))
        out.insert(0, "nom", communes["nom"].astype("string").to_numpy()
                   if "nom" in communes else pd.NA)
        dist = base["distance_structure_km"].to_numpy()
        out["distance_structure_km"] = pd.array(np.where(np.isfinite(dist), dist, np.nan),
                                                dtype="Float64")
        motif = np.array(out["motif_na"].astype("object").to_numpy(), dtype=object)
        for mask, text in ((np.isinf(dist), NO_STRUCTURE_REASON),
                           (np.isnan(dist), NO_GEOMETRY_REASON)):
            motif[mask] = [text if pd.isna(m) else f"{m} ; {text}" for m in motif[mask]]
        out["motif_na"] = pd.array(motif, dtype="string")
        commune_key = np.arange(len(communes), dtype="int64")
        if density is not None:
            levels = density_levels(communes.index, density)
            for col in levels.columns:
                out[col] = levels[col].to_numpy()
    else:
        out = rollup(base, communes, level, groups=groups, names=names)
        if "nom" not in out.columns:
            out.insert(0, "nom", pd.array(out.index.astype(str), dtype="string"))
        if groups is not None:
            mapping = pd.Series(groups).astype("string").reindex(communes.index)
        else:
            mapping = communes[level].astype("string")
        commune_key = encode(mapping, out.index.astype(str))
    out.index = pd.Index(out.index.astype("string"), name="code")
    key = np.where(prepared.active & (prepared.commune >= 0),
                   commune_key[np.maximum(prepared.commune, 0)], -1)
    out["annee_effectifs"] = band_year(prepared.year, key, out.index).array
    no_year = (out["annee_effectifs"].isna() & (out["structures"] > 0)).to_numpy(dtype=bool)
    if no_year.any():
        text = "année des tranches d'effectif inconnue"
        motif = out["motif_na"].astype("object").to_numpy(copy=True)
        motif[no_year] = [text if pd.isna(m) else f"{m} ; {text}" for m in motif[no_year]]
        out["motif_na"] = pd.array(motif, dtype="string")
    if territories is not None:
        wanted = pd.Index([str(t) for t in territories])
        out = out.loc[out.index.isin(wanted)]
    first = [c for c in MAIN_COLUMNS if c in out.columns]
    rest = [c for c in out.columns if c not in first and c != "motif_na"]
    out = out[[*first, *rest, "motif_na"]]
    out.attrs = {"level": "groupe" if groups is not None else level,
                 "structures_sans_commune": base.attrs.get("structures_sans_commune", 0)}
    return out


def indicator_tables(structures: pd.DataFrame, communes: pd.DataFrame,
                     levels=LEVELS, *, names: dict | None = None,
                     density: pd.DataFrame | None = None, structures_cog: str | None = None,
                     reference_cog: str | None = None) -> dict[str, pd.DataFrame]:
    """:func:`indicator_table` for several levels, checking and encoding only once.

    Parameters
    ----------
    levels : iterable of str
        Levels wanted (default: all four).
    names : dict, optional
        level -> Series code -> name (e.g. ``{lv: reference.layer(lv)["nom"] ...}``).

    Returns
    -------
    dict level -> DataFrame
    """
    prepared = validate_inputs(structures, communes, structures_cog=structures_cog,
                               reference_cog=reference_cog)
    points = commune_points(communes)
    base = commune_base(structures, communes, density=density, points=points,
                        prepared=prepared)
    names = names or {}
    return {level: indicator_table(structures, communes, level, density=density,
                                   names=names.get(level), points=points, base=base,
                                   prepared=prepared)
            for level in levels}
