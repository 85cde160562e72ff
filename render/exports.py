"""The one export model of the observatory (CLI ``export`` and every download of the app).

Every file goes through :func:`export_frame`, then one writer:

* **numbers stay numbers**, rounded half away from zero to the precision the app displays
  (:func:`render.export_columns.decimals_of`): XLSX cells are numbers with a number format
  (``# ##0``, ``# ##0,0``, coordinates ``0,000000``); CSV writes them with a decimal comma
  and no thousands separator;
* **readable French headers**, and **labels beside codes** (« Code commune » then
  « Commune »; « Famille ESS (code) » then « Famille ESS »);
* **Oui/Non** instead of True/False; **dates as dates** (no time): XLSX date cells shown
  ``JJ/MM/AAAA``, CSV ``23/11/2026``, GeoJSON ``2026-11-23`` (ISO, as JSON wants);
* an **« À propos »**: XLSX sheet, CSV header block (ended by an empty line), GeoJSON member
  ``a_propos``, GeoPackage table ``a_propos``: perimeter, filters, snapshot, sources, and
  whether the data are real or a demonstration;
* **safe in a spreadsheet** (OWASP « CSV injection »): in CSV, which has no cell types, a
  text cell (headers and « À propos » included) starting with ``=``, ``+``, ``-``, ``@``, a
  tab or a carriage return (or their full-width forms) is prefixed with a single quote; in
  XLSX every text cell is written as a string (``data_type='s'``, never a formula) and those
  cells also get Excel's « quote prefix » style (the text itself is kept as it is, and
  editing the cell does not turn it into a formula either).  Negative numbers are numbers,
  not text, and are not touched.

CSV: ``;`` separator, UTF-8 with BOM, CRLF (what Excel in French opens directly).
Exports contain exactly the rows they are given: the app passes the filtered frame.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from observatory import vocabulary
from observatory.errors import ConfigurationError, SourceNotFoundError, explain
from observatory.text import fold_accents
from observatory.wording import DEMO_BANNER
from render import fr
from render.export_columns import LABELLED, decimals_of, header_of

__all__ = [
    "EXPORT_FORMATS",
    "LICENCE",
    "FORMULA_START",
    "REJECT_EXPORT_COLUMNS",
    "STRUCTURE_EXPORT_COLUMNS",
    "csv_bytes",
    "export_filename",
    "export_frame",
    "snapshot_about",
    "geojson_bytes",
    "reference_names",
    "round_half_up",
    "safe_text",
    "write_export",
    "xlsx_bytes",
]

EXPORT_FORMATS = (".csv", ".xlsx", ".geojson", ".gpkg")
#: Columns an export of structures always has first (the rest of the schema follows).
STRUCTURE_EXPORT_COLUMNS = ("siret", "siren", "nom", "famille_ess", "commune", "epci",
                            "departement", "region", "longitude", "latitude",
                            "location_precision", "etat_administratif")
REJECT_EXPORT_COLUMNS = ("source", "ligne", "siret", "raison", "donnees")
#: First characters that make a spreadsheet read a cell as a formula (OWASP), with the
#: full-width forms some spreadsheets normalise.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
LICENCE = "Licence Ouverte / Etalab 2.0 — crédit : INSEE, IGN, ESS France"
# Series labels (observatory.vocabulary.SERIES lands with the series of snapshots, see
# docs/architecture.md); until then the one series is the ESS.
_SERIES = vocabulary.SERIES
_EXCEL_MAX_ROWS = 1_048_575
_MARK = "export_model"  # attrs key: the frame is already in the export model


# --------------------------------------------------------------------------- cell rules
def safe_text(value: object) -> str:
    """Text a spreadsheet will not run: a leading formula character gets a ``'`` in front.

    >>> safe_text('=HYPERLINK("http://evil.example","clic")')[:2], safe_text("Café")
    ("'=", 'Café')
    """
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def round_half_up(values: pd.Series | np.ndarray, decimals: int) -> np.ndarray:
    """Round half away from zero on the decimal writing (``2.675`` -> ``2.68``), vectorised;
    the same rounding as :func:`render.fr.arrondi` (the numbers a user reads)."""
    x = np.asarray(pd.to_numeric(pd.Series(values), errors="coerce").astype("float64"))
    scale = 10.0 ** decimals
    # the product carries the binary error of x (267.49999999999997): drop it first
    scaled = np.round(x * scale, 6)
    out = np.sign(scaled) * np.floor(np.abs(scaled) + 0.5) / scale
    return out + 0.0  # no -0.0


def reference_names() -> dict[str, pd.Series]:
    """Territory names (level -> Series code -> nom) from the reference geography, or ``{}``
    when it is not built (then the label columns stay empty; codes are still exported).

    :func:`geodata.reference.load_reference` is cached per process, so the app does not pay
    twice for the reference it already holds.
    """
    from geodata.reference import load_reference
    from observatory.errors import ReferenceNotBuiltError

    try:
        ref = load_reference(build=False)
    except (ReferenceNotBuiltError, OSError, ValueError):
        return {}
    return {level: ref.layer(level)["nom"].astype("string")
            for level in ("commune", "epci", "departement", "region")}


# --------------------------------------------------------------------------- the model
def _infer_kind(df: pd.DataFrame) -> str:
    cols = set(df.columns)
    if {"siret", "famille_ess"} <= cols:
        return "structures"
    if {"raison", "donnees"} <= cols:
        return "rejects"
    return "table"


def _as_text(values: pd.Series, *, guard: bool = False) -> pd.Series:
    """Any column as text (lists joined with « ; », dicts as JSON); NA stays NA.  With
    ``guard``, cells starting like a formula get a leading ``'`` (CSV, which has no types)."""
    def one(v):
        if isinstance(v, list | tuple | np.ndarray):
            return "; ".join(str(x) for x in v)
        if isinstance(v, dict):
            return json.dumps(v, ensure_ascii=False, default=str)
        return v
    text = values.map(one, na_action="ignore").astype("string")
    if not guard:
        return text
    risky = text.str.startswith(FORMULA_START).fillna(False)
    return text.mask(risky, "'" + text)


def _oui_non(values: pd.Series) -> pd.Series:
    return values.map({True: "Oui", False: "Non"}, na_action="ignore").astype("string")


def _is_boolean(values: pd.Series) -> bool:
    if pd.api.types.is_bool_dtype(values):
        return True
    if values.dtype == object:
        present = values.dropna()
        return len(present) > 0 and all(isinstance(v, bool | np.bool_) for v in present)
    return False


def _convert(values: pd.Series, column: str, decimals: Mapping[str, int]) -> pd.Series:
    """One column in the export model's types: numbers, dates, Oui/Non or safe text."""
    if _is_boolean(values):
        return _oui_non(values)
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        values = values.dt.tz_localize(None)
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.floor("D").astype("datetime64[ms]")
    if pd.api.types.is_integer_dtype(values):
        return values.astype("Int64")
    if pd.api.types.is_float_dtype(values):
        d = decimals.get(column, decimals_of(column))
        rounded = pd.Series(round_half_up(values, d), index=values.index, dtype="float64")
        rounded.attrs["decimals"] = d
        return rounded
    return _as_text(values)


def export_frame(df: pd.DataFrame, kind: str = "auto", *,
                 names: Mapping[str, pd.Series] | None = None,
                 decimals: Mapping[str, int] | None = None) -> pd.DataFrame:
    """Turn a raw frame into the export model (module docstring); idempotent.

    Parameters
    ----------
    df : DataFrame
        Raw rows (snake_case columns; a named index such as ``code`` becomes a column).
        Geometry columns are dropped (:func:`geojson_bytes` keeps the geometry apart).
    kind : {"auto", "structures", "rejects", "table"}
        ``structures`` and ``rejects`` put their contract columns first.
    names : mapping level -> Series code -> nom, optional
        Territory names for the labels beside codes (default: :func:`reference_names`, read
        only when the frame has a territory code column).
    decimals : mapping column -> int, optional
        Precision of float columns when the app shows them differently from the default.

    Returns
    -------
    DataFrame with French headers; ``attrs["decimals"]`` maps each float header to its
    decimals (the writers' number formats).
    """
    if df.attrs.get(_MARK):
        return df
    kind = _infer_kind(df) if kind == "auto" else kind
    out = pd.DataFrame(df).copy()
    out = out.drop(columns=[c for c in out.columns
                            if isinstance(out[c].dtype, gpd.array.GeometryDtype)])
    if out.index.name is not None and out.index.name not in out.columns:
        out = out.reset_index()
    first = {"structures": STRUCTURE_EXPORT_COLUMNS,
             "rejects": REJECT_EXPORT_COLUMNS}.get(kind, ())
    order = [c for c in first if c in out.columns] + [c for c in out.columns if c not in first]
    needs_names = any(c in order for c in ("commune", "epci", "departement", "region"))
    if names is None and needs_names:
        names = reference_names()
    columns: dict[str, pd.Series] = {}
    number_formats: dict[str, int] = {}
    for column in order:
        values = out[column]
        if column in LABELLED:
            code_header, label_header, labeller = LABELLED[column]
            codes = values.astype("string")
            columns[code_header] = _as_text(codes)
            if label_header not in out.columns:
                columns[label_header] = _as_text(labeller(codes, names or {}))
            continue
        converted = _convert(values, str(column), decimals or {})
        header = header_of(str(column))
        while header in columns:  # two raw names with one French header: keep both
            header += " "
        columns[header] = converted
        if "decimals" in converted.attrs:
            number_formats[header] = converted.attrs["decimals"]
    result = pd.DataFrame(columns, index=range(len(out)))
    result.attrs = {_MARK: True, "decimals": number_formats}
    return result


# --------------------------------------------------------------------------- CSV
def _csv_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """Every cell as the text a French spreadsheet reads (decimal comma, JJ/MM/AAAA)."""
    cells = {}
    for header in frame.columns:
        values = frame[header]
        if pd.api.types.is_float_dtype(values):
            d = frame.attrs.get("decimals", {}).get(header, 1)
            text = values.map(lambda v, d=d: f"{v:.{d}f}", na_action="ignore")
            # astype: a column without any value stays float (all NaN) after map
            cells[header] = text.astype("string").str.replace(".", ",", regex=False) \
                .fillna("")
        elif pd.api.types.is_datetime64_any_dtype(values):
            cells[header] = values.dt.strftime("%d/%m/%Y").fillna("")
        elif pd.api.types.is_integer_dtype(values):
            cells[header] = values.astype("string").fillna("")
        else:
            cells[header] = _as_text(values, guard=True).fillna("")
    return pd.DataFrame(cells)


def _about_rows(about: Mapping[str, object] | None, *,
                guard: bool = False) -> list[tuple[str, str]]:
    text = safe_text if guard else str
    return [(text(k), text(v)) for k, v in (about or {}).items()]


def csv_bytes(df: pd.DataFrame, *, about: Mapping[str, object] | None = None,
              kind: str = "auto", names: Mapping[str, pd.Series] | None = None) -> bytes:
    """CSV of the export model: ``;``, decimal comma, no thousands separator, UTF-8 BOM.

    With ``about``, a header block comes first: « À propos » then one ``rubrique;information``
    line per entry, then an empty line, then the table (skip the lines up to the first empty
    one to read the table with a program).
    """
    frame = export_frame(df, kind, names=names)
    buffer = io.StringIO()
    if about:
        block = pd.DataFrame(_about_rows(about, guard=True),
                             columns=["À propos", "Information"])
        block.to_csv(buffer, sep=";", index=False, lineterminator="\r\n")
        buffer.write("\r\n")
    cells = _csv_cells(frame)
    cells.columns = [safe_text(c) for c in cells.columns]
    cells.to_csv(buffer, sep=";", index=False, lineterminator="\r\n")
    return buffer.getvalue().encode("utf-8-sig")


# --------------------------------------------------------------------------- XLSX
def _safe_sheet(name: str) -> str:
    return re.sub(r"[\[\]:*?/\\]", " ", name)[:31] or "Données"


def _text_cell(sheet, value: str):
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = "s"  # a string, never a formula, whatever its first character
    if value.startswith(FORMULA_START):
        cell.quotePrefix = True
    return cell


def _number_format(decimals: int) -> str:
    if decimals >= 6:
        return "0." + "0" * decimals
    return "#,##0" + ("." + "0" * decimals if decimals else "")


def _write_sheet(book, title: str, frame: pd.DataFrame) -> None:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.utils import get_column_letter

    sheet = book.create_sheet(_safe_sheet(title))
    sheet.freeze_panes = "A2"
    formats = {}
    for i, header in enumerate(frame.columns, start=1):
        values = frame[header]
        if pd.api.types.is_float_dtype(values):
            formats[header] = _number_format(frame.attrs.get("decimals", {}).get(header, 1))
        elif pd.api.types.is_integer_dtype(values):
            formats[header] = "#,##0" if "Code" not in header and "Année" not in header \
                else "0"
        elif pd.api.types.is_datetime64_any_dtype(values):
            formats[header] = "DD/MM/YYYY"
        sample = values.dropna().astype(str).str.len()
        width = max(len(str(header)), int(sample.quantile(0.9)) if len(sample) else 0)
        sheet.column_dimensions[get_column_letter(i)].width = min(60, max(10, width + 2))
    sheet.append([_text_cell(sheet, str(h)) for h in frame.columns])
    columns = [(h, frame[h].tolist(), formats.get(h)) for h in frame.columns]
    for r in range(len(frame)):
        row = []
        for _header, values, fmt in columns:
            value = values[r]
            if value is None or value is pd.NA or value is pd.NaT or (
                    isinstance(value, float) and not np.isfinite(value)):
                row.append(None)
            elif isinstance(value, str):
                row.append(_text_cell(sheet, value))
            else:
                if isinstance(value, pd.Timestamp):
                    value = value.date()
                elif isinstance(value, np.generic):
                    value = value.item()
                cell = WriteOnlyCell(sheet, value=value)
                if fmt:
                    cell.number_format = fmt
                row.append(cell)
        sheet.append(row)


def xlsx_bytes(df: pd.DataFrame, *, about: Mapping[str, object] | None = None,
               sheet_name: str = "Données", kind: str = "auto",
               names: Mapping[str, pd.Series] | None = None) -> bytes:
    """XLSX of the export model: the data sheet, then the « À propos » sheet when given."""
    from openpyxl import Workbook

    frame = export_frame(df, kind, names=names)
    if len(frame) > _EXCEL_MAX_ROWS:
        raise ConfigurationError(explain(
            f"{len(frame)} rows do not fit in an Excel sheet.",
            f"Excel stops at {_EXCEL_MAX_ROWS + 1} rows.",
            "Export to .csv or .gpkg, or export one territory."))
    book = Workbook(write_only=True)
    _write_sheet(book, sheet_name, frame)
    if about:
        rows = pd.DataFrame(_about_rows(about), columns=["Rubrique", "Information"])
        rows.attrs = {_MARK: True}
        _write_sheet(book, "À propos", rows)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# --------------------------------------------------------------------------- GIS formats
def _geodata(df: pd.DataFrame, kind: str, names) -> gpd.GeoDataFrame:
    """The export model's columns with the rows' geometry (points from lon/lat if needed)."""
    if isinstance(df, gpd.GeoDataFrame) and df.geometry.name in df.columns:
        geometry = df.geometry if df.crs is None or df.crs.to_epsg() == 4326 \
            else df.geometry.to_crs(4326)
    elif {"longitude", "latitude"} <= set(df.columns):
        geometry = gpd.GeoSeries(gpd.points_from_xy(df["longitude"], df["latitude"]),
                                 index=df.index, crs=4326)
    else:
        raise ValueError(
            "GeoJSON export needs a geometry or longitude/latitude columns. "
            f"Columns: {list(df.columns)}. How to fix: pass a GeoDataFrame.")
    frame = export_frame(df, kind, names=names)
    return gpd.GeoDataFrame(frame, geometry=list(geometry.to_numpy()), crs=4326)


def geojson_bytes(df: pd.DataFrame, *, about: Mapping[str, object] | None = None,
                  kind: str = "auto", names: Mapping[str, pd.Series] | None = None) -> bytes:
    """GeoJSON (EPSG:4326, RFC 7946) of the export model; dates ISO; ``about`` as the
    foreign member ``a_propos``.  Rows without location keep a ``null`` geometry."""
    gdf = _geodata(df, kind, names)
    for col in gdf.columns:
        if pd.api.types.is_datetime64_any_dtype(gdf[col]):
            gdf[col] = gdf[col].dt.strftime("%Y-%m-%d")
    data = json.loads(gdf.to_json(na="null", drop_id=True, ensure_ascii=False))
    if about:
        data["a_propos"] = dict(_about_rows(about))
    return json.dumps(data, ensure_ascii=False).encode("utf-8")


def _write_gpkg(df: pd.DataFrame, path: Path, kind: str, about, names) -> None:
    import pyogrio

    if kind == "structures":
        gdf = _geodata(df, kind, names)
        pyogrio.write_dataframe(gdf, path, driver="GPKG", layer=kind)
    else:
        pyogrio.write_dataframe(export_frame(df, kind, names=names), path, driver="GPKG",
                                layer=kind)
    if about:
        table = pd.DataFrame(_about_rows(about), columns=["Rubrique", "Information"])
        pyogrio.write_dataframe(table, path, driver="GPKG", layer="a_propos", append=True)


# --------------------------------------------------------------------------- À propos
def _source_title(name: str) -> str:
    from observatory import catalog

    try:
        source = catalog.get_source(name)
    except (SourceNotFoundError, KeyError, ValueError, OSError):
        return name
    return f"{source.title} ({source.producer})" if source.producer else source.title


def snapshot_about(manifest: Mapping[str, object], *, contenu: str,
                   filtres: str = "aucun (toutes les lignes de l'instantané)",
                   date: object = None) -> dict[str, str]:
    """The « À propos » of an export drawn from a snapshot: content, perimeter (series and
    territory), filters, snapshot, nature (real or demonstration), sources with vintages,
    licence and export date."""
    quarter = str(manifest.get("quarter", ""))
    serie = str(manifest.get("serie", "ess"))
    sources = manifest.get("sources") or {}
    vintages = "; ".join(
        f"{_source_title(name)} : millésime {info.get('vintage')}"
        if isinstance(info, Mapping) and info.get("vintage") else _source_title(name)
        for name, info in sources.items()) or "non renseignées"
    territoire = str(manifest.get("territoire") or "france")
    kind, _, code = territoire.partition(":")
    territory = ("France entière" if kind == "france"
                 else f"{fr.NIVEAUX.get(kind, kind)} {code}".strip())
    return {
        "Contenu": contenu,
        "Périmètre": f"{_SERIES.get(serie, serie)} — {territory}",
        "Filtres": filtres,
        "Instantané": f"{quarter} ({fr.trimestre_fr(quarter)})" if quarter else "–",
        "Nature des données": (f"{DEMO_BANNER}. Aucune de ces structures n'existe."
                               if manifest.get("demo") else "Données réelles"),
        "Sources": vintages,
        "Licence": LICENCE,
        "Date d'export": fr.date_fr(date if date is not None else pd.Timestamp.now()),
    }


# --------------------------------------------------------------------------- files
def write_export(frame: pd.DataFrame, path: str | Path, kind: str = "structures", *,
                 about: Mapping[str, object] | None = None,
                 names: Mapping[str, pd.Series] | None = None) -> Path:
    """Write ``frame`` (``kind``: ``structures``, ``rejects`` or ``table``) to ``path`` in the
    format of its extension (:data:`EXPORT_FORMATS`), atomically; return the path.

    Raises
    ------
    ConfigurationError
        Unknown extension, GeoJSON of rejects, a structures/rejects table without its
        contract columns, or too many rows for Excel.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in EXPORT_FORMATS:
        raise ConfigurationError(explain(
            f"Cannot export to {path.name!r}: unknown extension {suffix or '(none)'!r}.",
            "The format is chosen from the extension.",
            f"Use one of {', '.join(EXPORT_FORMATS)}."))
    first = {"structures": STRUCTURE_EXPORT_COLUMNS, "rejects": REJECT_EXPORT_COLUMNS}
    missing = [c for c in first.get(kind, ()) if c not in frame.columns]
    if missing:
        raise ConfigurationError(explain(
            f"The {kind} table lacks column(s) {', '.join(missing)}.",
            "Exports always carry the contract columns.",
            "Rebuild the snapshot with the current code (python -m observatory refresh ...)."))
    if kind != "structures" and suffix == ".geojson":
        raise ConfigurationError(explain(
            f"{kind.capitalize()} cannot be exported to GeoJSON.",
            "Only located structures have a geometry (rejected rows often have no usable "
            "location: that is why they were rejected).",
            "Use .csv, .xlsx or .gpkg."))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.part{path.suffix}")
    tmp.unlink(missing_ok=True)
    if suffix == ".gpkg":
        _write_gpkg(frame, tmp, kind, about, names)
    else:
        writer = {".csv": csv_bytes, ".xlsx": xlsx_bytes, ".geojson": geojson_bytes}[suffix]
        tmp.write_bytes(writer(frame, about=about, kind=kind, names=names))
    tmp.replace(path)
    return path


def export_filename(base: str, extension: str, suffix: str | None = None) -> str:
    """A safe ASCII file name: ``export_filename("Annuaire Côte-d'Or", "csv")``
    -> ``annuaire-cote-d-or.csv``."""
    plain = fold_accents(base + (f" {suffix}" if suffix else ""))
    slug = re.sub(r"[^a-z0-9]+", "-", plain).strip("-") or "export"
    return f"{slug}.{extension.lstrip('.')}"

