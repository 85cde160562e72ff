"""The official SIRENE file formats of the demo: column sets, CSV and Parquet editions.

A quarter of demo data is held as three :class:`pyarrow.Table` (``unite_legale``,
``etablissement``, ``geolocalisation``), every column text (``null`` = empty field), columns in
the official order.  :func:`write_quarter` writes them under their official names:

* CSV edition: ``StockUniteLegale_utf8.csv`` and ``StockEtablissement_utf8.csv``,
  comma-separated, UTF-8, empty fields empty, quotes only where a value needs them;
* Parquet edition: ``StockUniteLegale_utf8.parquet`` and ``StockEtablissement_utf8.parquet``
  (``../shared/docs/data-sources.md`` §1: offered on the same data.gouv.fr dataset).  The
  edition's column types are not documented offline: every column is written as text, which
  the ETL reads as it reads any column (:mod:`etl.sirene_files` casts to text);
* the géolocalisé file exists only as CSV (``;``-separated, ``[ND]`` for missing values):
  ``GeolocalisationEtablissement_Sirene_pour_etudes_statistiques_utf8.csv`` in both editions.

Every file is written to ``<name>.part`` and renamed when complete.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

__all__ = [
    "EDITIONS",
    "ETABLISSEMENT_COLUMNS",
    "FILE_NAMES",
    "GEOLOCALISATION_COLUMNS",
    "UNITE_LEGALE_COLUMNS",
    "as_table",
    "csv_chunk",
    "file_names",
    "read_demo_files",
    "write_quarter",
]

GEOLOCALISATION_FILE = "GeolocalisationEtablissement_Sirene_pour_etudes_statistiques_utf8.csv"
#: Official file names of the CSV edition (the default of a département demo).
FILE_NAMES = {
    "unite_legale": "StockUniteLegale_utf8.csv",
    "etablissement": "StockEtablissement_utf8.csv",
    "geolocalisation": GEOLOCALISATION_FILE,
}
EDITIONS = ("csv", "parquet")

#: StockUniteLegale, official order (35 columns incl. the NAF 2025 column added in 2025).
UNITE_LEGALE_COLUMNS = (
    "siren", "statutDiffusionUniteLegale", "unitePurgeeUniteLegale", "dateCreationUniteLegale",
    "sigleUniteLegale", "sexeUniteLegale", "prenom1UniteLegale", "prenom2UniteLegale",
    "prenom3UniteLegale", "prenom4UniteLegale", "prenomUsuelUniteLegale",
    "pseudonymeUniteLegale", "identifiantAssociationUniteLegale", "trancheEffectifsUniteLegale",
    "anneeEffectifsUniteLegale", "dateDernierTraitementUniteLegale",
    "nombrePeriodesUniteLegale", "categorieEntreprise", "anneeCategorieEntreprise",
    "dateDebut", "etatAdministratifUniteLegale", "nomUniteLegale", "nomUsageUniteLegale",
    "denominationUniteLegale", "denominationUsuelle1UniteLegale",
    "denominationUsuelle2UniteLegale", "denominationUsuelle3UniteLegale",
    "categorieJuridiqueUniteLegale", "activitePrincipaleUniteLegale",
    "nomenclatureActivitePrincipaleUniteLegale", "nicSiegeUniteLegale",
    "economieSocialeSolidaireUniteLegale", "societeMissionUniteLegale",
    "caractereEmployeurUniteLegale", "activitePrincipaleNAF25UniteLegale",
)

#: StockEtablissement, official order (54 columns incl. the NAF 2025 column).
ETABLISSEMENT_COLUMNS = (
    "siren", "nic", "siret", "statutDiffusionEtablissement", "dateCreationEtablissement",
    "trancheEffectifsEtablissement", "anneeEffectifsEtablissement",
    "activitePrincipaleRegistreMetiersEtablissement", "dateDernierTraitementEtablissement",
    "etablissementSiege", "nombrePeriodesEtablissement", "complementAdresseEtablissement",
    "numeroVoieEtablissement", "indiceRepetitionEtablissement",
    "dernierNumeroVoieEtablissement", "indiceRepetitionDernierNumeroVoieEtablissement",
    "typeVoieEtablissement", "libelleVoieEtablissement", "codePostalEtablissement",
    "libelleCommuneEtablissement", "libelleCommuneEtrangerEtablissement",
    "distributionSpecialeEtablissement", "codeCommuneEtablissement", "codeCedexEtablissement",
    "libelleCedexEtablissement", "codePaysEtrangerEtablissement",
    "libellePaysEtrangerEtablissement", "identifiantAdresseEtablissement",
    "coordonneeLambertAbscisseEtablissement", "coordonneeLambertOrdonneeEtablissement",
    "complementAdresse2Etablissement", "numeroVoie2Etablissement",
    "indiceRepetition2Etablissement", "typeVoie2Etablissement", "libelleVoie2Etablissement",
    "codePostal2Etablissement", "libelleCommune2Etablissement",
    "libelleCommuneEtranger2Etablissement", "distributionSpeciale2Etablissement",
    "codeCommune2Etablissement", "codeCedex2Etablissement", "libelleCedex2Etablissement",
    "codePaysEtranger2Etablissement", "libellePaysEtranger2Etablissement", "dateDebut",
    "etatAdministratifEtablissement", "enseigne1Etablissement", "enseigne2Etablissement",
    "enseigne3Etablissement", "denominationUsuelleEtablissement",
    "activitePrincipaleEtablissement", "nomenclatureActivitePrincipaleEtablissement",
    "caractereEmployeurEtablissement", "activitePrincipaleNAF25Etablissement",
)

#: Géolocalisé file ("Sirene géolocalisé pour études statistiques"), ``;``-separated.
GEOLOCALISATION_COLUMNS = (
    "siret", "x", "y", "qualite_xy", "epsg", "plg_qp24", "plg_iris", "plg_zus", "plg_qva",
    "plg_code_commune", "distance_precision", "qualite_qp", "qualite_iris", "qualite_zus",
    "qualite_qva", "y_latitude", "x_longitude",
)

COLUMNS = {"unite_legale": UNITE_LEGALE_COLUMNS, "etablissement": ETABLISSEMENT_COLUMNS,
           "geolocalisation": GEOLOCALISATION_COLUMNS}
SEPARATORS = {"unite_legale": ",", "etablissement": ",", "geolocalisation": ";"}
#: Columns whose values may hold a comma or a quote (quoted when they do).
_FREE_TEXT = re.compile(r"(denomination|nom|prenom|sigle|enseigne|libelle|complement)", re.I)
_CSV_BATCH = 200_000


def file_names(edition: str = "csv") -> dict[str, str]:
    """Official names of the three files in an edition (``csv`` or ``parquet``)."""
    if edition not in EDITIONS:
        raise ValueError(f"edition must be one of {EDITIONS}, not {edition!r}")
    if edition == "csv":
        return dict(FILE_NAMES)
    return {"unite_legale": "StockUniteLegale_utf8.parquet",
            "etablissement": "StockEtablissement_utf8.parquet",
            "geolocalisation": GEOLOCALISATION_FILE}


def _as_array(value: Any, n: int) -> pa.Array:
    """A text column of ``n`` rows from an array, a constant string or None (all null)."""
    if value is None:
        return pa.nulls(n, pa.string())
    if isinstance(value, str):
        return pa.repeat(pa.scalar(value, pa.string()), n)
    if isinstance(value, pa.ChunkedArray):
        value = value.combine_chunks()
    if not isinstance(value, pa.Array):
        value = pa.array(np.asarray(value, dtype=object), type=pa.string(), from_pandas=True)
    if len(value) != n:
        raise ValueError(f"column of length {len(value)} for {n} rows")
    return value.cast(pa.string())


def as_table(key: str, data: dict[str, Any], n: int) -> pa.Table:
    """The table of one file from ``data`` (column -> array, constant string or None)."""
    columns = COLUMNS[key]
    unknown = set(data) - set(columns)
    if unknown:
        raise ValueError(f"not columns of {key}: {sorted(unknown)}")
    return pa.table({c: _as_array(data.get(c), n) for c in columns})


def _quote_needed(arr: pa.Array, sep: str) -> pa.Array:
    needs = pc.match_substring_regex(arr, f'[{re.escape(sep)}"\\n]')
    quoted = pc.binary_join_element_wise(
        pa.scalar('"'), pc.replace_substring(arr, '"', '""'), pa.scalar('"'), "")
    return pc.if_else(needs, quoted, arr)


def csv_chunk(columns: tuple[str, ...], data: dict[str, Any], n: int, sep: str) -> bytes:
    """Serialise ``n`` rows (``data``: column -> array, constant string or None) as CSV text.

    Only free-text columns (names, addresses: :data:`_FREE_TEXT`) are checked for values that
    need quotes; the generator never puts a separator or a quote in codes, dates or numbers.
    """
    if n == 0:
        return b""
    parts = []
    for column in columns:
        value = data.get(column)
        if value is None or isinstance(value, str):
            parts.append(pa.scalar(value or "", pa.string()))
            continue
        arr = pc.fill_null(_as_array(value, n), "")
        if _FREE_TEXT.search(column):
            arr = _quote_needed(arr, sep)
        parts.append(arr)
    if all(isinstance(p, pa.Scalar) for p in parts):
        parts[0] = pa.repeat(parts[0], n)
    return _concat_lines(pc.binary_join_element_wise(*parts, sep))


def _concat_lines(lines: pa.Array) -> bytes:
    lines = pc.binary_join_element_wise(lines, pa.scalar("\n"), "")
    lines = lines.cast(pa.large_string()) if lines.type != pa.large_string() else lines
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64)[lines.offset:]
    data = lines.buffers()[2]
    return data.to_pybytes()[offsets[0]:offsets[len(lines)]]


def _write_csv(table: pa.Table, key: str, path: Path) -> None:
    sep = SEPARATORS[key]
    with open(path, "wb") as handle:
        handle.write((sep.join(table.column_names) + "\n").encode("utf-8"))
        if not any(_FREE_TEXT.search(c) for c in table.column_names):
            # codes, numbers and dates only: Arrow's writer, which refuses (instead of
            # quoting) any value holding a separator, a quote or a line break
            pa_csv.write_csv(table, handle, pa_csv.WriteOptions(
                include_header=False, delimiter=sep, quoting_style="none"))
            return
        for start in range(0, table.num_rows, _CSV_BATCH):
            part = table.slice(start, _CSV_BATCH)
            data = {c: part.column(c) for c in part.column_names}
            handle.write(csv_chunk(tuple(part.column_names), data, part.num_rows, sep))


def write_quarter(out_dir: Path, tables: dict[str, pa.Table], edition: str = "csv"
                  ) -> dict[str, Path]:
    """Write the three files of a quarter into ``out_dir`` (created); return their paths.

    Each file is written as ``<name>.part`` then renamed; a failure leaves no partial file.
    Files of the other edition left in the folder by an earlier run are removed, so that the
    ETL (which prefers Parquet) reads the files written now.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    names = file_names(edition)
    other = file_names("parquet" if edition == "csv" else "csv")
    paths = {}
    for key, table in tables.items():
        path = out_dir / names[key]
        part = path.with_name(path.name + ".part")
        try:
            if path.suffix == ".parquet":
                # no column statistics: nothing reads row groups selectively here
                pq.write_table(table, part, compression="zstd", write_statistics=False)
            else:
                _write_csv(table, key, part)
            part.replace(path)
        except BaseException:
            part.unlink(missing_ok=True)
            raise
        if other[key] != names[key]:
            (out_dir / other[key]).unlink(missing_ok=True)
        paths[key] = path
    return paths


def read_demo_files(folder: Path) -> dict[str, pd.DataFrame]:
    """Read back the three files of a demo quarter (either edition) as all-text frames,
    empty fields as ``''``."""
    folder = Path(folder)
    frames = {}
    for key in COLUMNS:
        parquet = folder / file_names("parquet")[key]
        if parquet.suffix == ".parquet" and parquet.is_file():
            frame = pq.read_table(parquet).to_pandas(types_mapper=lambda t: pd.StringDtype())
            frames[key] = frame.fillna("").astype(str)
        else:
            frames[key] = pd.read_csv(folder / FILE_NAMES[key], sep=SEPARATORS[key], dtype=str,
                                      keep_default_na=False, encoding="utf-8")
    return frames
