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
#: Bounds of a zip's CSV once extracted.  The largest official file, StockEtablissement
#: (about 42 M rows in 2026), unpacks to about 8 GB from a 2 GB zip.
MAX_UNPACKED_BYTES = 40_000_000_000
MAX_UNPACKED_ROWS = 150_000_000
#: Unpacked / compressed: CSV text compresses 3 to 10 times, a zip bomb 100 to 1000 times;
#: checked once the output passes RATIO_FLOOR bytes (a small test file may compress more).
MAX_RATIO = 100
RATIO_FLOOR = 100_000_000


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

    def select_sql(self, columns: list[str], pad: dict[str, int] | None = None,
                   line: str | None = None) -> str:
        """``(SELECT ... FROM read_xxx(...))`` selecting ``columns`` as VARCHAR.

        Columns absent from the file come out NULL; ``pad`` zero-pads numeric columns
        (Parquet integer SIREN/SIRET/NIC) to their width.  ``line`` names an extra BIGINT
        column with each row's place in the file, numbered before any filter: the line of a
        CSV (header = line 1; exact for SIRENE files, whose fields hold no line break), the
        row number of a Parquet file (first row = 1).

        CSV files are read with their header's columns declared (no dialect sniffing), so
        that DuckDB names the line and the cause of a parse error
        (:func:`etl.read_errors.explain_read_error`).
        """
        pad = pad or {}
        parts = []
        for name in columns:
            quoted = _quote_name(name)
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
            numbered = ", file_row_number=true" if line else ""
            source = f"read_parquet('{path}'{numbered})"
            if line:
                parts.append(f"file_row_number + 1 AS {_quote_name(line)}")
        else:
            delim = self.delimiter.replace("'", "''")
            declared = ", ".join(f"{_sql_text(c)}: 'VARCHAR'" for c in self.columns)
            source = (f"read_csv('{path}', delim='{delim}', quote='\"', escape='\"', "
                      f"header=true, auto_detect=false, columns={{{declared}}}, "
                      "encoding='utf-8')")
            if line:  # a streaming window: rows are numbered in file order
                parts.append(f"row_number() OVER () + 1 AS {_quote_name(line)}")
        return f"(SELECT {', '.join(parts)} FROM {source})"


def _quote_name(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _check_utf8(sample: bytes, label: str) -> str:
    """Decode the first bytes of a CSV; clear error when it is not UTF-8."""
    cut = sample.rfind(b"\n") if len(sample) == _SNIFF_BYTES else len(sample)
    head = sample[: cut if cut > 0 else len(sample)]
    try:
        return head.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = head[:exc.start].count(b"\n") + 1
        raise DataValidationError(explain(
            f"File {label} is not UTF-8 at line {line} (byte 0x{head[exc.start]:02x} at "
            f"offset {exc.start}; encoding).",
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


def _zip_refused(name: str, what_fr: str, what_en: str, fix_fr: str, fix_en: str,
                 offenders: list[str]) -> DataValidationError:
    return DataValidationError(explain(
        f"Archive refusée : {name} {what_fr}. / Archive refused: {name} {what_en}.",
        "Les archives officielles de SIRENE se décompressent en quelques Go (environ 4 fois "
        "leur taille) ; au-delà des limites, l'archive est abîmée ou piégée (« bombe zip ») et "
        "remplirait le disque. / The official SIRENE zips unpack to a few GB (about 4 times "
        "their size); beyond the limits the archive is damaged or a zip bomb and would fill "
        "the disk.",
        f"{fix_fr} / {fix_en}"), offenders=offenders)


def _size(n: float) -> tuple[str, str]:
    """A size in French and English words: ("2 Mo", "2 MB"), ("8,1 Go", "8.1 GB")."""
    if n >= 1e9:
        return f"{n / 1e9:.1f} Go".replace(".", ","), f"{n / 1e9:.1f} GB"
    return f"{n / 1e6:,.0f} Mo".replace(",", " "), f"{n / 1e6:,.0f} MB"


def _check_member(member: zipfile.ZipInfo, workdir: Path, name: str) -> None:
    """Refuse before extracting: declared size over the cap, or more than the free space."""
    import shutil

    (size_fr, size_en), (cap_fr, cap_en) = _size(member.file_size), _size(MAX_UNPACKED_BYTES)
    if member.file_size > MAX_UNPACKED_BYTES:
        raise _zip_refused(
            name, f"annonce {size_fr} une fois décompressée (limite {cap_fr})",
            f"declares {size_en} unpacked (limit {cap_en})",
            "Téléchargez à nouveau le fichier officiel.", "Download the official file again.",
            [member.filename])
    free = shutil.disk_usage(workdir).free
    if member.file_size > free:
        (free_fr, free_en) = _size(free)
        raise _zip_refused(
            name, f"se décompresse en {size_fr}, il reste {free_fr} libres dans {workdir}",
            f"unpacks to {size_en}, only {free_en} are free in {workdir}",
            "Libérez de la place dans le dossier de données (OBSERVATOIRE_DATA_DIR), ou donnez "
            "le CSV déjà décompressé.", "Free space in the data folder (OBSERVATOIRE_DATA_DIR), "
            "or give the CSV already unpacked.", [str(workdir)])


def _over_limits(name: str, member: zipfile.ZipInfo, written: int, lines: int, cap: int
                 ) -> DataValidationError:
    if lines > MAX_UNPACKED_ROWS + 1:
        rows = f"{MAX_UNPACKED_ROWS:,}"
        what_fr = f"dépasse {rows.replace(',', ' ')} lignes une fois décompressée"
        what_en = f"exceeds {rows} lines unpacked"
    else:
        (done_fr, done_en), (cap_fr, cap_en) = _size(written), _size(cap)
        what_fr = (f"dépasse {done_fr} une fois décompressée (limite {cap_fr}, soit "
                   f"{MAX_RATIO} fois sa taille compressée au plus)")
        what_en = (f"exceeds {done_en} unpacked (limit {cap_en}, at most {MAX_RATIO} times "
                   "its compressed size)")
    return _zip_refused(name, what_fr, what_en, "Téléchargez à nouveau le fichier officiel.",
                        "Download the official file again.", [member.filename])


def _extract_member(path: Path, workdir: Path, name: str) -> tuple[Path, int]:
    """Stream the CSV of an official zip to ``workdir``; return it and its data-row count.

    Bounded (:data:`MAX_UNPACKED_BYTES`, :data:`MAX_UNPACKED_ROWS`, :data:`MAX_RATIO`), on
    the declared size first, then on the bytes actually written: a zip bomb is stopped and
    its partial output removed."""
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
        _check_member(member, workdir, name)
        target = workdir / Path(member.filename).name
        lines, last, written = 0, b"\n", 0
        limit = max(MAX_RATIO * member.compress_size, RATIO_FLOOR)
        try:
            with archive.open(member) as src, open(target, "wb") as dst:
                while block := src.read(1 << 22):
                    written += len(block)
                    lines += block.count(b"\n")
                    if written > min(MAX_UNPACKED_BYTES, limit) or lines > MAX_UNPACKED_ROWS + 1:
                        raise _over_limits(name, member, written, lines,
                                           min(MAX_UNPACKED_BYTES, limit))
                    dst.write(block)
                    last = block[-1:]
        except BaseException:
            target.unlink(missing_ok=True)
            raise
    return target, max(lines + (0 if last == b"\n" else 1) - 1, 0)
