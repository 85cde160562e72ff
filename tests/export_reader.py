"""Read back the files of the one export model (render.exports) in tests.

An export CSV is an « À propos » block, an empty line, then the table with French headers;
``raw`` maps those headers back to the raw column names a test asks for, so that a test reads
``table["code"]`` while the file keeps the readable header « Code ».
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

from render.export_columns import header_of

_CODES = ("code", "departement", "commune", "epci", "region", "siret")


def _back(names: tuple[str, ...]) -> dict[str, str]:
    """French header -> raw name: territory codes (« Code département » -> departement), then
    the first raw name of each header (explicit ones come first)."""
    from render.export_columns import TERRITORY_LEVELS

    back = {code_header: level for level, (code_header, _) in TERRITORY_LEVELS.items()}
    for name in names:
        back.setdefault(header_of(name), name)
    return back


def _known_raw_names(extra: tuple[str, ...]) -> tuple[str, ...]:
    from indicators.registry import COLUMN_LABELS_FR, INDICATORS
    from render.export_columns import HEADERS

    return (*extra, *HEADERS, *INDICATORS, *COLUMN_LABELS_FR)


def read_csv_export(path: Path | bytes, *, raw: tuple[str, ...] = (),
                    numbers: bool = True) -> tuple[list[str], pd.DataFrame]:
    """(« À propos » lines, table) of an export CSV; ``raw`` columns renamed back; numbers
    read with the decimal comma unless ``numbers=False`` (then every cell is text)."""
    data = path if isinstance(path, bytes) else Path(path).read_bytes()
    lines = data.decode("utf-8-sig").split("\r\n")
    blank = lines.index("") if "" in lines[:-1] else -1
    body = "\r\n".join(lines[blank + 1:])
    raw = _known_raw_names(raw)
    back = _back(raw)
    codes = {h: str for h, n in back.items() if n in _CODES}  # codes stay text ("01001")
    kwargs = ({"decimal": ",", "dtype": codes} if numbers
              else {"dtype": str, "keep_default_na": False})
    table = pd.read_csv(io.StringIO(body), sep=";", **kwargs)
    table = table.rename(columns=back)
    return lines[:blank] if blank >= 0 else [], table


def read_xlsx_export(path: Path, sheet: str, *, raw: tuple[str, ...] = ()) -> pd.DataFrame:
    """A data sheet of an export XLSX, with ``raw`` (and every known) column renamed back."""
    back = _back(_known_raw_names(raw))
    codes = {h: str for h, n in back.items() if n in _CODES}
    table = pd.read_excel(path, sheet_name=sheet, dtype=codes)
    return table.rename(columns=back)
