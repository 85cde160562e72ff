"""Bytes of the files users download: CSV for Excel in French, XLSX, GeoJSON for QGIS.

* CSV: ``;`` separator, decimal comma, UTF-8 with BOM (Excel in French opens it directly).
* XLSX: one data sheet plus an "À propos" sheet with sources and vintages.
* GeoJSON: EPSG:4326 (RFC 7946); points are built from ``longitude``/``latitude`` when the
  frame has no geometry.

Exports contain exactly the rows they are given: the app passes the filtered frame.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Mapping

import geopandas as gpd
import pandas as pd

from observatory.text import fold_accents

__all__ = ["csv_bytes", "export_filename", "geojson_bytes", "table_for_export", "xlsx_bytes"]


def table_for_export(df: pd.DataFrame) -> pd.DataFrame:
    """Drop geometry, bring the index (territory code) in as a column, make dates naive."""
    out = pd.DataFrame(df).copy()
    geometry_cols = [c for c in out.columns if isinstance(out[c].dtype, gpd.array.GeometryDtype)]
    out = out.drop(columns=geometry_cols)
    if out.index.name is not None and out.index.name not in out.columns:
        out = out.reset_index()
    for col in out.columns:
        if isinstance(out[col].dtype, pd.DatetimeTZDtype):
            out[col] = out[col].dt.tz_localize(None)
    return out


def csv_bytes(df: pd.DataFrame) -> bytes:
    """CSV with ``;``, decimal comma and UTF-8 BOM (what Excel in French expects)."""
    buffer = io.StringIO()
    table_for_export(df).to_csv(buffer, sep=";", decimal=",", index=False,
                                date_format="%d/%m/%Y", lineterminator="\r\n")
    return buffer.getvalue().encode("utf-8-sig")


def _safe_sheet(name: str) -> str:
    return re.sub(r"[\[\]:*?/\\]", " ", name)[:31] or "Données"


def xlsx_bytes(df: pd.DataFrame, *, sheet_name: str = "Données",
               about: Mapping[str, str] | None = None) -> bytes:
    """An XLSX workbook: the data sheet and, if ``about`` is given, an "À propos" sheet.

    ``about`` maps French labels to text (source, millésime, licence, date d'extraction...).
    """
    buffer = io.BytesIO()
    data = table_for_export(df)
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        data.to_excel(writer, sheet_name=_safe_sheet(sheet_name), index=False)
        sheet = writer.sheets[_safe_sheet(sheet_name)]
        sheet.freeze_panes = "A2"
        for i, col in enumerate(data.columns, start=1):
            width = min(60, max(10, len(str(col)) + 2))
            sheet.column_dimensions[sheet.cell(row=1, column=i).column_letter].width = width
        if about:
            pd.DataFrame({"Rubrique": list(about), "Information": list(about.values())}) \
                .to_excel(writer, sheet_name="À propos", index=False)
            writer.sheets["À propos"].column_dimensions["A"].width = 28
            writer.sheets["À propos"].column_dimensions["B"].width = 100
    return buffer.getvalue()


def geojson_bytes(df: pd.DataFrame | gpd.GeoDataFrame) -> bytes:
    """GeoJSON (EPSG:4326) of the rows; points from ``longitude``/``latitude`` if needed.

    Rows without any location keep a ``null`` geometry (they are not dropped).
    """
    if isinstance(df, gpd.GeoDataFrame) and df.geometry.name in df.columns:
        gdf = df if df.crs is None or df.crs.to_epsg() == 4326 else df.to_crs(4326)
    elif {"longitude", "latitude"} <= set(df.columns):
        gdf = gpd.GeoDataFrame(
            pd.DataFrame(df), crs=4326,
            geometry=gpd.points_from_xy(df["longitude"], df["latitude"]),
        )
    else:
        raise ValueError(
            "GeoJSON export needs a geometry or longitude/latitude columns. "
            f"Columns: {list(df.columns)}. How to fix: pass a GeoDataFrame."
        )
    gdf = gdf.copy()
    if gdf.index.name is not None and gdf.index.name not in gdf.columns:
        gdf = gdf.reset_index()
    for col in gdf.columns:
        if col == gdf.geometry.name:
            continue
        if pd.api.types.is_datetime64_any_dtype(gdf[col]):
            gdf[col] = gdf[col].dt.strftime("%Y-%m-%d")
    text = gdf.to_json(na="null", drop_id=True, ensure_ascii=False)
    return json.dumps(json.loads(text), ensure_ascii=False).encode("utf-8")


def export_filename(base: str, extension: str, suffix: str | None = None) -> str:
    """A safe ASCII file name: ``export_filename("Annuaire Côte-d'Or", "csv")``
    -> ``annuaire-cote-d-or.csv``."""
    plain = fold_accents(base + (f" {suffix}" if suffix else ""))
    slug = re.sub(r"[^a-z0-9]+", "-", plain).strip("-") or "export"
    return f"{slug}.{extension.lstrip('.')}"
