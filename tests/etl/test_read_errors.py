"""Read errors name the file, the line and the real cause; rejects carry their source line
(issue 14: "every DuckDB parse error is diagnosed as an encoding problem", "rejects of SIRENE
rows and of the assignment have an empty ligne", "duplicated unit rows are labelled
siret_en_double").

The SIRENE files below hold 8 000 establishment rows (> 1 MB, so that the bad line, number
7 501, lies past the UTF-8 check of the first MB: DuckDB meets it).  Line numbers by hand:
the header is line 1, the k-th row written is line k + 1.
"""

from __future__ import annotations

import zipfile

import pandas as pd
import pytest
from sirene_fixtures import ET_HEADER, establishment, unit, write_sirene

from etl.sirene import read_sirene
from observatory.errors import DataValidationError

N_ROWS, BAD_AT = 8000, 7500  # the bad row is inserted after 7 500 lines: it is line 7 501


def _row(**values) -> str:
    row = establishment("100000001", "99999", **values)
    return ",".join(str(row.get(k, "")) for k in ET_HEADER)


def _with_bad_line(tmp_path, bad: bytes, fmt: str = "csv"):
    folder = write_sirene(tmp_path / "s", [unit("100000001")],
                          [establishment("100000001", f"{i:05d}") for i in range(1, N_ROWS + 1)])
    path = folder / "StockEtablissement_utf8.csv"
    lines = path.read_bytes().splitlines(keepends=True)
    lines.insert(BAD_AT, bad + b"\r\n")  # the fixture writes \r\n line ends, as csv does
    path.write_bytes(b"".join(lines))
    if fmt == "zip":
        with zipfile.ZipFile(folder / "StockEtablissement_utf8.zip", "w",
                             zipfile.ZIP_DEFLATED) as archive:
            archive.write(path, arcname=path.name)
        path.unlink()
    return folder


CASES = {
    "encoding": (_row(libelleVoieEtablissement="CAFÉ").encode("cp1252"), "(encoding)"),
    "quote": (_row(libelleVoieEtablissement='"RUE DU PONT').encode(), "(quote)"),
    "few_fields": (b"100000001,09998,10000000109998,O,too,few,fields",
                   "has 7 fields where the header has 54 (column count)"),
    "extra_field": (_row().encode() + b",extra",
                    "has 55 fields where the header has 54 (column count)"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_parse_error_names_file_line_and_cause(tmp_path, case):
    bad, cause = CASES[case]
    with pytest.raises(DataValidationError) as err:
        read_sirene(_with_bad_line(tmp_path, bad), progress=False)
    message = str(err.value)
    assert "StockEtablissement_utf8.csv" in message
    assert f"line {BAD_AT + 1}" in message
    assert cause in message
    assert ("iconv" in message) == (case == "encoding")  # the file name "_utf8" is no cause


def test_line_found_by_scanning_when_duckdb_names_none(tmp_path):
    """A ragged row ending in \\n among \\r\\n lines: DuckDB reports an "invalid state"
    without a line, the reader finds it."""
    folder = _with_bad_line(tmp_path, b"100000001,09998,10000000109998,O,too,few,fields")
    path = folder / "StockEtablissement_utf8.csv"
    lines = path.read_bytes().splitlines(keepends=True)
    lines[BAD_AT] = lines[BAD_AT].replace(b"\r\n", b"\n")
    path.write_bytes(b"".join(lines))
    with pytest.raises(DataValidationError,
                       match="at line 7501 has 7 fields where the header has 54"):
        read_sirene(folder, progress=False)


def test_zip_edition_names_the_zip_and_its_member(tmp_path):
    bad, _ = CASES["few_fields"]
    with pytest.raises(DataValidationError) as err:
        read_sirene(_with_bad_line(tmp_path, bad, fmt="zip"), progress=False)
    assert "StockEtablissement_utf8.zip (member StockEtablissement_utf8.csv) at line 7501" \
        in str(err.value)


def _duplicates(tmp_path, fmt="csv"):
    units = [unit("100000001"), unit("100000002"), unit("100000002",
                                                         denominationUniteLegale="AUTRE")]
    ets = [establishment("100000001", "00011"),            # line 2 (row 1)
           establishment("100000001", "00029"),            # line 3
           establishment("100000001", "00011", "21105"),   # line 4: SIRET of line 2 again
           establishment("100000002", "00013")]            # line 5: its unit is on 2 lines
    return read_sirene(write_sirene(tmp_path / "s", units, ets, fmt=fmt), progress=False)


def test_sirene_rejects_carry_their_line_and_duplicated_units_are_named(tmp_path):
    result = _duplicates(tmp_path)
    rejects = result.rejects.set_index("ligne")["raison"]
    assert rejects[4] == "siret_en_double: 10000000100011 (ligne 2 conservée)"
    assert rejects[5].startswith("unite_legale_en_double: le SIREN 100000002 figure sur "
                                 "plusieurs lignes de StockUniteLegale (3, 4)")
    kept = result.structures.set_index("siret")
    assert kept.loc["10000000200013", "nom"] == "ASSOCIATION 100000002"  # first unit line
    assert kept["_ligne"].tolist() == [2, 3, 5]


def test_parquet_rejects_carry_their_row_number(tmp_path):
    result = _duplicates(tmp_path, fmt="parquet")
    assert sorted(result.rejects["ligne"].tolist()) == [3, 4]  # rows 3 and 4 (first = 1)


def test_assignment_rejects_carry_the_source_line(tmp_path, tiny_reference):
    from etl.actors import load_actors
    from etl.assign import assign_communes

    path = tmp_path / "acteurs.csv"
    path.write_text("Nom;Code INSEE\nA;21101\nB;99999\nC;21102\n", encoding="utf-8")
    loaded = load_actors(path, geocode=False, reference=tiny_reference)
    assignment = assign_communes(loaded.structures, tiny_reference.communes,
                                 tiny_reference.code_changes)
    assert assignment.rejects["ligne"].tolist() == [3]  # B, unknown commune 99999
    assert assignment.rejects["raison"].str.startswith("commune_inconnue").all()
    assert "_ligne" not in assignment.rejects.loc[0, "donnees"]


@pytest.mark.parametrize(("text", "expected"), [
    ("Nom;Code INSEE\nA;21101\nB;21101;extra\n", "3 fields at line 3 where the header has 2"),
    ('Nom;Code INSEE\nA;21101\n"B;21101\nC;21102\n', "opened at line 3 that never closes"),
])
def test_actor_csv_errors_name_the_line(tmp_path, text, expected):
    from etl.actors import read_table

    path = tmp_path / "acteurs.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataValidationError, match=expected):
        read_table(path)


def test_forced_encoding_error_names_the_line(tmp_path):
    from etl.actors import read_table

    path = tmp_path / "acteurs.csv"
    path.write_bytes("Nom;Ville\nA;Dijon\nB;Mâcon\n".encode("cp1252"))
    with pytest.raises(DataValidationError, match="as utf-8 at line 3 \\(encoding\\)"):
        read_table(path, encoding="utf-8")
    frame, _ = read_table(path)  # detected: Windows-1252
    assert frame["Ville"].tolist() == ["Dijon", "Mâcon"]
    assert pd.api.types.is_integer_dtype(frame["_ligne"])
