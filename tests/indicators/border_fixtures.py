"""A synthetic reference across a département border, for hand-computed answers.

Four 0.1° squares in a row (lat 47.2-47.3), every commune in région 27::

    code    lon        dép.  EPCI        population
    21001   4.9-5.0    21    200000001   1 000
    21002   5.0-5.1    21    200000001   3 000
    71001   5.1-5.2    71    200000001   2 000
    71002   5.2-5.3    71    200000002     500

Centres are 0.1° of longitude apart: 0.1 × 111.32 × cos(47.25°) = 7.56 km.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
from shapely.geometry import box

from etl.normalise import conform_structures

__all__ = ["COMMUNES", "border_structures", "write_border_reference"]

COMMUNES = [  # code, lon0, dép., EPCI, population
    ("21001", 4.9, "21", "200000001", 1000),
    ("21002", 5.0, "21", "200000001", 3000),
    ("71001", 5.1, "71", "200000001", 2000),
    ("71002", 5.2, "71", "200000002", 500),
]


def write_border_reference(directory):
    """Write the reference of the table above as a real reference cache."""
    from geodata.build import assemble_reference

    communes = gpd.GeoDataFrame(
        {"code": [c[0] for c in COMMUNES], "nom": [f"Commune {c[0]}" for c in COMMUNES],
         "epci": [c[3] for c in COMMUNES], "departement": [c[2] for c in COMMUNES],
         "region": "27", "zone": "metro",
         "population": pd.array([c[4] for c in COMMUNES], dtype="Int64"),
         "geometry": [box(c[1], 47.2, c[1] + 0.1, 47.3) for c in COMMUNES]},
        crs="EPSG:4326").set_index("code")
    for col in ("nom", "epci", "departement", "region", "zone"):
        communes[col] = communes[col].astype("string")
    communes.index = communes.index.astype("string")
    epci = pd.DataFrame({"nom": ["CA à cheval", "CC voisine"], "type": ["CA", "CC"]},
                        index=["200000001", "200000002"])
    changes = pd.DataFrame({"ancien_code": ["21999"], "code": ["21001"],
                            "nature": ["ancienne_commune"]}, dtype="string")
    return assemble_reference(communes, epci, pd.Series({"21": "Côte-d'Or",
                                                         "71": "Saône-et-Loire"}),
                              pd.Series({"27": "Bourgogne-Franche-Comté"}), changes,
                              {"cog": "COG test"}, {"test": {"version": "0"}}, directory)


def border_structures(layout, *, latitude: float = 47.25) -> gpd.GeoDataFrame:
    """Structures (commune, famille, état) at the centre of their commune's square."""
    lon0 = {c[0]: c[1] for c in COMMUNES}
    rows = [{"siret": f"{i + 1:014d}", "siren": f"{i + 1:09d}", "nom": f"S{i}",
             "famille_ess": fam, "etat_administratif": state, "commune": code,
             "epci": next(c[3] for c in COMMUNES if c[0] == code),
             "departement": code[:2], "region": "27", "naf": "88.99B", "naf_section": "Q",
             "longitude": lon0[code] + 0.05, "latitude": latitude,
             "location_precision": "geoloc_insee"}
            for i, (code, fam, state) in enumerate(layout)]
    frame = conform_structures(pd.DataFrame(rows))  # the schema's columns and dtypes
    return gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(frame["longitude"],
                                                               frame["latitude"]), crs=4326)


