"""Checks run before any indicator is computed.

Structures and the reference geography must share a CRS and a COG vintage; territory codes
must be strings; the columns an indicator needs must be there. Every failure raises a
:class:`~observatory.errors.DataValidationError` (or :class:`~observatory.errors.CRSMismatchError`)
whose message says what is wrong, why, and how to fix it.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from observatory.errors import CRSMismatchError, DataValidationError, explain

__all__ = [
    "active_structures",
    "check_cog",
    "check_crs",
    "require_columns",
    "require_string_codes",
]

WGS84 = "EPSG:4326"


def require_columns(frame: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    """Raise if ``frame`` lacks any of ``columns``."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataValidationError(explain(
            f"The {what} frame lacks the column(s) {missing}.",
            "These columns are needed to compute the indicators.",
            f"Build the {what} with the project's loaders "
            "(observatory.schema / geodata.reference), "
            "which produce every column.",
            missing,
        ), missing)


def require_string_codes(values: pd.Series | pd.Index, what: str) -> None:
    """Raise if territory codes are not text (an int code loses its leading zero)."""
    dtype = values.dtype
    if pd.api.types.is_string_dtype(dtype) or isinstance(dtype, pd.StringDtype):
        return
    if pd.api.types.is_object_dtype(dtype):
        bad = [v for v in pd.Series(values).dropna().unique()[:50] if not isinstance(v, str)]
        if not bad:
            return
        offenders = bad
    else:
        offenders = list(pd.Series(values).dropna().unique()[:20])
    raise DataValidationError(explain(
        f"The {what} codes are not text (dtype {dtype}).",
        "Territory codes are strings: '01001' read as a number becomes 1001 and '2A004' "
        "cannot be a number.",
        "Read the codes with dtype=str (or .astype('string')) and zero-pad them.",
        offenders,
    ), offenders)


def check_crs(communes: pd.DataFrame, structures: pd.DataFrame | None = None) -> None:
    """Both layers must be in WGS84 (EPSG:4326), the CRS of the reference and the schema.

    Raises
    ------
    CRSMismatchError
        When a GeoDataFrame has another CRS, or the two layers differ.
    """
    crs_c = getattr(communes, "crs", None)
    crs_s = getattr(structures, "crs", None) if structures is not None else None
    for name, crs in (("communes", crs_c), ("structures", crs_s)):
        if crs is not None and _epsg(crs) != 4326:
            raise CRSMismatchError(explain(
                f"The {name} layer is in {crs}, not {WGS84}.",
                "The reference geography and the structures (longitude/latitude) are WGS84; "
                "distances are then computed in Lambert-93 or the local overseas projection.",
                f"Reproject it first: {name}.to_crs('{WGS84}').",
            ), [str(crs)])
    if crs_c is not None and crs_s is not None and _epsg(crs_c) != _epsg(crs_s):
        raise CRSMismatchError(explain(
            f"The communes ({crs_c}) and structures ({crs_s}) layers do not share a CRS.",
            "Spatial operations between layers need one CRS.",
            f"Reproject both to {WGS84} with .to_crs().",
        ), [str(crs_c), str(crs_s)])


def _epsg(crs) -> int | None:
    try:
        return crs.to_epsg()
    except AttributeError:
        from pyproj import CRS

        return CRS.from_user_input(crs).to_epsg()


def check_cog(structures_cog: str | None, reference_cog: str | None) -> None:
    """The snapshot and the reference must be on the same COG vintage.

    Parameters
    ----------
    structures_cog : str or None
        ``manifest["cog"]`` of the snapshot.
    reference_cog : str or None
        ``reference.vintages["cog"]``.
    """
    if structures_cog is None or reference_cog is None:
        return
    norm = [str(v).strip().upper().replace("COG", "").strip() for v in
            (structures_cog, reference_cog)]
    if norm[0] != norm[1]:
        raise DataValidationError(explain(
            f"The structures are coded in {structures_cog!r} but the reference geography is "
            f"{reference_cog!r}.",
            "Commune codes change every year (mergers): counting structures of one COG on "
            "communes of another silently drops or misplaces them.",
            "Rebuild the reference geography for the snapshot's COG, or refresh the snapshot "
            "with the current reference (python -m observatory etl refresh).",
            [structures_cog, reference_cog],
        ), [structures_cog, reference_cog])


def active_structures(structures: pd.DataFrame) -> pd.DataFrame:
    """Rows with ``etat_administratif == "A"``."""
    require_columns(structures, ["etat_administratif"], "structures")
    mask = structures["etat_administratif"].astype("string").eq("A").fillna(False)
    return structures.loc[mask.to_numpy(dtype=bool)]
