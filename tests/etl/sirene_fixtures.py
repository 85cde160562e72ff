"""Fixtures of the ETL core tests: tiny SIRENE files in the exact official layout, and a
tiny reference geography (3×3 grid of square communes in Côte-d'Or, Paris, Saint-Denis de La
Réunion) whose answers can be worked out by hand.

Grid (0.1° squares, lower-left corner lon 4.9, lat 47.2)::

    lat 47.4-47.5   21106 21107 21108
    lat 47.3-47.4   21103 21104 21105
    lat 47.2-47.3   21100 21101 21102
                    4.9   5.0   5.1  lon

EPCI: 21100-21102 -> 242100410, the rest -> 200070944.  Paris 75056 = lon 2.25-2.42,
lat 48.81-48.91.  Saint-Denis 97411 = lon 55.40-55.50, lat -20.95…-20.85.
Old codes: 75101 (1er arrondissement) -> 75056, 21999 (ancienne commune) -> 21104.
"""

from __future__ import annotations

import csv
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import box

UL_HEADER = (  # noqa: SIM905 (the header line as published)
    "siren,statutDiffusionUniteLegale,unitePurgeeUniteLegale,dateCreationUniteLegale,"
    "sigleUniteLegale,sexeUniteLegale,prenom1UniteLegale,prenom2UniteLegale,prenom3UniteLegale,"
    "prenom4UniteLegale,prenomUsuelUniteLegale,pseudonymeUniteLegale,"
    "identifiantAssociationUniteLegale,trancheEffectifsUniteLegale,anneeEffectifsUniteLegale,"
    "dateDernierTraitementUniteLegale,nombrePeriodesUniteLegale,categorieEntreprise,"
    "anneeCategorieEntreprise,dateDebut,etatAdministratifUniteLegale,nomUniteLegale,"
    "nomUsageUniteLegale,denominationUniteLegale,denominationUsuelle1UniteLegale,"
    "denominationUsuelle2UniteLegale,denominationUsuelle3UniteLegale,"
    "categorieJuridiqueUniteLegale,activitePrincipaleUniteLegale,"
    "nomenclatureActivitePrincipaleUniteLegale,nicSiegeUniteLegale,"
    "economieSocialeSolidaireUniteLegale,societeMissionUniteLegale,"
    "caractereEmployeurUniteLegale,activitePrincipaleNAF25UniteLegale"
).split(",")
ET_HEADER = (  # noqa: SIM905
    "siren,nic,siret,statutDiffusionEtablissement,dateCreationEtablissement,"
    "trancheEffectifsEtablissement,anneeEffectifsEtablissement,"
    "activitePrincipaleRegistreMetiersEtablissement,dateDernierTraitementEtablissement,"
    "etablissementSiege,nombrePeriodesEtablissement,complementAdresseEtablissement,"
    "numeroVoieEtablissement,indiceRepetitionEtablissement,dernierNumeroVoieEtablissement,"
    "indiceRepetitionDernierNumeroVoieEtablissement,typeVoieEtablissement,"
    "libelleVoieEtablissement,codePostalEtablissement,libelleCommuneEtablissement,"
    "libelleCommuneEtrangerEtablissement,distributionSpecialeEtablissement,"
    "codeCommuneEtablissement,codeCedexEtablissement,libelleCedexEtablissement,"
    "codePaysEtrangerEtablissement,libellePaysEtrangerEtablissement,"
    "identifiantAdresseEtablissement,coordonneeLambertAbscisseEtablissement,"
    "coordonneeLambertOrdonneeEtablissement,complementAdresse2Etablissement,"
    "numeroVoie2Etablissement,indiceRepetition2Etablissement,typeVoie2Etablissement,"
    "libelleVoie2Etablissement,codePostal2Etablissement,libelleCommune2Etablissement,"
    "libelleCommuneEtranger2Etablissement,distributionSpeciale2Etablissement,"
    "codeCommune2Etablissement,codeCedex2Etablissement,libelleCedex2Etablissement,"
    "codePaysEtranger2Etablissement,libellePaysEtranger2Etablissement,dateDebut,"
    "etatAdministratifEtablissement,enseigne1Etablissement,enseigne2Etablissement,"
    "enseigne3Etablissement,denominationUsuelleEtablissement,activitePrincipaleEtablissement,"
    "nomenclatureActivitePrincipaleEtablissement,caractereEmployeurEtablissement,"
    "activitePrincipaleNAF25Etablissement"
).split(",")
GEO_HEADER = (  # noqa: SIM905
    "siret;x;y;qualite_xy;epsg;plg_qp24;plg_iris;plg_zus;plg_qva;plg_code_commune;"
    "distance_precision;qualite_qp;qualite_iris;qualite_zus;qualite_qva;y_latitude;"
    "x_longitude").split(";")

UL_NAME = "StockUniteLegale_utf8"
ET_NAME = "StockEtablissement_utf8"
GEO_NAME = "GeolocalisationEtablissement_Sirene_pour_etudes_statistiques_utf8"


def unit(siren: str, **values) -> dict:
    """A StockUniteLegale row (defaults: diffusible ESS association)."""
    row = {"siren": siren, "statutDiffusionUniteLegale": "O", "unitePurgeeUniteLegale": "",
           "dateCreationUniteLegale": "2010-01-01", "etatAdministratifUniteLegale": "A",
           "categorieJuridiqueUniteLegale": "9220", "economieSocialeSolidaireUniteLegale": "O",
           "activitePrincipaleUniteLegale": "88.99B",
           "nomenclatureActivitePrincipaleUniteLegale": "NAFRev2",
           "nicSiegeUniteLegale": "00011", "trancheEffectifsUniteLegale": "NN",
           "nombrePeriodesUniteLegale": "1", "dateDebut": "2010-01-01",
           "denominationUniteLegale": f"ASSOCIATION {siren}"}
    row.update(values)
    return row


def establishment(siren: str, nic: str = "00011", commune: str = "21104", **values) -> dict:
    """A StockEtablissement row (defaults: active, in commune 21104, no coordinates)."""
    row = {"siren": siren, "nic": nic, "siret": siren + nic,
           "statutDiffusionEtablissement": "O", "dateCreationEtablissement": "2015-03-02",
           "trancheEffectifsEtablissement": "11", "anneeEffectifsEtablissement": "2023",
           "etablissementSiege": "true", "nombrePeriodesEtablissement": "1",
           "numeroVoieEtablissement": "12", "typeVoieEtablissement": "RUE",
           "libelleVoieEtablissement": "DE LA LIBERTE", "codePostalEtablissement": "21000",
           "libelleCommuneEtablissement": "COMMUNE", "codeCommuneEtablissement": commune,
           "dateDebut": "2015-03-02", "etatAdministratifEtablissement": "A",
           "activitePrincipaleEtablissement": "88.99B",
           "nomenclatureActivitePrincipaleEtablissement": "NAFRev2",
           "caractereEmployeurEtablissement": "O"}
    row.update(values)
    return row


def geoloc(siret: str, lon: float | str, lat: float | str, qualite: str = "11",
           epsg: str = "2154", **values) -> dict:
    """A géolocalisé row."""
    row = {"siret": siret, "x": "[ND]", "y": "[ND]", "qualite_xy": qualite, "epsg": epsg,
           "plg_qp24": "CSZ", "plg_iris": "0000", "plg_zus": "HZ", "plg_qva": "HQ",
           "plg_code_commune": "", "distance_precision": "5", "qualite_qp": "1",
           "qualite_iris": "1", "qualite_zus": "1", "qualite_qva": "1",
           "y_latitude": str(lat), "x_longitude": str(lon)}
    row.update(values)
    return row


def _write_csv(path: Path, header: list[str], rows: list[dict], delimiter: str,
               encoding: str = "utf-8") -> Path:
    with open(path, "w", newline="", encoding=encoding) as handle:
        writer = csv.DictWriter(handle, fieldnames=header, delimiter=delimiter,
                                quoting=csv.QUOTE_MINIMAL, extrasaction="raise")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: row.get(k, "") for k in header})
    return path


def write_sirene(folder: Path, units: list[dict], establishments: list[dict],
                 geo: list[dict] | None = None, fmt: str = "csv") -> Path:
    """Write the stock files in ``fmt`` (``csv``, ``zip`` or ``parquet``) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    pairs = [(UL_NAME, UL_HEADER, units, ","), (ET_NAME, ET_HEADER, establishments, ",")]
    if geo is not None:
        pairs.append((GEO_NAME, GEO_HEADER, geo, ";"))
    for name, header, rows, delim in pairs:
        if fmt == "parquet" and name != GEO_NAME:
            frame = pd.DataFrame([{k: (r.get(k) or None) for k in header} for r in rows],
                                 columns=header, dtype="string")
            frame.to_parquet(folder / f"{name}.parquet", index=False)
        elif fmt == "zip":
            csv_path = _write_csv(folder / f"{name}.csv", header, rows, delim)
            with zipfile.ZipFile(folder / f"{name}.zip", "w", zipfile.ZIP_DEFLATED) as z:
                z.write(csv_path, arcname=csv_path.name)
            csv_path.unlink()
        else:
            _write_csv(folder / f"{name}.csv", header, rows, delim)
    return folder


@dataclass
class TinyReference:
    """Reference-like object with the attributes the ETL uses."""

    communes: gpd.GeoDataFrame
    epci: gpd.GeoDataFrame
    departements: gpd.GeoDataFrame
    regions: gpd.GeoDataFrame
    code_changes: pd.DataFrame
    vintages: dict = field(default_factory=lambda: {"cog": "COG test"})
    crs: str = "EPSG:4326"


def make_tiny_reference() -> TinyReference:
    rows = []
    for r in range(3):
        for c in range(3):
            code = f"21{100 + 3 * r + c:03d}"
            rows.append({"code": code, "nom": f"Commune {code}",
                         "epci": "242100410" if r == 0 else "200070944",
                         "departement": "21", "region": "27", "zone": "metro",
                         "geometry": box(4.9 + 0.1 * c, 47.2 + 0.1 * r,
                                         5.0 + 0.1 * c, 47.3 + 0.1 * r)})
    rows.append({"code": "75056", "nom": "Paris", "epci": "200054781", "departement": "75",
                 "region": "11", "zone": "metro", "geometry": box(2.25, 48.81, 2.42, 48.91)})
    rows.append({"code": "97411", "nom": "Saint-Denis", "epci": "249740119",
                 "departement": "974", "region": "04", "zone": "drom",
                 "geometry": box(55.40, -20.95, 55.50, -20.85)})
    communes = gpd.GeoDataFrame(rows, crs="EPSG:4326").set_index("code")
    for col in ("nom", "epci", "departement", "region", "zone"):
        communes[col] = communes[col].astype("string")
    communes.index = communes.index.astype("string")
    communes["population"] = pd.array([1000] * len(communes), dtype="Int64")
    communes["superficie_km2"] = 80.0
    deps = communes.dissolve("departement").reset_index()[["departement", "region", "geometry"]]
    deps = deps.rename(columns={"departement": "code"}).set_index("code")
    deps["nom"] = deps.index
    regions = communes.dissolve("region")[["geometry"]]
    regions["nom"] = regions.index
    epci = communes.dissolve("epci")[["geometry"]]
    changes = pd.DataFrame({"ancien_code": ["75101", "21999"], "code": ["75056", "21104"],
                            "nature": ["arrondissement_municipal", "ancienne_commune"]},
                           dtype="string")
    return TinyReference(communes, epci, deps, regions, changes)


@pytest.fixture
def tiny_reference() -> TinyReference:
    return make_tiny_reference()


@pytest.fixture
def data_dir(tmp_path, monkeypatch) -> Path:
    """OBSERVATOIRE_DATA_DIR in a temporary folder."""
    folder = tmp_path / "data"
    folder.mkdir()
    monkeypatch.setenv("OBSERVATOIRE_DATA_DIR", str(folder))
    return folder


def write_tiny_reference(directory: Path) -> Path:
    """Write the tiny reference as a real reference cache (geodata.build.assemble_reference)."""
    from geodata.build import assemble_reference

    ref = make_tiny_reference()
    communes = ref.communes.drop(columns=["superficie_km2"])
    epci_names = pd.DataFrame({"nom": [f"EPCI {c}" for c in ref.epci.index],
                               "type": "CC"}, index=ref.epci.index)
    return assemble_reference(communes, epci_names, ref.departements["nom"],
                              ref.regions["nom"], ref.code_changes, {"cog": "COG test"},
                              {"test": {"version": "0"}}, directory)


@pytest.fixture
def reference_dir(tmp_path, monkeypatch) -> Path:
    """OBSERVATOIRE_REFERENCE_DIR holding the tiny reference."""
    folder = write_tiny_reference(tmp_path / "reference")
    monkeypatch.setenv("OBSERVATOIRE_REFERENCE_DIR", str(folder))
    return folder
