"""Read the INSEE *populations légales* by commune (``donnees_communes.csv``).

INSEE publishes every December the populations légales of millésime N (reference date
1 January N, in force on 1 January N+3; catalog source ``populations_legales``) as
``ensemble.zip``, which holds ``donnees_communes.csv`` (``;``-separated, one header row,
Windows-1252 in most editions, UTF-8 in some) with the columns

``REG; Région; DEP; CODARR; CODCAN; CODCOM; COM; Commune; PMUN; PCAP; PTOT``

(``COM`` = commune code = ``DEP`` + ``CODCOM``; ``PMUN`` population municipale, ``PCAP``
population comptée à part, ``PTOT`` population totale = PMUN + PCAP).  Use the population
municipale for densities and sums (EPCI, département...).  Figures may carry thousands
separators (spaces): they are removed.

Paris, Lyon and Marseille are listed by **municipal arrondissement** (75101–75120,
69381–69389, 13201–13216).  The loader keeps those rows (``commune_parente`` set) and, when
the parent commune (75056, 69123, 13055) is not in the file, adds it with the sum of its
arrondissements (``agrege_arrondissements`` true), as the Reference needs the commune.
"""

from __future__ import annotations

import io
import logging
import zipfile
from pathlib import Path

import pandas as pd

from geodata.formats import find_columns, pad_code, parse_counts, year_in
from observatory.errors import ConfigurationError, DataValidationError, explain

__all__ = ["PLM", "read_populations"]

log = logging.getLogger(__name__)

#: Parent commune of the municipal arrondissements: code -> (name, arrondissement pattern).
PLM = {"75056": ("Paris", r"751(0[1-9]|1\d|20)"), "69123": ("Lyon", r"6938[1-9]"),
       "13055": ("Marseille", r"132(0[1-9]|1[0-6])")}

_ALIASES = {
    "region": ("REG",), "departement": ("DEP",), "codcom": ("CODCOM",),
    "code": ("COM", "DEPCOM", "CODGEO"), "nom": ("Commune", "LIBCOM", "NCC"),
    "pmun": ("PMUN",), "pcap": ("PCAP",), "ptot": ("PTOT",),
}


def _read_bytes(path: Path, member: str) -> tuple[bytes, str]:
    """Content of the CSV, from the file itself or from inside a zip."""
    if not path.is_file():
        raise ConfigurationError(explain(
            f"Population file {str(path)!r} does not exist.",
            "read_populations reads donnees_communes.csv or the ensemble.zip holding it.",
            "Download it (python -m observatory download populations_legales) or fix the path.",
        ))
    if not zipfile.is_zipfile(path):
        return path.read_bytes(), path.name
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        matches = [n for n in names if Path(n).name.lower() == member.lower()]
        if not matches:
            raise DataValidationError(explain(
                f"{path.name} does not contain {member}.",
                f"It holds: {', '.join(names)}.",
                "Give the INSEE ensemble.zip of the populations légales, or the CSV itself.",
            ), offenders=names)
        return archive.read(matches[0]), f"{path.name}/{matches[0]}"


def _decode(content: bytes, encoding: str | None, source: str) -> str:
    if encoding:
        return content.decode(encoding)
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        log.info("%s is not UTF-8: read as Windows-1252", source)
        return content.decode("cp1252")


def read_populations(path: str | Path, *, millesime: int | None = None,
                     encoding: str | None = None,
                     member: str = "donnees_communes.csv") -> pd.DataFrame:
    """Read the communes table of the INSEE populations légales.

    Parameters
    ----------
    path : str or Path
        ``donnees_communes.csv`` or the ``ensemble.zip`` that holds it.
    millesime : int, optional
        Millésime of the populations (e.g. 2023 for the figures in force on 1 January
        2026); guessed from a year in the file name when not given, else NA.
    encoding : str, optional
        Force the encoding; by default UTF-8 is tried, then Windows-1252.
    member : str
        Name of the CSV inside the zip.

    Returns
    -------
    pandas.DataFrame
        Index ``code`` (str); ``nom``, ``departement``, ``region``, ``population``
        (Int64, PMUN), ``population_comptee_a_part`` (PCAP), ``population_totale`` (PTOT),
        ``millesime`` (Int64), ``commune_parente`` (parent of a municipal arrondissement,
        else NA), ``agrege_arrondissements`` (bool).

    Raises
    ------
    ConfigurationError
        The file is missing.
    DataValidationError
        Missing column, invalid or duplicated commune code, non-numeric population
        (the offending values are listed); nothing is dropped silently.
    """
    path = Path(path).expanduser()
    content, source = _read_bytes(path, member)
    text = _decode(content, encoding, source)
    raw = pd.read_csv(io.StringIO(text), sep=";", dtype=str, keep_default_na=False)
    columns = find_columns(raw.columns, _ALIASES, ("pmun",), source)
    if "code" not in columns and not {"departement", "codcom"} <= set(columns):
        raise DataValidationError(explain(
            f"{source}: no commune code column.",
            "The commune code is COM, or DEP + CODCOM.",
            "Check that the file is donnees_communes.csv.",
        ), offenders=["COM"])

    def column(name):
        return (raw[columns[name]].astype("string").str.strip() if name in columns
                else pd.Series(pd.NA, index=raw.index, dtype="string"))

    code = column("code") if "code" in columns else column("departement") + column("codcom")
    frame = pd.DataFrame({
        "code": pad_code(code, "commune", source=source),
        "nom": column("nom"),
        "departement": pad_code(column("departement"), "departement", source=source),
        "region": pad_code(column("region"), "region", source=source),
        "population": parse_counts(column("pmun"), source),
        "population_comptee_a_part": parse_counts(column("pcap"), source),
        "population_totale": parse_counts(column("ptot"), source),
    })
    missing = frame.loc[frame["code"].isna() | frame["population"].isna()]
    if len(missing):
        lines = (missing.index + 2).tolist()  # 1-based, after the header row
        raise DataValidationError(explain(
            f"{source}: {len(missing)} row(s) without commune code or PMUN.",
            "Every row of donnees_communes.csv describes one commune.",
            "Correct or remove those lines (numbers are file line numbers).",
            offenders=lines,
        ), offenders=lines)
    inconsistent = frame[(frame["population_totale"].notna())
                         & (frame["population_comptee_a_part"].notna())
                         & (frame["population"] + frame["population_comptee_a_part"]
                            != frame["population_totale"])]
    if len(inconsistent):
        log.warning("%s: PMUN + PCAP != PTOT for %d communes (e.g. %s)", source,
                    len(inconsistent), ", ".join(inconsistent["code"].head(5)))
    frame["commune_parente"] = pd.Series(pd.NA, index=frame.index, dtype="string")
    for parent, (_name, pattern) in PLM.items():
        is_arm = frame["code"].str.fullmatch(pattern).fillna(False).astype(bool)
        frame.loc[is_arm, "commune_parente"] = parent
    frame["agrege_arrondissements"] = False
    frame = pd.concat([frame, _plm_parents(frame, source)], ignore_index=True)
    year = millesime if millesime is not None else year_in(path) or year_in(source)
    frame["millesime"] = pd.array([year] * len(frame), dtype="Int64")
    frame = frame.set_index("code")
    duplicated = frame.index[frame.index.duplicated()].unique().tolist()
    if duplicated:
        raise DataValidationError(explain(
            f"{source}: {len(duplicated)} commune code(s) appear more than once.",
            "Each commune has one row.",
            "Remove the duplicated lines (or check that two files were not concatenated).",
            offenders=duplicated,
        ), offenders=duplicated)
    log.info("%s: %d communes, population municipale %s (millésime %s)", source,
             int((~frame["commune_parente"].notna()).sum()),
             int(frame.loc[frame["commune_parente"].isna(), "population"].sum()), year)
    return frame[["nom", "departement", "region", "population", "population_comptee_a_part",
                  "population_totale", "millesime", "commune_parente",
                  "agrege_arrondissements"]]


def _plm_parents(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """Rows for Paris / Lyon / Marseille summed from their arrondissements, when absent."""
    rows = []
    present = set(frame["code"])
    for parent, (name, _pattern) in PLM.items():
        arrondissements = frame[frame["commune_parente"] == parent]
        if arrondissements.empty:
            continue
        sums = arrondissements[["population", "population_comptee_a_part",
                                "population_totale"]].sum(min_count=len(arrondissements))
        if parent in present:
            given = frame.loc[frame["code"] == parent, "population"].iloc[0]
            if given != sums["population"]:
                log.warning("%s: %s has PMUN %s but its arrondissements sum to %s", source,
                            name, given, sums["population"])
            continue
        first = arrondissements.iloc[0]
        rows.append({"code": parent, "nom": name, "departement": first["departement"],
                     "region": first["region"], **sums.to_dict(),
                     "commune_parente": pd.NA, "agrege_arrondissements": True})
    if not rows:
        return frame.iloc[:0]
    out = pd.DataFrame(rows)
    for column in ("population", "population_comptee_a_part", "population_totale"):
        out[column] = out[column].astype("Int64")
    return out.astype({c: frame[c].dtype for c in ("code", "nom", "departement", "region",
                                                   "commune_parente")})
