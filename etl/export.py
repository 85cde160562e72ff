"""Export a snapshot's structures or rejects to the formats officials use.

The format follows the file extension:

* ``.csv`` — ``;``-separated, UTF-8 with BOM (opens correctly in Excel), dates ``AAAA-MM-JJ``;
* ``.xlsx`` — one sheet (at most 1 048 575 rows);
* ``.geojson`` — structures only (points, EPSG:4326);
* ``.gpkg`` — GeoPackage layer ``structures`` (points) or ``rejects`` (table without geometry).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from observatory.errors import ConfigurationError, explain

__all__ = ["EXPORT_FORMATS", "STRUCTURE_EXPORT_COLUMNS", "REJECT_EXPORT_COLUMNS", "export_table"]

EXPORT_FORMATS = (".csv", ".xlsx", ".geojson", ".gpkg")
#: Columns an export of structures always has first (the rest of the schema follows).
STRUCTURE_EXPORT_COLUMNS = ("siret", "siren", "nom", "famille_ess", "commune", "epci",
                            "departement", "region", "longitude", "latitude",
                            "location_precision", "etat_administratif")
REJECT_EXPORT_COLUMNS = ("source", "ligne", "siret", "raison", "donnees")
_EXCEL_MAX_ROWS = 1_048_575


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
        _plain(frame).to_csv(tmp, sep=";", index=False, encoding="utf-8-sig")
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
