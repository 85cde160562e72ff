"""Small fixtures, built in code, in the exact layouts of the official geography files.

Everything here is synthetic in *content* (a few squares, a few rows) but written in the
layout of the real files (class/layer names, field names, header rows, separators,
encodings) so that the loaders are exercised as on the real deliveries.  Codes and names of
real communes are used so that the expected answers are easy to check by hand.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import geopandas as gpd
import openpyxl
import pandas as pd
import pyogrio
from shapely.geometry import box

__all__ = [
    "DENSITY_ROWS",
    "DONNEES_COMMUNES_HEADER",
    "DONNEES_COMMUNES_ROWS",
    "EPCICOM_HEADER",
    "EPCICOM_ROWS",
    "admin_express_layers",
    "csv_bytes",
    "donnees_communes_text",
    "write_admin_express_gpkg",
    "write_admin_express_shp",
    "write_density_2025",
    "write_density_7_levels",
    "write_ensemble_zip",
    "write_epcicom",
]

LAMB93 = "EPSG:2154"
SIZE = 2_000.0  # metres: every fixture commune is a 2 km x 2 km square (4 km²)


def _square(x: float, y: float, size: float = SIZE):
    return box(x, y, x + size, y + size)


# Communes: code, nom, INSEE_DEP, INSEE_REG, SIREN_EPCI (raw), POPULATION, lower-left corner
# in Lambert-93.  Dijon area (x ≈ 853 km, y ≈ 6 690 km), Paris (652 km, 6 862 km),
# Île-de-Sein (far west, outside any EPCI: "NC").
_COMMUNES = [
    ("21231", "Dijon", "21", "27", "242100410", 161830, (853_000, 6_690_000)),
    ("21166", "Chenôve", "21", "27", "242100410", 13808, (853_000, 6_688_000)),
    ("21617", "Talant", "21", "27", "242100410", 11366, (851_000, 6_690_000)),
    ("21001", "Agencourt", "21", "27", "200070894", 416, (849_000, 6_670_000)),
    ("75056", "Paris", "75", "11", "200057867/200054781", 2103778, (652_000, 6_862_000)),
    ("29083", "Île-de-Sein", "29", "53", "NC", 246, (120_000, 6_780_000)),
]
_EPCI = [
    ("242100410", "Dijon Métropole", "Métropole"),
    ("200070894", "CC de Gevrey-Chambertin et de Nuits-Saint-Georges", "Communauté de communes"),
    ("200054781", "Métropole du Grand Paris", "Métropole"),
    ("200057867", "Établissement public territorial Paris", "Etablissement public territorial"),
]
_DEPARTEMENTS = [("21", "Côte-d'Or", "27"), ("75", "Paris", "11"), ("29", "Finistère", "53")]
_REGIONS = [("27", "Bourgogne-Franche-Comté"), ("11", "Île-de-France"), ("53", "Bretagne")]
_ARRONDISSEMENTS = [("75101", "Paris 1er Arrondissement", "75056", 15917),
                    ("75102", "Paris 2e Arrondissement", "75056", 20260)]
_DELEGUEES = [("21213", "Fixture déléguée", "21001", "Commune déléguée")]

# Field names of edition 3.x (shapefile and GeoPackage, as in the IGN documentation) and of
# edition 4.0 (GeoPackage, BD TOPO-style long names).
_FIELDS = {
    "3x": {
        "COMMUNE": ("INSEE_COM", "NOM", "INSEE_DEP", "INSEE_REG", "SIREN_EPCI", "POPULATION"),
        "EPCI": ("CODE_SIREN", "NOM", "NATURE"),
        "DEPARTEMENT": ("INSEE_DEP", "NOM", "INSEE_REG"),
        "REGION": ("INSEE_REG", "NOM"),
        "ARRONDISSEMENT_MUNICIPAL": ("INSEE_ARM", "NOM", "INSEE_COM", "POPULATION"),
        "COMMUNE_ASSOCIEE_OU_DELEGUEE": ("INSEE_CAD", "NOM", "INSEE_COM", "NATURE"),
    },
    "4x": {
        "COMMUNE": ("code_insee", "nom_officiel", "code_insee_du_departement",
                    "code_insee_de_la_region", "codes_siren_des_epci", "population"),
        "EPCI": ("code_siren", "nom_officiel", "nature"),
        "DEPARTEMENT": ("code_insee", "nom_officiel", "code_insee_de_la_region"),
        "REGION": ("code_insee", "nom_officiel"),
        "ARRONDISSEMENT_MUNICIPAL": ("code_insee", "nom_officiel",
                                     "code_insee_de_la_commune_de_rattachement", "population"),
        "COMMUNE_ASSOCIEE_OU_DELEGUEE": ("code_insee", "nom_officiel",
                                         "code_insee_de_la_commune_de_rattachement", "nature"),
    },
}


def admin_express_layers(style: str = "3x", crs: str = LAMB93) -> dict[str, gpd.GeoDataFrame]:
    """ADMIN EXPRESS classes (6 communes...) with IGN field names, in Lambert-93 by default."""
    fields = _FIELDS[style]
    squares = {code: _square(*corner) for code, *_rest, corner in _COMMUNES}

    def frame(layer, rows, geoms):
        data = pd.DataFrame(rows, columns=list(fields[layer]))
        out = gpd.GeoDataFrame(data, geometry=list(geoms), crs=LAMB93)
        return out.to_crs(crs) if crs != LAMB93 else out

    communes = frame("COMMUNE", [row[:6] for row in _COMMUNES], squares.values())
    epci_geom = [gpd.GeoSeries([squares[r[0]] for r in _COMMUNES
                                if code in r[4].split("/")]).union_all()
                 for code, *_ in _EPCI]
    dep_geom = [gpd.GeoSeries([squares[r[0]] for r in _COMMUNES if r[2] == d]).union_all()
                for d, *_ in _DEPARTEMENTS]
    reg_geom = [gpd.GeoSeries([squares[r[0]] for r in _COMMUNES if r[3] == g]).union_all()
                for g, *_ in _REGIONS]
    x, y = 652_000, 6_862_000
    arm_geom = [_square(x, y, SIZE / 2), _square(x + SIZE / 2, y, SIZE / 2)]
    x, y = 849_000, 6_670_000
    return {
        "COMMUNE": communes,
        "EPCI": frame("EPCI", _EPCI, epci_geom),
        "DEPARTEMENT": frame("DEPARTEMENT", _DEPARTEMENTS, dep_geom),
        "REGION": frame("REGION", _REGIONS, reg_geom),
        "ARRONDISSEMENT_MUNICIPAL": frame("ARRONDISSEMENT_MUNICIPAL", _ARRONDISSEMENTS,
                                          arm_geom),
        "COMMUNE_ASSOCIEE_OU_DELEGUEE": frame("COMMUNE_ASSOCIEE_OU_DELEGUEE", _DELEGUEES,
                                              [_square(x, y, SIZE / 2)]),
    }


def write_admin_express_gpkg(path: Path, style: str = "3x", crs: str = LAMB93,
                             lower_case_layers: bool = False) -> Path:
    """Write the classes as layers of one GeoPackage (names ``COMMUNE``... or ``commune``)."""
    for name, frame in admin_express_layers(style, crs).items():
        layer = name.lower() if lower_case_layers else name
        pyogrio.write_dataframe(frame, path, layer=layer, driver="GPKG")
    return path


def write_admin_express_shp(root: Path, crs: str = LAMB93, with_prj: bool = True) -> Path:
    """Write one shapefile per class in the nested folder layout of an extracted 7z."""
    folder = (root / "ADMIN-EXPRESS-COG-CARTO_3-2__SHP_LAMB93_FXX_2024-02-22"
              / "ADMIN-EXPRESS-COG-CARTO" / "1_DONNEES_LIVRAISON_2024-03-00108"
              / "ADECOGC_3-2_SHP_LAMB93_FXX-ED2024-02-22")
    folder.mkdir(parents=True)
    for name, frame in admin_express_layers("3x", crs).items():
        pyogrio.write_dataframe(frame, folder / f"{name}.shp", encoding="UTF-8")
        if not with_prj:
            (folder / f"{name}.prj").unlink()
    return root / "ADMIN-EXPRESS-COG-CARTO_3-2__SHP_LAMB93_FXX_2024-02-22"


# --- INSEE populations légales: donnees_communes.csv ----------------------------------------

DONNEES_COMMUNES_HEADER = "REG;Région;DEP;CODARR;CODCAN;CODCOM;COM;Commune;PMUN;PCAP;PTOT"
DONNEES_COMMUNES_ROWS = [
    # The real first row of the file (docs/data-sources.md §8):
    "84;Auvergne-Rhône-Alpes;01;2;08;001;01001;L'Abergement-Clémenciat;860;16;876",
    "27;Bourgogne-Franche-Comté;21;2;09;231;21231;Dijon;161 830;4 120;165 950",
    "11;Île-de-France;75;1;99;101;75101;Paris 1er Arrondissement;15917;170;16087",
    "11;Île-de-France;75;1;99;102;75102;Paris 2e Arrondissement;20260;208;20468",
    "94;Corse;2A;1;03;004;2A004;Ajaccio;74291;1404;75695",
    "01;Guadeloupe;971;1;01;01;97101;Les Abymes;51539;783;52322",
]


def donnees_communes_text(rows: list[str] | None = None) -> str:
    """``donnees_communes.csv`` content: header row + ``;``-separated rows."""
    rows = DONNEES_COMMUNES_ROWS if rows is None else rows
    return "\n".join([DONNEES_COMMUNES_HEADER, *rows]) + "\n"


def write_ensemble_zip(path: Path, encoding: str = "cp1252", rows=None) -> Path:
    """``ensemble.zip`` holding ``donnees_communes.csv`` and a département table."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("donnees_communes.csv", donnees_communes_text(rows).encode(encoding))
        archive.writestr("donnees_departements.csv",
                         "REG;Région;DEP;Département;NBARR;NBCAN;NBCOM;PMUN;PCAP;PTOT\n"
                         .encode(encoding))
    return path


# --- DGCL: epcicom<year>.xlsx ---------------------------------------------------------------

EPCICOM_HEADER = ["dept", "siren", "raison_sociale", "nature_juridique", "mode_financ",
                  "nb_membres", "total_pop_tot", "total_pop_mun", "dep_com", "insee",
                  "siren_membre", "nom_membre", "ptot_2026", "pmun_2026"]
EPCICOM_ROWS = [
    ["21", 242100410, "Dijon Métropole", "METRO", "FPU", 3, 191094, 187004, "21", "21231",
     212102313, "Dijon", 165950, 161830],
    ["21", 242100410, "Dijon Métropole", "METRO", "FPU", 3, 191094, 187004, "21", "21166",
     212101661, "Chenôve", 14020, 13808],
    ["21", 242100410, "Dijon Métropole", "METRO", "FPU", 3, 191094, 187004, "21", "21617",
     212106173, "Talant", 11124, 11366],
    ["01", 200069193, "CC de la Dombes", "CC", "FPU", 1, 876, 860, "01", 1001,
     210100012, "L'Abergement-Clémenciat", 876, 860],
]


def write_epcicom(path: Path, header=None, rows=None, title_rows: int = 0,
                  sheet: str = "Composition communale") -> Path:
    """Write an ``epcicom`` workbook: optional title rows, header, one row per member."""
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = sheet
    for i in range(title_rows):
        ws.append([f"Liste des EPCI à fiscalité propre - titre {i + 1}"])
    ws.append(EPCICOM_HEADER if header is None else header)
    for row in EPCICOM_ROWS if rows is None else rows:
        ws.append(row)
    book.save(path)
    return path


# --- INSEE grille communale de densité --------------------------------------------------------

# code, name, 7-level class, population: one commune per level, plus Ajaccio.
DENSITY_ROWS = [
    ("21231", "Dijon", 1, 159346),
    ("21054", "Beaune", 2, 20506),
    ("21425", "Montbard", 3, 5137),
    ("21166", "Chenôve", 4, 13962),  # fixture value, not the real class
    ("21001", "Agencourt", 5, 416),   # fixture value, not the real class
    ("21002", "Agey", 6, 265),
    ("21003", "Aignay-le-Duc", 7, 299),
    ("2A004", "Ajaccio", 2, 73000),
]
_LIBDENS = {1: "Grands centres urbains", 2: "Centres urbains intermédiaires",
            3: "Petites villes", 4: "Ceintures urbaines", 5: "Bourgs ruraux",
            6: "Rural à habitat dispersé", 7: "Rural à habitat très dispersé"}
_DENS3 = {1: 1, 2: 2, 3: 2, 4: 2, 5: 3, 6: 3, 7: 3}


def _titled_sheet(ws, titles, header, rows):
    for title in titles:  # rows 1-4: titles and a blank line, as INSEE publishes them
        ws.append([title] if title else [])
    ws.append(header)  # row 5
    for row in rows:
        ws.append(row)


def write_density_7_levels(path: Path, year: int = 2024, rows=None, header=None,
                           sheet: str = "Grille_Densite") -> Path:
    """``grille_densite_7_niveaux_<year>.xlsx``: titles rows 1–4, header row 5."""
    pmun = f"PMUN{(year - 3) % 100:02d}"
    header = header or ["CODGEO", "LIBGEO", "DENS", "LIBDENS", pmun,
                        "P1", "P2", "P3", "P4", "P5", "P6", "P7"]
    data = []
    for code, name, level, population in DENSITY_ROWS if rows is None else rows:
        shares = [0.0] * 7
        shares[level - 1] = 1.0
        data.append([code, name, level, _LIBDENS[level], population, *shares])
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = sheet
    _titled_sheet(ws, ["Grille communale de densité à 7 niveaux",
                       f"Géographie au 01/01/{year}",
                       "Source : Insee, Filosofi, RP", None], header, data)
    book.save(path)
    return path


def write_density_2025(path: Path, rows=None, sheet: str = "Maille communale",
                       header=None) -> Path:
    """``fichier_diffusion_2025.xlsx``: a documentation sheet, then ``Maille communale``
    with titles rows 1–4 and header row 5 (``CODGEO, LIBGEO, DENS`` (3), ``DENS7`` (7))."""
    header = header or ["CODGEO", "LIBGEO", "DENS", "LIBDENS", "DENS7", "LIBDENS7", "PMUN22"]
    data = [[code, name, _DENS3[level], ["Dense", "Intermédiaire", "Rural"][_DENS3[level] - 1],
             level, _LIBDENS[level], population]
            for code, name, level, population in (DENSITY_ROWS if rows is None else rows)]
    book = openpyxl.Workbook()
    doc = book.active
    doc.title = "Documentation"
    doc.append(["Grille communale de densité 2025 - documentation"])
    ws = book.create_sheet(sheet)
    _titled_sheet(ws, ["Grille communale de densité", "Géographie au 01/01/2025",
                       "Source : Insee", None], header, data)
    book.save(path)
    return path


def csv_bytes(text: str, encoding: str) -> io.BytesIO:
    """A file-like object holding ``text`` encoded with ``encoding``."""
    return io.BytesIO(text.encode(encoding))
