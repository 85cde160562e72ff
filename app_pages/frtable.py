"""Tables shown the French way while numbers stay numbers (numeric sort in ``st.dataframe``).

What Streamlit 1.67 offers, measured in headless Chromium (fr-FR and en-US browsers):

* ``NumberColumn(format="localized")`` follows the *browser's* language (``1,234.5`` in an
  English browser) and truncates instead of rounding (1 234,56 -> ``1 234,5``);
* a printf format chooses the thousands separator (``"%'\\u00a0,d"`` -> ``1 234`` in every
  browser) but always writes a decimal point;
* a ``pandas.Styler`` display text keeps the column numeric (sorting 43 < 134 < 411 < 3 338)
  and is shown as written, in every browser.

So: whole numbers use the printf format (cheap, exact), and columns with decimals or signs
use a Styler written by :mod:`render.fr` (``1 234,5``, ``12,3 %``, ``+3`` / ``−3`` / ``0``).
A Styler costs about 25 µs a cell; past :data:`STYLER_MAX_CELLS` the decimals fall back to
``"localized"`` (French in a French browser).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from render import fr

__all__ = ["INTEGER_FORMAT", "STYLER_MAX_CELLS", "Col", "display_frame", "show"]

#: printf format of whole numbers: no-break space between thousands (render.fr.NBSP).
INTEGER_FORMAT = "%'\u00a0,d"
STYLER_MAX_CELLS = 60_000


@dataclass(frozen=True)
class Col:
    """How to show one column.

    kind: ``text``, ``int`` (count), ``dec`` (``decimals`` digits), ``signed`` (a change:
    ``+3``, ``−3``, ``0``; no sign for zero), ``pct`` (a value already in %), ``bool``
    (Oui/Non).
    """

    label: str
    kind: str = "text"
    decimals: int = 0
    help: str | None = None


def _formatter(col: Col, decimals: int | None = None):
    dec = col.decimals if decimals is None else decimals
    if col.kind == "signed":
        return lambda v: fr.variation(v, dec)
    if col.kind == "pct":
        return lambda v: fr.pourcentage(v, dec, ratio=False)
    if col.kind == "int":
        return lambda v: fr.entier(v)
    return lambda v: fr.nombre(v, dec)


def display_frame(df: pd.DataFrame, cols: Mapping[str, Col]) -> pd.DataFrame:
    """The columns of ``cols`` (in that order) renamed to their French labels; numbers as
    floats/integers, text as strings (missing: « – »), booleans as Oui/Non."""
    out = pd.DataFrame(index=range(len(df)))
    for name, col in cols.items():
        if name not in df.columns:
            continue
        series = df[name].reset_index(drop=True)
        if col.kind == "text":
            out[col.label] = series.astype("string").fillna("–")
        elif col.kind == "bool":
            out[col.label] = series.map({True: "Oui", False: "Non"}).astype("string").fillna("–")
        elif col.kind == "int":
            out[col.label] = pd.to_numeric(series, errors="coerce").astype("Int64")
        else:
            out[col.label] = pd.to_numeric(series, errors="coerce").astype("Float64")
    return out


def _column_config(cols: Mapping[str, Col], styled: set[str]) -> dict:
    config = {}
    for col in cols.values():
        if col.kind in ("text", "bool"):
            config[col.label] = st.column_config.TextColumn(col.label, help=col.help)
        elif col.label in styled:
            config[col.label] = st.column_config.NumberColumn(col.label, help=col.help)
        elif col.kind == "int":
            config[col.label] = st.column_config.NumberColumn(col.label, help=col.help,
                                                              format=INTEGER_FORMAT)
        else:  # too many cells for a Styler: the browser's language decides the comma
            config[col.label] = st.column_config.NumberColumn(
                col.label, help=col.help, format="localized", step=10.0 ** -col.decimals)
    return config


def show(df: pd.DataFrame, cols: Mapping[str, Col], *, key: str | None = None,
         row_decimals: Sequence[int] | None = None, height: int | str = "auto",
         alt: str | None = None) -> pd.DataFrame:
    """Draw ``df`` as a French table; return the frame shown (French headers, numbers).

    ``row_decimals``: decimals of each row, for tables whose rows are different indicators
    (every numeric column of a row then uses them).
    """
    frame = display_frame(df, cols)
    numeric = [c for c in cols.values() if c.kind not in ("text", "bool")
               and c.label in frame.columns]
    to_style = [c for c in numeric if c.kind != "int" or row_decimals is not None]
    styled: set[str] = set()
    data: object = frame
    if to_style and frame.size <= STYLER_MAX_CELLS:
        styler = frame.style
        for col in to_style:
            if row_decimals is None:
                styler = styler.format(_formatter(col), subset=[col.label], na_rep="–")
                continue
            for dec in sorted(set(row_decimals)):  # one call per precision, not per row
                rows = [i for i, d in enumerate(row_decimals) if d == dec]
                styler = styler.format(_formatter(col, dec), na_rep="–",
                                       subset=pd.IndexSlice[rows, [col.label]])
        styled = {c.label for c in to_style}
        data = styler
    st.dataframe(data, hide_index=True, key=key, height=height, placeholder="–",
                 column_config=_column_config(cols, styled), alt=alt)
    return frame
