"""Export a snapshot's structures or rejects to the formats officials use.

The format follows the file extension:

* ``.csv`` — the project's one CSV convention (:func:`csv_fr`, also used by ``diff --output``):
  ``;``-separated, UTF-8 with BOM (opens correctly in Excel in French), decimal comma, no
  thousands separator, numbers rounded half away from zero to the precision the app displays
  (1 decimal, coordinates 6, or as given), dates ``AAAA-MM-JJ``, text cells that a spreadsheet
  would run as a formula (``=``, ``+``, ``-``, ``@``) prefixed with ``'``;
* ``.xlsx`` — one sheet (at most 1 048 575 rows);
* ``.geojson`` — structures only (points, EPSG:4326);
* ``.gpkg`` — GeoPackage layer ``structures`` (points) or ``rejects`` (table without geometry).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import numpy as np
import pandas as pd

from observatory.errors import ConfigurationError, explain

__all__ = ["CSV_DECIMALS", "EXPORT_FORMATS", "REJECT_EXPORT_COLUMNS", "STRUCTURE_EXPORT_COLUMNS",
           "csv_fr", "decimal_text", "export_table"]

EXPORT_FORMATS = (".csv", ".xlsx", ".geojson", ".gpkg")
#: Columns an export of structures always has first (the rest of the schema follows).
STRUCTURE_EXPORT_COLUMNS = ("siret", "siren", "nom", "famille_ess", "commune", "epci",
                            "departement", "region", "longitude", "latitude",
                            "location_precision", "etat_administratif")
REJECT_EXPORT_COLUMNS = ("source", "ligne", "siret", "raison", "donnees")
_EXCEL_MAX_ROWS = 1_048_575
#: Decimals of float columns in CSV exports: the app's display precision (1 decimal: rates in
#: %, densities, distances...), coordinates to 6 decimals (about 0.1 m).
CSV_DECIMALS = {"default": 1, "longitude": 6, "latitude": 6}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def decimal_text(values, decimals: int) -> np.ndarray:
    """Numbers as French CSV text: rounded half away from zero on their decimal
    representation, decimal comma, no thousands separator; empty for NA.

    >>> decimal_text([38844.5, 2.5, -2.675, None], 2).tolist()
    ['38844,50', '2,50', '-2,68', '']
    >>> decimal_text([38844.5, 2.5, -0.04], 0).tolist()
    ['38845', '3', '0']
    """
    series = pd.Series(values, dtype="Float64")
    step = Decimal(1).scaleb(-decimals)
    out = np.full(len(series), "", dtype=object)
    present = series.notna().to_numpy()
    for i, number in zip(np.flatnonzero(present), series[present].to_numpy(dtype=float),
                         strict=True):
        if not np.isfinite(number):
            out[i] = ""
            continue
        rounded = Decimal(repr(float(number))).quantize(step, rounding=ROUND_HALF_UP)
        text = f"{rounded:.{decimals}f}".replace(".", ",")
        out[i] = text[1:] if rounded == 0 and text.startswith("-") else text
    return out


def csv_fr(frame: pd.DataFrame, decimals: Mapping[str, int] | None = None) -> bytes:
    """The project's CSV convention (module docstring) as bytes, ready to write.

    ``decimals`` maps column names to decimals (``"default"`` for the other float columns),
    over :data:`CSV_DECIMALS`.
    """
    rules = {**CSV_DECIMALS, **(decimals or {})}
    out = pd.DataFrame(frame.drop(columns="geometry", errors="ignore")).copy()
    for column in out.columns:
        values = out[column]
        if pd.api.types.is_bool_dtype(values):
            continue
        if pd.api.types.is_float_dtype(values):
            out[column] = decimal_text(values, rules.get(column, rules["default"]))
        elif pd.api.types.is_datetime64_any_dtype(values):
            out[column] = values.dt.strftime("%Y-%m-%d").astype(object).where(values.notna(),
                                                                                "")
        elif pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values):
            text = values.astype("string")
            risky = text.str.startswith(_FORMULA_START).fillna(False)
            out[column] = text.mask(risky, "'" + text)
    return out.to_csv(sep=";", index=False, lineterminator="\r\n").encode("utf-8-sig")


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop geometry; nullable values -> None, dates -> ISO text (for CSV/XLSX)."""
    out = pd.DataFrame(frame.drop(columns="geometry", errors="ignore"))
    for column in out.columns:
        values = out[column]
        if pd.api.types.is_datetime64_any_dtype(values):
            out[column] = values.dt.strftime("%Y-%m-%d").astype(object).where(values.notna(),
                                                                                None)
        elif not pd.api.types.is_float_dtype(values):
            out[column] = values.astype(object).where(values.notna(), None)
    return out


def _ordered(frame: pd.DataFrame, kind: str) -> pd.DataFrame:
    first = STRUCTURE_EXPORT_COLUMNS if kind == "structures" else REJECT_EXPORT_COLUMNS
    missing = [c for c in first if c not in frame.columns]
    if missing:
        raise ConfigurationError(explain(
            f"The {kind} table lacks column(s) {', '.join(missing)}.",
            "Exports always carry the contract columns.",
            "Rebuild the snapshot with the current code (python -m observatory refresh ...).",
        ))
    rest = [c for c in frame.columns if c not in first]
    return frame[list(first) + rest]


def export_table(frame: pd.DataFrame, path: str | Path, kind: str = "structures") -> Path:
    """Write ``frame`` (``kind``: ``structures`` or ``rejects``) to ``path``; return the path.

    Raises
    ------
    ConfigurationError
        Unknown extension, GeoJSON of rejects, or too many rows for Excel.
    """
    import geopandas as gpd

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in EXPORT_FORMATS:
        raise ConfigurationError(explain(
            f"Cannot export to {path.name!r}: unknown extension {suffix or '(none)'!r}.",
            "The format is chosen from the extension.",
            f"Use one of {', '.join(EXPORT_FORMATS)}.",
        ))
    frame = _ordered(frame, kind)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.part{path.suffix}")
    if tmp.exists():
        tmp.unlink()
    if suffix == ".csv":
        tmp.write_bytes(csv_fr(frame))
    elif suffix == ".xlsx":
        if len(frame) > _EXCEL_MAX_ROWS:
            raise ConfigurationError(explain(
                f"{len(frame)} rows do not fit in an Excel sheet.",
                f"Excel stops at {_EXCEL_MAX_ROWS + 1} rows.",
                "Export to .csv or .gpkg, or export one territory.",
            ))
        _plain(frame).to_excel(tmp, index=False, sheet_name=kind, engine="openpyxl")
    elif kind == "rejects" and suffix == ".geojson":
        raise ConfigurationError(explain(
            "Rejects cannot be exported to GeoJSON.",
            "Rejected rows have no usable location (that is often why they were rejected).",
            "Use .csv, .xlsx or .gpkg.",
        ))
    else:
        driver = "GeoJSON" if suffix == ".geojson" else "GPKG"
        if kind == "structures":
            geo = frame if isinstance(frame, gpd.GeoDataFrame) else gpd.GeoDataFrame(
                frame, geometry=gpd.points_from_xy(frame["longitude"], frame["latitude"]),
                crs="EPSG:4326")
            plain = _plain(geo)
            out = gpd.GeoDataFrame(plain, geometry=geo.geometry.values, crs="EPSG:4326")
            out.to_file(tmp, driver=driver, layer=kind if driver == "GPKG" else None,
                        engine="pyogrio")
        else:
            import pyogrio

            pyogrio.write_dataframe(_plain(frame), tmp, driver="GPKG", layer=kind)
    tmp.replace(path)
    return path
