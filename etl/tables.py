"""Read a list (CSV or XLSX) as text columns, with bounds: the reader of the lists of actors
(:mod:`etl.actors`) and of ESS France's list (:mod:`etl.ess_france`).

* CSV: separator sniffed (``;``, ``,``, tab, ``|``), encoding UTF-8 (with or without BOM)
  else Windows-1252; a parse error names the line and the cause (column count, quote,
  encoding).
* XLSX: read in streaming mode (``openpyxl`` read-only), formula cells as their cached value;
  a formula saved without one is reported per row (``_formules``), never read as empty.
* Bounds (:data:`MAX_TABLE_BYTES`, :data:`MAX_TABLE_ROWS`): a file larger, an XLSX unpacking
  to more (checked on the zip's directory before any XML is parsed), or more rows, is refused
  with a message in French and English.
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from observatory.errors import DataValidationError, explain

__all__ = ["MAX_TABLE_BYTES", "MAX_TABLE_ROWS", "TableInfo", "read_table"]


@dataclass(frozen=True)
class TableInfo:
    """How a file was read: ``format`` (csv/xlsx), ``encoding``, ``separator``, ``sha256``."""

    format: str
    encoding: str | None
    separator: str | None
    sha256: str



#: Bounds of a table read by :func:`read_table` (a regional or national list of actors:
#: tens of thousands of rows, a few MB): beyond them the file is refused with a message,
#: before it can fill the memory (an XLSX is a zip: 1.6 MB can unpack to 424 MB of XML).
#: Callers reading bigger official lists pass their own (:mod:`etl.ess_france`).
MAX_TABLE_BYTES = 200_000_000   # CSV file, or XLSX once unpacked (all its parts)
MAX_TABLE_ROWS = 500_000


def _too_big(name: str, what_fr: str, what_en: str, cap_fr: str, cap_en: str
             ) -> DataValidationError:
    return DataValidationError(explain(
        f"Fichier trop volumineux : {name} {what_fr} (limite {cap_fr}). / "
        f"File too large: {name} {what_en} (limit {cap_en}).",
        "Une liste d'acteurs tient en quelques Mo ; au-delà, le fichier est anormal (classeur "
        "gonflé, « bombe zip ») et saturerait la mémoire. / A list of actors takes a few MB; "
        "beyond the limit the file is abnormal (a bloated workbook, a zip bomb) and would fill "
        "the memory.",
        "Vérifiez le fichier ; s'il est légitime, découpez-le en plusieurs listes ou "
        "enregistrez-le en CSV. / Check the file; if it is genuine, split it into several "
        "lists or save it as CSV."), offenders=[name])


def _mb(size: int) -> str:
    return f"{size / 1e6:.0f}"


def _check_rows_cap(n: int, name: str, max_rows: int) -> None:
    if n > max_rows:
        raise _too_big(name, f"compte plus de {max_rows:,} lignes".replace(",", " "),
                       f"has more than {max_rows:,} rows", f"{max_rows:,} lignes".replace(
                           ",", " "), f"{max_rows:,} rows")


def _decode(raw: bytes, encoding: str | None, name: str) -> tuple[str, str]:
    if encoding:
        try:
            return raw.decode(encoding), encoding
        except (UnicodeDecodeError, LookupError) as exc:
            line = raw[:getattr(exc, "start", 0)].count(b"\n") + 1
            raise DataValidationError(explain(
                f"The file {name!r} cannot be decoded as {encoding} at line {line} "
                f"(encoding): {exc}.",
                "The mapping forces this encoding ('options: encodage') but the file is "
                "written in another one.",
                "Remove 'encodage' from the mapping (UTF-8 and Windows-1252 are detected), or "
                "give the file's real encoding."), offenders=[f"{name}:{line}"]) from exc
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw.decode("utf-8-sig"), "utf-8-sig"
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:  # the 5 bytes cp1252 leaves undefined
        return raw.decode("latin-1"), "latin-1"


def _sniff_separator(text: str) -> str:
    sample = "\n".join(text.splitlines()[:20])
    try:
        return csv.Sniffer().sniff(sample, delimiters=";,\t|").delimiter
    except csv.Error:
        header = text.splitlines()[0] if text else ""
        counts = {sep: header.count(sep) for sep in (";", ",", "\t", "|")}
        return max(counts, key=counts.get)


def _csv_error(exc: Exception, name: str, used: str, sep: str) -> DataValidationError:
    """Name the line and the cause of a pandas CSV parse error."""
    text = str(exc)
    fields = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", text)
    quote = re.search(r"EOF inside string starting at row (\d+)", text)
    if fields:
        expected, line, found = fields.groups()
        what = (f"The CSV file {name!r} has {found} fields at line {line} where the header "
                f"has {expected} (column count; {used}, separator {sep!r}).")
        why = "A value holds the separator without quotes, or the line has extra fields."
        fix = (f"Fix line {line} (put such values in double quotes), or give the separator in "
               "the mapping file ('options: separateur').")
    elif quote:
        line = int(quote.group(1)) + 1  # pandas counts rows from 0 (the header)
        what = (f"The CSV file {name!r} has a double quote opened at line {line} that never "
                f"closes (quote; {used}, separator {sep!r}).")
        why = "Everything after that quote would be read as one value."
        fix = f'Fix the quotes of line {line} (a quote inside a value is written "").'
    else:
        what = f"The CSV file {name!r} cannot be parsed ({used}, separator {sep!r}): {exc}."
        why = "A row has more fields than the header, or quotes are unbalanced."
        fix = "Fix the row named above, or give the separator/encoding in the mapping file."
    return DataValidationError(explain(what, why, fix), offenders=[name])


def _read_csv(raw: bytes, name: str, separator: str | None, encoding: str | None,
              max_rows: int) -> tuple[pd.DataFrame, pd.Series, str, str]:
    text, used = _decode(raw, encoding, name)
    _check_rows_cap(text.count("\n") - 1, name, max_rows)
    sep = separator or _sniff_separator(text)
    try:
        frame = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False,
                            skip_blank_lines=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise _csv_error(exc, name, used, sep) from exc
    return frame, pd.Series(np.arange(len(frame)) + 2, index=frame.index), used, sep


def _cell_text(value: Any) -> str | None:
    """A cell as text, as ``pandas.read_excel(dtype=str)`` gives it (21231.0 -> "21231")."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _open_workbook(raw: bytes, name: str, sheet: str | int | None, data_only: bool):
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=data_only,
                                  keep_links=False)
    names = book.sheetnames
    if isinstance(sheet, int) or sheet is None:
        index = int(sheet or 0)
        if not 0 <= index < len(names):
            raise KeyError(f"sheet number {index} (the workbook has {len(names)})")
        return book, book[names[index]]
    if sheet not in names:
        raise KeyError(f"sheet {sheet!r} (sheets: {names})")
    return book, book[sheet]


_FORMULA = re.compile(rb"<(?:\w+:)?f[\s>/]")  # a <f> element of a sheet (formula)


def _workbook_facts(raw: bytes, name: str, max_bytes: int) -> tuple[int, bool]:
    """(bytes once unpacked, whether a worksheet holds a formula), from the zip's directory
    and, within ``max_bytes``, a streamed scan of the sheets: no XML is parsed yet."""
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            members = archive.infolist()
            unpacked = sum(member.file_size for member in members)
            formulas = False
            for member in members:
                if (formulas or unpacked > max_bytes
                        or not member.filename.startswith("xl/worksheets/")):
                    continue
                with archive.open(member) as part:
                    tail = b""
                    while block := part.read(1 << 20):
                        if _FORMULA.search(tail + block):
                            formulas = True
                            break
                        tail = block[-16:]
    except zipfile.BadZipFile as exc:
        raise DataValidationError(explain(
            f"The spreadsheet {name!r} cannot be read: it is not a valid XLSX workbook "
            f"({exc}).", "An XLSX file is a zip archive of XML parts.",
            "Open it in a spreadsheet program and save it again as .xlsx, or as CSV."),
            offenders=[name]) from exc
    return unpacked, formulas


def _read_xlsx(raw: bytes, name: str, sheet: str | int | None, max_bytes: int,
               max_rows: int) -> tuple[pd.DataFrame, pd.Series]:
    """Read a sheet in streaming mode: the values (a formula's cached value) and, when the
    workbook holds formulas, the formulas in step.  A formula without a cached value (a
    workbook written by a program that does not compute them) is listed in ``_formules``
    (JSON: header -> "C5: =A5&B5")."""
    import zipfile

    unpacked, has_formulas = _workbook_facts(raw, name, max_bytes)
    if unpacked > max_bytes:
        raise _too_big(name, f"se décompresse en {_mb(unpacked)} Mo",
                       f"unpacks to {_mb(unpacked)} MB", f"{_mb(max_bytes)} Mo",
                       f"{_mb(max_bytes)} MB")
    books = []
    try:
        values_book, values = _open_workbook(raw, name, sheet, data_only=True)
        books.append(values_book)
        formula_rows = itertools.repeat(())
        if has_formulas:
            formulas_book, formulas = _open_workbook(raw, name, sheet, data_only=False)
            books.append(formulas_book)
            formula_rows = formulas.iter_rows()
        first = values.min_row or 1
        header: list = []
        rows, lines, missing = [], [], []
        for number, (cells, raw_cells) in enumerate(zip(values.iter_rows(), formula_rows,
                                                        strict=False), start=first):
            texts = [_cell_text(c.value) for c in cells]
            if number == first:
                header = texts
                continue
            _check_rows_cap(len(rows) + 1, name, max_rows)
            lost = {i: f"{c.coordinate}: {c.value}" for i, c in enumerate(raw_cells)
                    if c.data_type == "f" and i < len(texts) and texts[i] is None}
            rows.append(texts)
            lines.append(number)
            missing.append(lost)
    except (KeyError, ValueError, OSError, TypeError, zipfile.BadZipFile) as exc:
        raise DataValidationError(explain(
            f"The spreadsheet {name!r} cannot be read: {exc}.",
            "The file is not a valid XLSX workbook or the sheet does not exist.",
            "Open it in a spreadsheet program and save it again as .xlsx, or as CSV."),
            offenders=[name]) from exc
    finally:
        for book in books:
            book.close()
    return _sheet_frame(header, rows, missing), pd.Series(lines, dtype="int64")


def _sheet_frame(header: list, rows: list[list], missing: list[dict]) -> pd.DataFrame:
    """The rows under the header's names (blank headers "Unnamed: i", repeated ones "Nom.1",
    as pandas names them), plus ``_formules``."""
    width = max([len(header), *(len(r) for r in rows)]) if rows or header else 0
    names: list[str] = []
    seen: dict[str, int] = {}
    for i, h in enumerate(header + [None] * (width - len(header))):
        label = str(h).strip() if h is not None else f"Unnamed: {i}"
        seen[label] = seen.get(label, 0) + 1
        names.append(label if seen[label] == 1 else f"{label}.{seen[label] - 1}")
    frame = pd.DataFrame([r + [None] * (width - len(r)) for r in rows], columns=names,
                         dtype=object)
    frame["_formules"] = pd.array([json.dumps({names[i]: v for i, v in lost.items()},
                                              ensure_ascii=False) if lost else None
                                   for lost in missing], dtype="string")
    return frame


def read_table(path: str | Path, *, separator: str | None = None, encoding: str | None = None,
               sheet: str | int | None = None, max_bytes: int | None = None,
               max_rows: int | None = None) -> tuple[pd.DataFrame, TableInfo]:
    """Read a CSV or XLSX file as text columns, with the file's own headers.

    Parameters
    ----------
    path
        ``.csv``/``.txt`` (separator sniffed among ``;``, ``,``, tab, ``|``; encoding tried as
        UTF-8 (BOM or not), then Windows-1252) or ``.xlsx``/``.xlsm``.
    separator, encoding, sheet
        Force the separator, the encoding or the spreadsheet sheet (default: the first).
    max_bytes, max_rows
        Bounds (default :data:`MAX_TABLE_BYTES`, :data:`MAX_TABLE_ROWS`): size of a CSV file
        or of an XLSX once unpacked, and data rows.  Beyond them the file is refused, in
        French and English, before it is parsed (XLSX size) or kept (rows).

    Returns
    -------
    frame : DataFrame
        All columns as ``string`` (NA for empty cells), blank lines dropped, plus ``_ligne``
        (Int64): the line number in the file (header = line 1; the sheet's row number for an
        XLSX).  XLSX formula cells are read as their cached value (the value the spreadsheet
        program computed); for a workbook saved without them (written by a program), the
        extra column ``_formules`` lists, per row, the cells left without value (JSON:
        header -> "C5: =A5&B5"; NA when none): :func:`actors_from_table` rejects those rows.
    info : TableInfo
        Format, detected encoding and separator, sha256 of the file.

    Raises
    ------
    DataValidationError
        Missing, empty or too large file, no data row, or unreadable content (the message
        names the line and the cause).
    """
    path = Path(path)
    max_bytes = MAX_TABLE_BYTES if max_bytes is None else max_bytes
    max_rows = MAX_TABLE_ROWS if max_rows is None else max_rows
    if not path.is_file():
        raise DataValidationError(explain(
            f"The actors file {str(path)!r} does not exist.", "Nothing to read.",
            "Check the path given to --actors-file."))
    size = path.stat().st_size
    if size > max_bytes:
        raise _too_big(path.name, f"pèse {_mb(size)} Mo", f"weighs {_mb(size)} MB",
                       f"{_mb(max_bytes)} Mo", f"{_mb(max_bytes)} MB")
    raw = path.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if not raw.strip(b" \t\r\n\xef\xbb\xbf"):
        raise DataValidationError(explain(
            f"The file {path.name!r} is empty.", "It has no header and no row.",
            "Export the list again (CSV with a header line, or XLSX)."))
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        frame, lines = _read_xlsx(raw, path.name, sheet, max_bytes, max_rows)
        info = TableInfo("xlsx", None, None, digest)
    else:
        frame, lines, used, sep = _read_csv(raw, path.name, separator, encoding, max_rows)
        info = TableInfo("csv", used, sep, digest)
    formulas = frame.pop("_formules") if "_formules" in frame else None
    frame.columns = [str(c).strip() for c in frame.columns]
    frame = frame.astype("string")
    for column in frame.columns:
        frame[column] = frame[column].str.strip().replace("", pd.NA)
    blank = frame.isna().all(axis=1)
    if formulas is not None:
        blank &= formulas.isna()
    frame = frame.loc[~blank].copy()
    frame["_ligne"] = lines.loc[~blank].astype("Int64")
    if formulas is not None and formulas.notna().any():
        frame["_formules"] = formulas.loc[~blank]
    if frame.empty:
        raise DataValidationError(explain(
            f"The file {path.name!r} has a header but no data row.",
            f"Header: {[c for c in frame.columns if not c.startswith('_')]}.",
            "Export the list again with its rows."))
    return frame.reset_index(drop=True), info
