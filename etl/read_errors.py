"""Read errors of the SIRENE stock files, explained: the file, the line and the real cause.

DuckDB reports most CSV errors with their line ("CSV Error on Line: 7501") and cause
("Expected Number of Columns: 54 Found: 7", "Value with unterminated quote found", "Invalid
unicode"); :func:`explain_read_error` turns that into an :func:`observatory.errors.explain`
message.  The cause is read from the error's own text, never from the file names (``_utf8``
is no encoding problem).  When DuckDB names no line (its "invalid state" error, met with a
ragged row whose line end differs from the others'), :func:`find_bad_line` finds it by
streaming the file.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from etl.sirene_files import TableFile

__all__ = ["explain_read_error", "find_bad_line"]


def _label(table: TableFile) -> str:
    if table.readable != table.path:
        return f"{table.path.name} (member {table.readable.name})"
    return table.path.name


def find_bad_line(path: Path, delimiter: str, n_columns: int) -> tuple[int, str, str] | None:
    """First faulty line of a CSV, for the errors DuckDB reports without one: ``(line,
    cause, text)`` with cause ``encoding``, ``quote``, ``column count`` or ``line ends`` (a
    line ending differently from the header's); None when every line reads.  Streams the
    file line by line (SIRENE fields hold no line break); only run on the error path."""
    with open(path, "rb") as handle:
        ending = None
        for number, raw in enumerate(handle, start=1):
            end = b"\r\n" if raw.endswith(b"\r\n") else b"\n" if raw.endswith(b"\n") else b""
            ending = ending or end
            shown = raw[:160].decode("utf-8", errors="replace").rstrip("\r\n")
            try:
                text = raw.decode("utf-8-sig" if number == 1 else "utf-8").rstrip("\r\n")
            except UnicodeDecodeError:
                return number, "encoding", shown
            try:
                fields = next(csv.reader([text], delimiter=delimiter, strict=True), [])
            except csv.Error:
                return number, "quote", shown
            if len(fields) != n_columns and text.strip():
                return number, f"column count {len(fields)}/{n_columns}", shown
            if end and end != ending:
                return number, "line ends", shown
    return None


def _duckdb_report(text: str, tables: list[TableFile]) -> tuple[TableFile | None, str,
                                                                  int | None, str, str]:
    """``(table, where, line, cause, shown)`` read from DuckDB's error text (cause from the
    message itself, never from the file names: ``_utf8`` is no encoding problem)."""
    file_match = re.search(r"^\s*file = (.+?)\s*$", text, re.MULTILINE)
    table = None
    if file_match:
        named = Path(file_match.group(1))
        table = next((t for t in tables if named in (t.readable, t.path)
                      or named.name == t.readable.name), None)
    where = _label(table) if table else (Path(file_match.group(1)).name if file_match
                                         else ", ".join(_label(t) for t in tables))
    line_match = re.search(r"CSV Error on Line: (\d+)", text)
    original = re.search(r"Original Line: ?(.*)", text)
    head = re.split(r"\n\s*(?:file = |Possible (?:fixes|Solution))", text, maxsplit=1)[0]
    head = head.lower()
    columns = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", text)
    if "invalid unicode" in head or "not utf-8 encoded" in head:
        cause = "encoding"
    elif "quote" in head:
        cause = "quote"
    elif columns:
        cause = f"column count {columns.group(2)}/{columns.group(1)}"
    elif "invalid state" in head:
        cause = "line ends"
    else:
        cause = ""
    return (table, where, int(line_match.group(1)) if line_match else None, cause,
            original.group(1)[:160] if original else "")


def explain_read_error(text: str, tables: list[TableFile]) -> tuple[str, str, str, list[str]]:
    """``(what, why, fix, offenders)`` of a DuckDB error met while reading ``tables``: the
    file, the line and the real cause (encoding, quote, column count, line ends), from
    DuckDB's report ("CSV Error on Line: N", "Expected Number of Columns: 50 Found: 7"), or
    from :func:`find_bad_line` when DuckDB names no line."""
    table, where, line, cause, shown = _duckdb_report(text, tables)
    if line is None:  # DuckDB could not say: find the line ourselves
        for candidate in ([table] if table else tables):
            if candidate is None or candidate.kind != "csv":
                continue
            found = find_bad_line(candidate.readable, candidate.delimiter,
                                  len(candidate.columns))
            if found:
                table, where = candidate, _label(candidate)
                line, cause, shown = found
                break
    at = f" at line {line}" if line else ""
    shown = f" The line starts with {shown!r}." if shown else ""
    fix_line = f"line {line}" if line else "the faulty row"
    delimiter = table.delimiter if table else ","
    if cause == "encoding":
        return (f"{where} is not valid UTF-8{at} (encoding).{shown}",
                "SIRENE files are published in UTF-8; this one was re-encoded (Windows-1252 / "
                "Latin-1?) or corrupted from that line on.",
                "Use the original _utf8 file as downloaded, or convert it: "
                "iconv -f WINDOWS-1252 -t UTF-8.", [f"{where}:{line}"])
    if cause == "quote":
        return (f"{where} has an unbalanced double quote{at} (quote).{shown}",
                'A field opens a double quote that never closes, or text follows a quoted '
                'value: a field holding a quote is written "like ""this""".',
                f"Fix the quotes on {fix_line}, or download the file again (the published "
                "files are well quoted).", [f"{where}:{line}"])
    if cause.startswith("column count"):
        found_n, expected = cause.split()[-1].split("/")
        return (f"{where}{at} has {found_n} fields where the header has {expected} "
                f"(column count).{shown}",
                "A row with fewer or more fields than the header: a truncated download, or "
                "a file edited and saved with another separator or without quotes.",
                f"Download the file again; if it was edited, fix {fix_line} (separator "
                f"{delimiter!r}, fields holding it in double quotes).", [f"{where}:{line}"])
    if cause == "line ends":
        return (f"{where}{at} ends its lines differently from the lines before it "
                f"(line ends: \\n and \\r\\n mixed).{shown}",
                "The file was edited or concatenated from pieces saved on different systems.",
                "Download the file again, or convert every line end: dos2unix FILE.",
                [f"{where}:{line}" if line else where])
    body = text.split("\n", 1)[0][:300]  # DuckDB's first line, without its option dump
    return (f"Reading {where} failed{at}: {body}",
            "The file could not be parsed as the published CSV/Parquet.",
            "Download the files again (truncated download?) and keep them as published.",
            [f"{where}:{line}" if line else where])
