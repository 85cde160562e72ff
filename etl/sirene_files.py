"""Find and open the SIRENE stock files as published (CSV, CSV-in-zip, Parquet) for DuckDB.

The stock files are large (about 30 M unités légales, 40 M établissements): they are never
loaded whole.  This module checks each file up front (present, not empty, UTF-8, expected
columns by name) and returns a DuckDB table expression that selects only the needed columns,
all as text (codes keep their leading zeros).
"""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

from observatory.errors import ConfigurationError, DataValidationError, explain

__all__ = [
    "OFFICIAL_NAMES",
    "SireneFiles",
    "TableFile",
    "file_digest",
    "file_sha256",
    "find_sirene_files",
    "open_table_file",
]

#: Official file names, in order of preference, for each SIRENE file.
OFFICIAL_NAMES: dict[str, tuple[str, ...]] = {
    "unite_legale": ("StockUniteLegale_utf8.parquet", "StockUniteLegale_utf8.csv",
                     "StockUniteLegale_utf8.zip"),
    "etablissement": ("StockEtablissement_utf8.parquet", "StockEtablissement_utf8.csv",
                      "StockEtablissement_utf8.zip"),
    "geolocalisation": ("GeolocalisationEtablissement_Sirene_pour_etudes_statistiques_utf8.csv",
                        "GeolocalisationEtablissement_Sirene_pour_etudes_statistiques_utf8.zip"),
}
_SNIFF_BYTES = 1 << 20


@dataclass(frozen=True)
class SireneFiles:
    """Paths of the SIRENE files of one refresh (``geolocalisation`` is optional)."""

    unite_legale: Path
    etablissement: Path
    geolocalisation: Path | None = None

    def paths(self) -> list[Path]:
        """Every file that is present."""
        return [p for p in (self.unite_legale, self.etablissement, self.geolocalisation) if p]


def _in_download_layout(folder: Path, names: tuple[str, ...]) -> Path | None:
    """The file in ``folder/<source>/<vintage>/`` as ``python -m observatory download sirene``
    lays them out (one sub-folder per source); refuse to guess between several copies."""
    for name in names:
        matches = sorted(folder.glob(f"*/*/{name}"))
        if len(matches) > 1:
            raise ConfigurationError(explain(
                f"Several copies of {name} under {str(folder)!r}.",
                "The refresh must read exactly one edition of each SIRENE file.",
                "Pass --sirene-dir with the one folder (vintage) to read.",
                offenders=[str(m) for m in matches],
            ))
        if matches:
            return matches[0]
    return None


def find_sirene_files(directory: str | Path) -> SireneFiles:
    """Locate the SIRENE files under their official names in ``directory`` (or in its
    ``<source>/<vintage>/`` sub-folders, the layout of ``python -m observatory download``).

    Raises
    ------
    ConfigurationError
        When the folder or a stock file is missing (the message lists the accepted names).
    """
    folder = Path(directory)
    if not folder.is_dir():
        raise ConfigurationError(explain(
            f"SIRENE folder {str(folder)!r} does not exist.",
            "The refresh reads the SIRENE stock files from a folder.",
            "Pass --sirene-dir with the folder holding StockUniteLegale_utf8.zip (or .csv/.parquet)"
            " and StockEtablissement_utf8.zip (or .csv/.parquet).",
        ))
    found: dict[str, Path | None] = {}
    for kind, names in OFFICIAL_NAMES.items():
        found[kind] = next((folder / n for n in names if (folder / n).is_file()), None)
        if found[kind] is None:
            found[kind] = _in_download_layout(folder, names)
        if found[kind] is None and kind != "geolocalisation":
            present = sorted(p.name for p in folder.iterdir())[:20]
            raise ConfigurationError(explain(
                f"No {kind} file in {str(folder)!r}.",
                f"Expected one of {', '.join(names)} (official INSEE names).",
                "Download the SIRENE stock files (python -m observatory download "
                "sirene_unite_legale / sirene_etablissement) or rename them as published.",
                offenders=present,
            ))
    return SireneFiles(found["unite_legale"], found["etablissement"], found["geolocalisation"])


def file_sha256(path: Path, chunk: int = 1 << 22) -> str:
    """SHA-256 of a file, read in chunks."""
    return file_digest(path, chunk=chunk)[0]


def file_digest(path: Path, *, hash_file: bool = True, count_lines: bool = False,
                chunk: int = 1 << 22) -> tuple[str | None, int | None]:
    """SHA-256 and/or CSV data-row count of a file in one read.

    The row count is the number of line ends minus the header (plus a last line without
    line end); exact for SIRENE files, whose fields carry no line breaks.
    """
    digest = hashlib.sha256() if hash_file else None
    lines, last = 0, b"\n"
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            if digest is not None:
                digest.update(block)
            if count_lines:
                lines += block.count(b"\n")
                last = block[-1:]
    rows = None
    if count_lines:
        rows = max(lines + (0 if last == b"\n" else 1) - 1, 0)
    return (digest.hexdigest() if digest is not None else None), rows


@dataclass(frozen=True)
class TableFile:
    """A checked input table: where DuckDB reads it and its column names/types."""

    path: Path            # the file as given (for messages and checksums)
    readable: Path        # what DuckDB opens (the extracted CSV for a zip)
    kind: str             # "csv" or "parquet"
    delimiter: str
    columns: tuple[str, ...]
    text_columns: frozenset[str]  # columns already stored as text
    rows: int | None = None  # data rows when known without a pass (Parquet, extracted zip)

    def select_sql(self, columns: list[str], pad: dict[str, int] | None = None) -> str:
        """``(SELECT ... FROM read_xxx(...))`` selecting ``columns`` as VARCHAR.

        Columns absent from the file come out NULL; ``pad`` zero-pads numeric columns
        (Parquet integer SIREN/SIRET/NIC) to their width.
        """
        pad = pad or {}
        parts = []
        for name in columns:
            quoted = '"' + name.replace('"', '""') + '"'
            if name not in self.columns:
                expr = "CAST(NULL AS VARCHAR)"
            elif name in self.text_columns:
                expr = quoted
            else:
                expr = f"CAST({quoted} AS VARCHAR)"
                if name in pad:
                    expr = f"lpad({expr}, {pad[name]}, '0')"
            parts.append(f"{expr} AS {quoted}")
        path = str(self.readable).replace("'", "''")
        if self.kind == "parquet":
            source = f"read_parquet('{path}')"
        else:
            delim = self.delimiter.replace("'", "''")
            source = (f"read_csv('{path}', delim='{delim}', quote='\"', escape='\"', "
                      "header=true, all_varchar=true, encoding='utf-8', auto_detect=true, "
                      "sample_size=20480)")
        return f"(SELECT {', '.join(parts)} FROM {source})"


def _check_utf8(sample: bytes, label: str) -> str:
    """Decode the first bytes of a CSV; clear error when it is not UTF-8."""
    cut = sample.rfind(b"\n") if len(sample) == _SNIFF_BYTES else len(sample)
    head = sample[: cut if cut > 0 else len(sample)]
    try:
        return head.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataValidationError(explain(
            f"File {label} is not UTF-8 (byte 0x{head[exc.start]:02x} at offset {exc.start}).",
            "SIRENE files are published in UTF-8 (names ending in _utf8); this one looks "
            "re-encoded (Windows-1252 / Latin-1?).",
            "Use the original _utf8 file, or convert it: iconv -f WINDOWS-1252 -t UTF-8.",
        ), offenders=[label]) from exc


def _csv_header(sample: bytes, label: str, delimiter: str) -> tuple[str, ...]:
    text = _check_utf8(sample, label)
    if not text.strip():
        raise DataValidationError(explain(
            f"File {label} is empty.", "A SIRENE file starts with a header row.",
            "Download the file again (it may be truncated).",
        ), offenders=[label])
    first = next(csv.reader(io.StringIO(text.splitlines()[0]), delimiter=delimiter))
    return tuple(c.strip() for c in first)


def open_table_file(path: Path, *, delimiter: str, required: tuple[str, ...],
                    workdir: Path, label: str) -> TableFile:
    """Check a SIRENE table file and prepare it for DuckDB.

    Parameters
    ----------
    path : Path
        ``.csv``, ``.zip`` (a CSV inside) or ``.parquet``.
    delimiter : str
        CSV separator ("," for the stocks, ";" for the géolocalisé file).
    required : tuple of str
        Columns that must be present (by name).
    workdir : Path
        Where a zip member is extracted (streamed, never held in memory).
    label : str
        Human name of the file for messages.

    Raises
    ------
    DataValidationError
        Empty file, wrong encoding, or a required column missing / renamed.
    """
    path = Path(path)
    name = f"{label} ({path.name})"
    if not path.is_file() or path.stat().st_size == 0:
        raise DataValidationError(explain(
            f"File {name} is missing or empty.", "The refresh cannot read an empty file.",
            "Download it again; a truncated download gives an empty or partial file.",
        ), offenders=[str(path)])
    suffix = path.suffix.lower()
    text_columns: frozenset[str]
    if suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            schema = pq.read_schema(path)
        except (OSError, pa.ArrowInvalid) as exc:
            raise DataValidationError(explain(
                f"File {name} is not a readable Parquet file ({exc}).",
                "The Parquet edition of the stock must be a complete file.",
                "Download it again, or use the CSV edition.",
            ), offenders=[str(path)]) from exc
        columns = tuple(schema.names)
        text_columns = frozenset(f.name for f in schema
                                 if pa.types.is_string(f.type) or pa.types.is_large_string(f.type))
        readable, kind = path, "parquet"
        rows = pq.ParquetFile(path).metadata.num_rows
    elif suffix == ".zip":
        readable, rows = _extract_member(path, workdir, name)
        with open(readable, "rb") as handle:
            columns = _csv_header(handle.read(_SNIFF_BYTES), name, delimiter)
        text_columns, kind = frozenset(columns), "csv"
    else:
        with open(path, "rb") as handle:
            columns = _csv_header(handle.read(_SNIFF_BYTES), name, delimiter)
        readable, kind, text_columns, rows = path, "csv", frozenset(columns), None
    missing = [c for c in required if c not in columns]
    if missing:
        other = ";" if delimiter == "," else ","
        hint = (f" The header has a single column containing {other!r}: the separator is "
                f"{other!r}, not {delimiter!r}." if len(columns) == 1 and other in columns[0]
                else "")
        raise DataValidationError(explain(
            f"File {name} lacks column(s) {', '.join(missing)}.{hint}",
            f"Expected columns (by name, any order): {', '.join(required)}. "
            f"Found: {', '.join(columns[:40])}.",
            "Use the file as published by INSEE (columns may have been renamed or dropped).",
        ), offenders=missing)
    return TableFile(path, readable, kind, delimiter, columns, text_columns, rows)


def _extract_member(path: Path, workdir: Path, name: str) -> tuple[Path, int]:
    """Stream the CSV of an official zip to ``workdir``; return it and its data-row count."""
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise DataValidationError(explain(
            f"File {name} is not a valid zip archive.", "The download may be truncated.",
            "Download it again.",
        ), offenders=[str(path)]) from exc
    with archive:
        members = [m for m in archive.infolist()
                   if m.filename.lower().endswith(".csv") and not m.is_dir()]
        wanted = path.with_suffix(".csv").name
        member = next((m for m in members if Path(m.filename).name == wanted),
                      members[0] if len(members) == 1 else None)
        if member is None:
            raise DataValidationError(explain(
                f"Zip {name} holds no single CSV named {wanted}.",
                "The official zips hold one CSV with the same base name.",
                "Use the zip as published, or extract the CSV into the folder.",
            ), offenders=[m.filename for m in archive.infolist()])
        workdir.mkdir(parents=True, exist_ok=True)
        target = workdir / Path(member.filename).name
        lines, last = 0, b"\n"
        with archive.open(member) as src, open(target, "wb") as dst:
            while block := src.read(1 << 22):
                dst.write(block)
                lines += block.count(b"\n")
                last = block[-1:]
    return target, max(lines + (0 if last == b"\n" else 1) - 1, 0)
