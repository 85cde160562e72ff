"""A small synthetic world for the app tests, built in code.

Geography: one région "27" with two départements "21" and "71"; each département has two EPCI
of four square communes (0.1° side), i.e. 16 communes on a 4 × 4 grid:

    row 3 (north)  21101 21102 | 21201 21202      EPCI 200000001 = 211xx, 200000002 = 212xx
    row 2          21103 21104 | 21203 21204      (département 21, the two northern rows)
    row 1          71101 71102 | 71201 71202      EPCI 200000003 = 711xx, 200000004 = 712xx
    row 0 (south)  71103 71104 | 71203 71204      (département 71)

Population of commune i (0-based, reading order above) is 100 × (i + 1) (rural densities).
Structures sit at the centre of communes: the two 21 EPCI hold all of them (département 71
has none, so its communes are "zones blanches" at any distance below ~ 20 km).  Names include
the XSS probes
``<script>alert(1)</script>`` and ``<img src=x onerror=alert(1)>``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import box

REPO = Path(__file__).resolve().parents[2]
#: page module -> French title
PAGES = {
    "comparer": "Comparer les territoires",
    "mon_territoire": "Mon territoire",
    "zones_blanches": "Zones blanches",
    "annuaire": "Annuaire des acteurs",
    "qualite": "Actualisation et qualité",
    "methode": "Méthode et sources",
}
XSS_NAMES = ("<script>alert(1)</script>", "<img src=x onerror=alert(1)>")
_LAYOUT = [
    ["21101", "21102", "21201", "21202"],
    ["21103", "21104", "21203", "21204"],
    ["71101", "71102", "71201", "71202"],
    ["71103", "71104", "71203", "71204"],
]
_EPCI = {"211": "200000001", "212": "200000002", "711": "200000003", "712": "200000004"}


@dataclass
class SyntheticReference:
    """Duck-typed :class:`geodata.reference.Reference` over the 4 × 4 grid."""

    communes: gpd.GeoDataFrame
    epci: gpd.GeoDataFrame
    departements: gpd.GeoDataFrame
    regions: gpd.GeoDataFrame
    vintages: dict = field(default_factory=lambda: {
        "cog": "COG 2026", "geometrie": "synthétique", "epci": "2026", "population": "2023",
        "built_at": "2026-11-01"})
    provenance: dict = field(default_factory=dict)
    crs: str = "EPSG:4326"

    def layer(self, level: str) -> gpd.GeoDataFrame:
        return {"commune": self.communes, "epci": self.epci,
                "departement": self.departements, "region": self.regions}[level]

    def display(self, level: str, within: str | None = None) -> gpd.GeoDataFrame:
        layer = self.layer(level)
        if within is None:
            return layer
        for column in ("departement", "epci", "region"):
            if column in layer.columns and (layer[column] == within).any():
                return layer[layer[column] == within]
        return layer.loc[[within]]


def build_reference() -> SyntheticReference:
    rows = []
    for r, line in enumerate(_LAYOUT):
        for c, code in enumerate(line):
            i = r * 4 + c
            rows.append({
                "code": code, "nom": f"Commune {code}" if code != "21104" else "Saint-Étienne",
                "epci": _EPCI[code[:3]], "departement": code[:2], "region": "27",
                "zone": "metro", "population": 100 * (i + 1),  # sparse: rural
                "superficie_km2": 85.0, "geometry_repaired": code == "71204",
                "geometry": box(4.0 + 0.1 * c, 47.0 + 0.1 * (3 - r),
                                4.1 + 0.1 * c, 47.1 + 0.1 * (3 - r)),
            })
    communes = gpd.GeoDataFrame(pd.DataFrame(rows).set_index("code"), crs=4326)
    communes.index = communes.index.astype("string")
    communes["population"] = communes["population"].astype("Int64")
    for col in ("nom", "epci", "departement", "region", "zone"):
        communes[col] = communes[col].astype("string")

    def dissolve(by: str, names: dict) -> gpd.GeoDataFrame:
        out = communes.dissolve(by=by, aggfunc={"population": "sum", "superficie_km2": "sum",
                                                "region": "first", "departement": "first"})
        out["nom"] = pd.Series(names).reindex(out.index).astype("string")
        out["nb_communes"] = communes.groupby(by).size()
        out.index = out.index.astype("string")
        out.index.name = "code"
        return out

    epci = dissolve("epci", {v: f"CC numéro {k}" for k, v in _EPCI.items()})
    epci["type"] = "CC"
    deps = dissolve("departement", {"21": "Côte-d'Or", "71": "Saône-et-Loire"})
    regions = communes.dissolve(by="region", aggfunc={"population": "sum",
                                                      "superficie_km2": "sum"})
    regions["nom"] = pd.array(["Bourgogne-Franche-Comté"], dtype="string")
    regions["nb_communes"] = 16
    regions.index = pd.Index(["27"], dtype="string", name="code")
    return SyntheticReference(communes, epci, deps[["nom", "region", "nb_communes", "population",
                                                    "superficie_km2", "geometry"]], regions)


def build_structures(reference: SyntheticReference, quarter: str) -> gpd.GeoDataFrame:
    """Structures of a quarter: 3 per commune of département 21 (+1 new one in T4)."""
    from observatory.schema import STRUCTURE_DTYPES

    families = ["association", "cooperative", "mutuelle", "fondation",
                "societe_commerciale_ess", "autre"]
    rows = []
    communes = reference.communes[reference.communes["departement"] == "21"]
    n = 0
    for code, com in communes.iterrows():
        centre = com.geometry.centroid
        for j in range(3):
            n += 1
            name = XSS_NAMES[n % 2] if n in (1, 2) else f"Structure démo {n:03d}"
            rows.append({
                "siret": f"{n:014d}", "siren": f"{n:09d}", "nic": "00001", "nom": name,
                "famille_ess": families[n % 6], "naf": "88.99B", "naf_section": "Q",
                "naf_libelle": "Autre action sociale sans hébergement n.c.a.",
                "tranche_effectif": "11", "annee_effectif": 2024, "employeur": True,
                "etat_administratif": "A", "adresse": f"{n} rue de la Paix",
                "code_postal": "21000", "commune_declaree": code, "commune": code,
                "epci": com["epci"], "departement": "21", "region": "27",
                "longitude": centre.x + 0.01 * (j - 1), "latitude": centre.y,
                "location_precision": "geoloc_insee" if j else "centroide_commune",
                "commune_desaccord": n == 5, "sources": "sirene",
                "millesimes": json.dumps({"sirene": quarter}), "flag_sirene_ess": True,
                "liste_ess_france": False,
                "date_creation": pd.Timestamp("2020-01-01"),
            })
    if quarter.endswith("T4"):
        rows[3]["commune"] = rows[3]["commune_declaree"] = "21102"  # moved
        rows.append({**rows[0], "siret": "99999999900001", "nom": "Nouvelle coopérative",
                     "famille_ess": "cooperative"})
        rows[-2]["etat_administratif"] = "F"  # closed
    frame = pd.DataFrame(rows)
    for col, dtype in STRUCTURE_DTYPES.items():
        if col not in frame:
            frame[col] = pd.Series(pd.NA, index=frame.index)
        frame[col] = frame[col].astype(dtype)
    return gpd.GeoDataFrame(frame[list(STRUCTURE_DTYPES)], crs=4326,
                            geometry=gpd.points_from_xy(frame["longitude"], frame["latitude"]))


def build_snapshot(reference: SyntheticReference, quarter: str,
                   territoire: str = "region:27") -> SimpleNamespace:
    structures = build_structures(reference, quarter)
    rejects = pd.DataFrame({"source": ["sirene"], "ligne": pd.array([12], dtype="Int64"),
                            "siret": ["12345678900012"],
                            "raison": ["hors_commune: point en mer <b>"],
                            "donnees": ['{"x": "<script>"}']}).astype(
        {"source": "string", "siret": "string", "raison": "string", "donnees": "string"})
    manifest = {
        "quarter": quarter, "territoire": territoire, "created_at": "2026-11-23T02:00:00",
        "demo": True, "cog": "COG 2026",
        "sources": {"sirene_etablissement": {"vintage": quarter, "files": {}, "sha256": ""}},
        "accounting": {"sirene": {"read": len(structures) + 1, "kept": len(structures),
                                  "rejected": 1, "by_reason": {"hors_commune": 1}}},
        "location_precision": structures["location_precision"].value_counts().to_dict(),
    }
    return SimpleNamespace(quarter=quarter, structures=structures, rejects=rejects,
                           manifest=manifest)


def build_world(territoire: str = "region:27"
                ) -> tuple[SyntheticReference, dict[str, SimpleNamespace]]:
    """The reference and the two snapshots 2026-T3 and 2026-T4 covering ``territoire``
    ("region:27": all 16 communes; "departement:21": the 8 northern ones)."""
    ref = build_reference()
    return ref, {q: build_snapshot(ref, q, territoire) for q in ("2026-T3", "2026-T4")}


_ = np  # numpy kept for callers building variants


def build_insertion_snapshot(reference: SyntheticReference, quarter: str) -> SimpleNamespace:
    """The `insertion` series: 2 structures per commune of département 21, of types ACI
    and ESAT; those of commune 21101 are run by a public body (gestion publique)."""
    base = build_structures(reference, "2026-T3")
    rows = base[base.index % 3 != 2].copy().reset_index(drop=True)
    rows["siret"] = [f"8{n:013d}" for n in range(len(rows))]
    rows["type_structure"] = pd.array(["ACI" if i % 2 == 0 else "ESAT"
                                       for i in range(len(rows))], dtype="string")
    rows["gestion_publique"] = pd.array((rows["commune"] == "21101").to_list(),
                                        dtype="boolean")
    rows["capacite"] = pd.array([None if t == "ACI" else 40 for t in rows["type_structure"]],
                                dtype="Int64")
    rows["nom"] = [f"{t} démo {i:03d}" for i, t in enumerate(rows["type_structure"])]
    manifest = {"quarter": quarter, "serie": "insertion", "territoire": "region:27",
                "created_at": "2026-11-23T02:00:00", "demo": False, "cog": "COG 2026",
                "sources": {"siae_inclusion": {"vintage": "fiches 2019-2021"},
                            "esat": {"vintage": "2026"}},
                "accounting": {"siae_inclusion": {"read": len(rows), "kept": len(rows),
                                                  "rejected": 0, "by_reason": {}}}}
    rejects = pd.DataFrame(columns=["source", "ligne", "siret", "raison", "donnees"])
    return SimpleNamespace(quarter=quarter, structures=gpd.GeoDataFrame(rows, crs=4326),
                           rejects=rejects, manifest=manifest)
