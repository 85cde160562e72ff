"""Input bounds and XLSX formula cells (issue 14: "a 2.8 MB XLSX that unpacks to 424 MB is
accepted, with a peak of 1.64 GB and no cap"; "an XLSX whose cells are formulas is read as
empty: the row is rejected for a missing name, or its address is silently dropped").

The bomb here is small (about 10 MB of sheet XML from a ~40 kB file) and the caps are lowered
to match; ``benchmarks``-size figures are in the report.
"""

from __future__ import annotations

import re
import zipfile

import openpyxl
import pytest

from observatory.errors import DataValidationError


def _bomb(path, rows: int, cols: int = 20):
    """A valid workbook whose rows are all alike (compresses ~250 times)."""
    ws_rows = "<row>" + "".join('<c t="inlineStr"><is><t>Association A</t></is></c>'
                                for _ in range(cols)) + "</row>"
    parts = {
        "[Content_Types].xml": '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats'
        '.org/package/2006/content-types"><Default Extension="rels" ContentType="application/'
        'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType='
        '"application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd'
        '.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl'
        '/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.'
        'spreadsheetml.worksheet+xml"/></Types>',
        "_rels/.rels": '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats'
        '.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
        'openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/'
        'workbook.xml"/></Relationships>',
        "xl/workbook.xml": '<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats'
        '.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/'
        'officeDocument/2006/relationships"><sheets><sheet name="Feuil1" sheetId="1" r:id='
        '"rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": '<?xml version="1.0"?><Relationships xmlns="http://'
        'schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type='
        '"http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
        'Target="worksheets/sheet1.xml"/></Relationships>',
        "xl/worksheets/sheet1.xml": '<?xml version="1.0"?><worksheet xmlns="http://schemas.'
        'openxmlformats.org/spreadsheetml/2006/main"><sheetData>' + ws_rows * rows
        + "</sheetData></worksheet>",
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
    return path


def test_xlsx_unpacking_beyond_the_cap_is_refused_in_french_and_english(tmp_path, monkeypatch):
    from etl import tables
    from etl.actors import read_table

    path = _bomb(tmp_path / "liste.xlsx", rows=10_000)  # ~10 MB of XML
    unpacked = sum(i.file_size for i in zipfile.ZipFile(path).infolist())
    assert path.stat().st_size * 100 < unpacked  # the file itself is small
    monkeypatch.setattr(tables, "MAX_TABLE_BYTES", 5_000_000)
    with pytest.raises(DataValidationError) as err:
        read_table(path)
    message = str(err.value)
    assert f"liste.xlsx se décompresse en {unpacked / 1e6:.0f} Mo (limite 5 Mo)" in message
    assert f"liste.xlsx unpacks to {unpacked / 1e6:.0f} MB (limit 5 MB)" in message
    monkeypatch.setattr(tables, "MAX_TABLE_BYTES", 50_000_000)
    frame, _ = read_table(path)  # under the cap: read
    assert len(frame) == 9_999 and frame["_ligne"].iloc[-1] == 10_000


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_rows_beyond_the_cap_are_refused(tmp_path, suffix):
    from etl.actors import read_table

    path = tmp_path / f"liste{suffix}"
    if suffix == ".csv":
        path.write_text("Nom;Code INSEE\n" + "A;21101\n" * 11, encoding="utf-8")
    else:
        _bomb(path, rows=12, cols=2)  # a header row and 11 data rows
    with pytest.raises(DataValidationError,
                       match="compte plus de 10 lignes .*has more than 10 rows"):
        read_table(path, max_rows=10)
    assert len(read_table(path, max_rows=11)[0]) == 11


def _workbook(path, rows, cached: dict[str, str] | None = None):
    """An XLSX as openpyxl writes it (formulas without cached value); ``cached`` adds the
    cached values a spreadsheet program stores (cell -> value)."""
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    book.save(path)
    if not cached:
        return path
    with zipfile.ZipFile(path) as src:
        parts = {i.filename: src.read(i.filename) for i in src.infolist()}
    xml = parts["xl/worksheets/sheet1.xml"].decode()
    for cell, value in cached.items():
        xml = re.sub(rf'<c r="{cell}"><f>([^<]*)</f><v\s*/?>(</v>)?',
                     rf'<c r="{cell}" t="str"><f>\1</f><v>{value}</v>', xml)
    parts["xl/worksheets/sheet1.xml"] = xml.encode()
    with zipfile.ZipFile(path, "w") as dst:
        for name, data in parts.items():
            dst.writestr(name, data)
    return path


ROWS = [["Nom", "Code INSEE", "Adresse", "Note"],
        ['="Association "&"A"', "21101", "1 rue Haute", None],   # line 2: name is a formula
        ["Association B", "21101", '="2 rue "&"Basse"', None],   # line 3: address
        ["Association C", "21101", "3 rue Neuve", "=1+1"],        # line 4: unused column
        [None, None, None, None],                                  # line 5: blank
        ["Association E", "21102", "5 rue Vieille", None]]        # line 6


def test_formula_without_cached_value_rejects_the_row_with_that_reason(tmp_path):
    from etl.actors import load_actors

    result = load_actors(_workbook(tmp_path / "l.xlsx", ROWS), geocode=False)
    assert result.read == 4
    assert sorted(result.structures["nom"]) == ["Association C", "Association E"]
    rejects = result.rejects.set_index("ligne")["raison"]
    assert rejects[2].startswith('formule_sans_valeur: Nom (A2: ="Association "&"A")')
    assert rejects[3].startswith('formule_sans_valeur: Adresse (C3: ="2 rue "&"Basse")')
    assert "enregistrez-le" in rejects[2]
    assert sorted(result.structures["_ligne"]) == [4, 6]  # sheet rows, blank row 5 skipped


def test_formula_cells_read_as_their_cached_value(tmp_path):
    from etl.actors import load_actors

    path = _workbook(tmp_path / "l.xlsx", ROWS, cached={"A2": "Association A",
                                                         "C3": "2 rue Basse", "D4": "2"})
    result = load_actors(path, geocode=False)
    assert len(result.rejects) == 0
    by_name = result.structures.set_index("nom")
    assert by_name.loc["Association A", "adresse"] == "1 rue Haute"
    assert by_name.loc["Association B", "adresse"] == "2 rue Basse"


# ------------------------------------------------------------------ SIRENE zips
def _zip(path, text: str, name: str = "StockEtablissement_utf8.csv"):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, text)
    return path


def test_zip_beyond_the_unpacked_cap_is_stopped_and_cleaned(tmp_path, monkeypatch):
    from etl import sirene_files

    path = _zip(tmp_path / "StockEtablissement_utf8.zip", "siren,nic\n" + "1,2\n" * 500_000)
    work = tmp_path / "work"
    monkeypatch.setattr(sirene_files, "MAX_UNPACKED_BYTES", 1_000_000)
    with pytest.raises(DataValidationError) as err:
        sirene_files.open_table_file(path, delimiter=",", required=("siren",), workdir=work,
                                     label="StockEtablissement")
    message = str(err.value)
    assert "Archive refusée" in message and "Archive refused" in message
    assert "annonce 2 Mo une fois décompressée (limite 1 Mo)" in message  # its directory
    assert "declares 2 MB unpacked (limit 1 MB)" in message
    assert not list(work.glob("*.csv"))  # nothing left behind


def test_zip_bomb_is_stopped_on_the_bytes_written(tmp_path, monkeypatch):
    """A member that unpacks to far more than its compressed size: stopped while writing."""
    from etl import sirene_files

    path = _zip(tmp_path / "StockEtablissement_utf8.zip", "siren,nic\n" + "1,2\n" * 2_000_000)
    member = zipfile.ZipFile(path).infolist()[0]
    assert member.file_size > 200 * member.compress_size  # ~ 8 MB from ~ 20 kB
    monkeypatch.setattr(sirene_files, "RATIO_FLOOR", 0)
    work = tmp_path / "work"
    with pytest.raises(DataValidationError, match="au plus.*at most 100 times"):
        sirene_files.open_table_file(path, delimiter=",", required=("siren",), workdir=work,
                                     label="StockEtablissement")
    assert not list(work.glob("*.csv"))
    monkeypatch.setattr(sirene_files, "MAX_UNPACKED_ROWS", 10)
    monkeypatch.setattr(sirene_files, "RATIO_FLOOR", 10**12)
    with pytest.raises(DataValidationError, match="dépasse 10 lignes"):
        sirene_files.open_table_file(path, delimiter=",", required=("siren",), workdir=work,
                                     label="StockEtablissement")
