"""Employment estimate from SIRENE headcount bands (``tranche_effectif``).

SIRENE publishes a band, not a headcount, and the band lags about two years behind the
register (``annee_effectif``). Each band gives three values (a project choice, not an
official figure):

=====  ======================  =====  =========  ======
code   INSEE label             low    central    high
=====  ======================  =====  =========  ======
NN     non-employer unit       0      0          0
00     0 employee at 31/12     0      0          0
01     1 or 2                  1      1.5        2
02     3 to 5                  3      4          5
03     6 to 9                  6      7.5        9
11     10 to 19                10     14.5       19
12     20 to 49                20     34.5       49
21     50 to 99                50     74.5       99
22     100 to 199              100    149.5      199
31     200 to 249              200    224.5      249
32     250 to 499              250    374.5      499
41     500 to 999              500    749.5      999
42     1 000 to 1 999          1000   1499.5     1999
51     2 000 to 4 999          2000   3499.5     4999
52     5 000 to 9 999          5000   7499.5     9999
53     10 000 and more         10000  15000      20000 (open band: high set at twice low)
=====  ======================  =====  =========  ======

The central value is the midpoint of the band. A missing band counts 0 in the three
estimates and 1 in ``effectif_inconnu``, so that users see how much is unknown.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from observatory.errors import DataValidationError, explain

__all__ = ["BANDS", "band_year", "employment_columns"]

#: band code -> (low, central, high)
BANDS: dict[str, tuple[float, float, float]] = {
    "NN": (0, 0, 0),
    "00": (0, 0, 0),
    "01": (1, 1.5, 2),
    "02": (3, 4, 5),
    "03": (6, 7.5, 9),
    "11": (10, 14.5, 19),
    "12": (20, 34.5, 49),
    "21": (50, 74.5, 99),
    "22": (100, 149.5, 199),
    "31": (200, 224.5, 249),
    "32": (250, 374.5, 499),
    "41": (500, 749.5, 999),
    "42": (1000, 1499.5, 1999),
    "51": (2000, 3499.5, 4999),
    "52": (5000, 7499.5, 9999),
    "53": (10000, 15000, 20000),
}


def employment_columns(structures: pd.DataFrame) -> pd.DataFrame:
    """Per-structure employment estimate.

    Parameters
    ----------
    structures : DataFrame
        Needs ``tranche_effectif``.

    Returns
    -------
    DataFrame
        Same index; float columns ``emplois_bas``, ``emplois_estimes``, ``emplois_haut`` and
        ``effectif_inconnu`` (1 when the band is missing).

    Raises
    ------
    DataValidationError
        When a band code is not a SIRENE code.
    """
    band = structures["tranche_effectif"].astype("string").str.strip()
    known = band.isin(list(BANDS)).to_numpy(dtype=bool)
    missing = band.isna().to_numpy() | band.eq("").fillna(True).to_numpy(dtype=bool)
    bad = band[~known & ~missing].unique().tolist()
    if bad:
        raise DataValidationError(explain(
            f"Unknown SIRENE headcount band(s) {bad[:5]}.",
            f"tranche_effectif must be one of {list(BANDS)} or empty.",
            "Keep the SIRENE code as text ('01', not 1) in the ETL.", bad), bad)
    low = np.zeros(len(band))
    mid = np.zeros(len(band))
    high = np.zeros(len(band))
    codes = band.to_numpy(dtype=object, na_value=None)
    for code, (lo, ce, hi) in BANDS.items():
        sel = codes == code
        low[sel], mid[sel], high[sel] = lo, ce, hi
    return pd.DataFrame({
        "emplois_bas": low,
        "emplois_estimes": mid,
        "emplois_haut": high,
        "effectif_inconnu": missing.astype("float64"),
    }, index=structures.index)


def band_year(years, keys, codes: pd.Index) -> pd.Series:
    """Most frequent ``annee_effectif`` per territory (ties: the most recent year).

    Parameters
    ----------
    years : array of float
        ``annee_effectif`` of each structure (NaN when unknown).
    keys : array of int
        Position of each structure's territory in ``codes`` (-1: none / not counted).
    codes : Index
        Territory codes.

    Returns
    -------
    Series of Int64 indexed by ``codes`` (``pd.NA`` where no structure has a year).

    Examples
    --------
    >>> band_year(np.array([2022, 2023, 2023, np.nan]), np.array([0, 0, 0, 1]),
    ...           pd.Index(["a", "b"])).tolist()
    [2023, <NA>]
    """
    years = np.asarray(years, dtype="float64")
    keys = np.asarray(keys, dtype="int64")
    ok = (keys >= 0) & np.isfinite(years)
    out = pd.Series(pd.NA, index=codes, dtype="Int64")
    if not ok.any():
        return out
    y = years[ok].astype("int64")
    y0, y1 = int(y.min()), int(y.max())
    ny = y1 - y0 + 1
    counts = np.bincount(keys[ok] * ny + (y - y0), minlength=len(codes) * ny).reshape(
        len(codes), ny)
    best = y1 - counts[:, ::-1].argmax(axis=1)
    has = counts.sum(axis=1) > 0
    out[has] = best[has]
    return out
