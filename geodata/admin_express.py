"""Read IGN ADMIN EXPRESS COG / COG CARTO (GeoPackage or shapefiles) into Reference layers.

ADMIN EXPRESS COG and COG CARTO are IGN's annual administrative boundaries aligned on the
INSEE COG of 1 January (Licence Ouverte / Etalab 2.0; credit "IGN – ADMIN EXPRESS").  They
are delivered as one 7z per edition, holding either a GeoPackage or one shapefile per class,
in WGS84G (EPSG:4326, France entière) or in the legal projections (LAMB93 = EPSG:2154 for
metropolitan France, RGAF09UTM20 = 5490, UTM22RGFG95 = 2972, RGR92UTM40S = 2975,
RGM04UTM38S = 4471 overseas).  Extract the 7z first (``7z x file.7z``): this module reads
the ``.gpkg`` file or the folder of shapefiles (searched recursively, so the extracted
delivery folder can be given as is; per-territory deliveries are concatenated).

Classes read (layer names matched case-insensitively) and fields (also case-insensitive;
the names of editions 3.x and 4.0 are both accepted):

=============================  ===================================  ================================
class                          edition 3.x (SHP/GPKG)               edition 4.0 (GPKG)
=============================  ===================================  ================================
COMMUNE                        INSEE_COM, NOM, INSEE_DEP,           code_insee, nom_officiel,
                               INSEE_REG, SIREN_EPCI, POPULATION    code_insee_du_departement,
                                                                    code_insee_de_la_region,
                                                                    codes_siren_des_epci, population
EPCI                           CODE_SIREN, NOM, NATURE              code_siren, nom_officiel, nature
DEPARTEMENT                    INSEE_DEP, NOM, INSEE_REG            code_insee, nom_officiel,
                                                                    code_insee_de_la_region
REGION                         INSEE_REG, NOM                       code_insee, nom_officiel
ARRONDISSEMENT_MUNICIPAL       INSEE_ARM, NOM, INSEE_COM,           code_insee, nom_officiel, ...
                               POPULATION
COMMUNE_ASSOCIEE_OU_DELEGUEE   INSEE_CAD, NOM, INSEE_COM, NATURE    code_insee, nom_officiel,
                                                                    nature
=============================  ===================================  ================================

``SIREN_EPCI`` holds the SIREN of the commune's EPCI; in the Métropole du Grand Paris it
holds two values joined by "/" (the métropole, à fiscalité propre, and the établissement
public territorial, which is not).  The loader keeps the first value that is an EPCI à
fiscalité propre of the EPCI class (else the first value) in ``epci`` and the raw value in
``epci_brut``; "NC"/"NR"/empty mean "no EPCI" (the 4 island communes).  ``POPULATION`` is
the population municipale of the census in force.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from geodata.formats import (
    find_columns,
    fold_text,
    pad_code,
    shape_communes,
    shape_named_layer,
    to_wgs84,
)
from observatory.errors import ConfigurationError, DataValidationError, explain

__all__ = [
    "AdminExpress",
    "EPCI_TYPES",
    "KNOWN_CRS",
    "LAYERS",
    "choose_epci",
    "epci_type",
    "find_layers",
    "read_admin_express",
    "read_layer",
]

log = logging.getLogger(__name__)

LAYERS = ("COMMUNE", "EPCI", "DEPARTEMENT", "REGION", "ARRONDISSEMENT_MUNICIPAL",
          "COMMUNE_ASSOCIEE_OU_DELEGUEE")

_ALIASES: dict[str, dict[str, tuple[str, ...]]] = {
    "COMMUNE": {
        "code": ("insee_com", "code_insee"),
        "nom": ("nom", "nom_officiel"),
        "departement": ("insee_dep", "code_insee_du_departement"),
        "region": ("insee_reg", "code_insee_de_la_region"),
        "epci": ("siren_epci", "codes_siren_des_epci", "code_siren_des_epci"),
        "population": ("population",),
    },
    "EPCI": {
        "code": ("code_siren", "siren"),
        "nom": ("nom", "nom_officiel"),
        "nature": ("nature",),
    },
    "DEPARTEMENT": {
        "code": ("insee_dep", "code_insee"),
        "nom": ("nom", "nom_officiel"),
        "region": ("insee_reg", "code_insee_de_la_region"),
    },
    "REGION": {
        "code": ("insee_reg", "code_insee"),
        "nom": ("nom", "nom_officiel"),
    },
    "ARRONDISSEMENT_MUNICIPAL": {
        "code": ("insee_arm", "code_insee"),
        "nom": ("nom", "nom_officiel"),
        "commune": ("insee_com", "code_insee_de_la_commune_de_rattachement",
                    "code_insee_de_la_commune_de_rattach", "insee_rattachement"),
        "population": ("population",),
    },
    "COMMUNE_ASSOCIEE_OU_DELEGUEE": {
        "code": ("insee_cad", "code_insee"),
        "nom": ("nom", "nom_officiel"),
        "commune": ("insee_com", "code_insee_de_la_commune_de_rattachement",
                    "code_insee_de_la_commune_de_rattach", "insee_rattachement"),
        "nature": ("nature",),
    },
}
_REQUIRED = {
    "COMMUNE": ("code", "nom", "departement", "region"),
    "EPCI": ("code", "nom"),
    "DEPARTEMENT": ("code", "nom"),
    "REGION": ("code", "nom"),
    "ARRONDISSEMENT_MUNICIPAL": ("code", "nom"),
    "COMMUNE_ASSOCIEE_OU_DELEGUEE": ("code", "commune"),
}

# NATURE of the EPCI class -> type code of the Reference (as in the DGCL list).
EPCI_TYPES = {
    "communaute de communes": "CC",
    "communaute d'agglomeration": "CA",
    "communaute urbaine": "CU",
    "metropole": "METRO",
    "metropole de lyon": "MET69",
    "etablissement public territorial": "EPT",
}
# CRS of the IGN deliveries: WGS84G, LAMB93 and the legal projections overseas.
KNOWN_CRS = {"EPSG:4326", "EPSG:2154", "EPSG:5490", "EPSG:2972", "EPSG:2975", "EPSG:4471",
             "EPSG:32620", "EPSG:32622", "EPSG:32740", "EPSG:32738"}
_LYON = "200046977"  # Métropole de Lyon, a collectivité à statut particulier (MET69)
_NO_EPCI = {"", "NC", "NR", "ZZZZZZZZZ", "SANS OBJET"}
# Parent commune of the municipal arrondissements of Paris, Lyon and Marseille.
_PLM_PARENT = ((r"751\d\d", "75056"), (r"6938\d", "69123"), (r"132\d\d", "13055"))


@dataclass(frozen=True)
class AdminExpress:
    """Layers of one ADMIN EXPRESS delivery, in EPSG:4326, shaped as Reference layers.

    Attributes
    ----------
    communes : GeoDataFrame
        Index ``code``; ``nom``, ``departement``, ``region``, ``epci``, ``population``
        (Int64), ``epci_brut`` (raw SIREN_EPCI), ``geometry``.
    epci, departements, regions : GeoDataFrame or None
        Index ``code``; ``nom`` (+ ``type``, ``nature`` for EPCI; ``region`` for
        départements); None when the class is not in the delivery.
    arrondissements : GeoDataFrame or None
        Municipal arrondissements: index ``code``; ``nom``, ``commune``, ``population``.
    communes_deleguees : DataFrame or None
        Communes associées / déléguées: index ``code``; ``nom``, ``commune``, ``nature``.
    source_crs : dict
        Class -> CRS of the source files (e.g. ``{"COMMUNE": "EPSG:2154"}``).
    path : Path
        What was read.
    edition : str or None
        Product and edition guessed from the path (e.g. "ADMIN-EXPRESS-COG-CARTO 3-2
        2024-02-22").
    """

    communes: gpd.GeoDataFrame
    epci: gpd.GeoDataFrame | None
    departements: gpd.GeoDataFrame | None
    regions: gpd.GeoDataFrame | None
    arrondissements: gpd.GeoDataFrame | None
    communes_deleguees: pd.DataFrame | None
    source_crs: dict[str, str] = field(default_factory=dict)
    path: Path | None = None
    edition: str | None = None


def epci_type(nature: pd.Series, codes: pd.Series | None = None) -> pd.Series:
    """Type code (CC, CA, CU, METRO, MET69, EPT) from the NATURE of the EPCI class.

    >>> epci_type(pd.Series(["Communauté de communes", "Métropole", "bof"])).tolist()
    ['CC', 'METRO', <NA>]
    """
    out = nature.map(lambda v: EPCI_TYPES.get(fold_text(v)) if pd.notna(v) else None)
    out = out.astype("string")
    if codes is not None:
        out = out.mask(pd.Series(codes, index=out.index).astype("string") == _LYON, "MET69")
    return out


def choose_epci(raw: pd.Series, fiscalite_propre: set[str] | None = None) -> pd.Series:
    """Pick one EPCI SIREN per commune from SIREN_EPCI values ("a/b" in the Grand Paris).

    Parameters
    ----------
    raw : Series of str
        Raw SIREN_EPCI values.
    fiscalite_propre : set of str, optional
        SIREN of the EPCI à fiscalité propre (from the EPCI class); the first value found
        in it wins, else the first value.

    Examples
    --------
    >>> choose_epci(pd.Series(["200057982/200054781", "NC", "242100410"]),
    ...             {"200054781", "242100410"}).tolist()
    ['200054781', <NA>, '242100410']
    """
    def pick(value):
        if pd.isna(value):
            return None
        candidates = [part.strip() for part in re.split(r"[/,;|]", str(value))]
        candidates = [c for c in candidates if c.upper() not in _NO_EPCI]
        if not candidates:
            return None
        if fiscalite_propre:
            for candidate in candidates:
                if candidate.zfill(9) in fiscalite_propre:
                    return candidate
        return candidates[0]

    return raw.map(pick).astype("string")


def _edition(path: Path) -> str | None:
    text = str(path)
    match = re.search(r"(ADMIN-EXPRESS(?:-COG)?(?:-CARTO)?(?:-PLUS)?(?:-PE)?)_(\d-\d)_.*?"
                      r"(\d{4}-\d{2}-\d{2})", text)
    if match:
        return " ".join(match.groups())
    match = re.search(r"(ADE[-_A-Z]*)_(\d-\d)_.*?ED(\d{4}-\d{2}-\d{2})", text)
    return " ".join(match.groups()) if match else None


def find_layers(path: str | Path) -> dict[str, list[tuple[Path, str | None]]]:
    """Locate the ADMIN EXPRESS classes in a GeoPackage or a folder of shapefiles.

    Returns
    -------
    dict
        Class name (upper case) -> list of ``(file, layer name or None)``; several entries
        when a folder holds one delivery per territory.

    Raises
    ------
    ConfigurationError
        When the path does not exist, is a 7z archive, or holds no ADMIN EXPRESS class.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise ConfigurationError(explain(
            f"ADMIN EXPRESS path {str(path)!r} does not exist.",
            "The loader reads an extracted delivery (GeoPackage or shapefile folder).",
            "Download the edition, extract it (7z x file.7z) and pass the .gpkg or folder.",
        ))
    if path.suffix.lower() == ".7z":
        raise ConfigurationError(explain(
            f"{path.name} is a 7z archive.",
            "GDAL cannot read inside 7z archives.",
            f"Extract it first: 7z x {path.name}, then pass the extracted folder.",
        ))
    if path.is_file():
        files = [path]
    else:
        files = sorted([*path.rglob("*.gpkg"), *path.rglob("*.shp"), *path.rglob("*.SHP")])
    found: dict[str, list[tuple[Path, str | None]]] = {}
    for file in files:
        if file.suffix.lower() == ".gpkg":
            for name, _geometry in pyogrio.list_layers(file):
                key = str(name).upper()
                if key in LAYERS:
                    found.setdefault(key, []).append((file, str(name)))
        elif file.suffix.lower() == ".shp" and file.stem.upper() in LAYERS:
            found.setdefault(file.stem.upper(), []).append((file, None))
    if "COMMUNE" not in found:
        raise ConfigurationError(explain(
            f"No COMMUNE class found in {str(path)!r}.",
            f"ADMIN EXPRESS holds the classes {', '.join(LAYERS)} (GeoPackage layers or "
            f"shapefiles); found {sorted(found) or 'none'} among {len(files)} file(s).",
            "Pass the ADMIN EXPRESS COG or COG CARTO .gpkg, or its extracted folder.",
        ))
    return found


def read_layer(path: str | Path, layer: str) -> tuple[gpd.GeoDataFrame, str] | None:
    """Read one ADMIN EXPRESS class, reprojected to EPSG:4326, with canonical columns.

    Returns
    -------
    (GeoDataFrame, str) or None
        The class with columns named as in ``_ALIASES`` (``code``, ``nom``...) plus
        ``geometry``, and the source CRS; None when the class is absent.
    """
    layer = layer.upper()
    sources = find_layers(path).get(layer)
    return _read_sources(layer, sources) if sources else None


def _read_sources(layer: str, sources) -> tuple[gpd.GeoDataFrame, str]:
    parts, crs_names = [], set()
    for file, name in sources:
        label = f"{layer} ({file.name})"
        frame = pyogrio.read_dataframe(file, layer=name) if name else \
            pyogrio.read_dataframe(file)
        frame, crs_name = to_wgs84(frame, label)
        if crs_name not in KNOWN_CRS:
            log.warning("%s: unexpected CRS %s (IGN delivers WGS84G, LAMB93 or the legal "
                        "overseas projections); reprojected to EPSG:4326 anyway", label,
                        crs_name[:80])
        crs_names.add(crs_name)
        columns = find_columns(frame.columns, _ALIASES[layer], _REQUIRED[layer], label)
        renamed = frame[[*columns.values(), "geometry"]].rename(
            columns={v: k for k, v in columns.items()})
        parts.append(renamed)
    frame = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry",
                             crs="EPSG:4326")
    log.info("ADMIN EXPRESS %s: %d features (source CRS %s)", layer, len(frame),
             ", ".join(sorted(crs_names)))
    return frame, ", ".join(sorted(crs_names))


def _plm_parent(codes: pd.Series) -> pd.Series:
    parent = pd.Series(pd.NA, index=codes.index, dtype="string")
    for pattern, code in _PLM_PARENT:
        parent = parent.mask(codes.str.fullmatch(pattern).fillna(False).astype(bool), code)
    return parent


def read_admin_express(path: str | Path) -> AdminExpress:
    """Read an ADMIN EXPRESS COG / COG CARTO delivery into Reference-shaped layers.

    Parameters
    ----------
    path : str or Path
        The ``.gpkg`` file or the (extracted) folder holding the shapefiles.

    Returns
    -------
    AdminExpress
        Every layer in EPSG:4326, codes as zero-padded strings; see the class.

    Raises
    ------
    ConfigurationError
        Path missing, 7z archive, or no COMMUNE class.
    DataValidationError
        Missing required field, invalid or duplicated code (lists the offenders).
    CRSMismatchError
        A class has no CRS (shapefile without ``.prj``).
    """
    path = Path(path).expanduser()
    layers = find_layers(path)
    source_crs: dict[str, str] = {}

    def load(name):
        if name not in layers:
            return None
        frame, crs_name = _read_sources(name, layers[name])
        source_crs[name] = crs_name
        return frame

    epci_raw = load("EPCI")
    epci = None
    fiscalite_propre: set[str] | None = None
    if epci_raw is not None:
        epci_raw["nature"] = (epci_raw["nature"] if "nature" in epci_raw
                              else pd.Series(pd.NA, index=epci_raw.index)).astype("string")
        epci_raw["code"] = pad_code(epci_raw["code"], "siren", source="EPCI")
        epci_raw["type"] = epci_type(epci_raw["nature"], epci_raw["code"])
        epci = shape_named_layer(epci_raw, "siren", "EPCI", ("nom", "type", "nature"))
        fiscalite_propre = set(epci.index[epci["type"].fillna("") != "EPT"])

    communes = load("COMMUNE")
    if "epci" in communes:
        communes["epci_brut"] = communes["epci"].astype("string")
        communes["epci"] = choose_epci(communes["epci_brut"], fiscalite_propre)
    communes = shape_communes(communes, "COMMUNE")
    multiple = communes["epci_brut"].str.contains("/", regex=False).fillna(False) \
        if "epci_brut" in communes else pd.Series(False, index=communes.index)
    if multiple.any():
        log.info("ADMIN EXPRESS: %d communes carry several EPCI SIREN (kept the EPCI à "
                 "fiscalité propre): %s", int(multiple.sum()),
                 ", ".join(communes.index[multiple][:10]))

    departements = load("DEPARTEMENT")
    if departements is not None:
        departements = shape_named_layer(departements, "departement", "DEPARTEMENT",
                                         ("nom", "region"))
        departements["region"] = pad_code(departements["region"], "region",
                                          source="DEPARTEMENT")
    regions = load("REGION")
    if regions is not None:
        regions = shape_named_layer(regions, "region", "REGION")

    arrondissements = load("ARRONDISSEMENT_MUNICIPAL")
    if arrondissements is not None:
        arrondissements["code"] = pad_code(arrondissements["code"], "commune",
                                           source="ARRONDISSEMENT_MUNICIPAL")
        if "commune" in arrondissements:
            arrondissements["commune"] = pad_code(arrondissements["commune"], "commune",
                                                  source="ARRONDISSEMENT_MUNICIPAL")
        else:
            arrondissements["commune"] = _plm_parent(arrondissements["code"])
        arrondissements = shape_communes(arrondissements, "ARRONDISSEMENT_MUNICIPAL")[
            ["nom", "commune", "population", "geometry"]]

    deleguees = load("COMMUNE_ASSOCIEE_OU_DELEGUEE")
    if deleguees is not None:
        deleguees = pd.DataFrame({
            "code": pad_code(deleguees["code"], "commune", source="COMMUNE_ASSOCIEE"),
            "nom": deleguees["nom"].astype("string") if "nom" in deleguees else pd.NA,
            "commune": pad_code(deleguees["commune"], "commune", source="COMMUNE_ASSOCIEE"),
            "nature": (deleguees["nature"].astype("string") if "nature" in deleguees
                       else pd.NA),
        })
        # A commune déléguée can carry the code of its commune nouvelle: not an old code.
        deleguees = deleguees[deleguees["code"] != deleguees["commune"]]
        deleguees = deleguees.drop_duplicates("code").set_index("code")

    _check_hierarchy(communes, departements, regions)
    return AdminExpress(communes=communes, epci=epci, departements=departements,
                        regions=regions, arrondissements=arrondissements,
                        communes_deleguees=deleguees, source_crs=source_crs, path=path,
                        edition=_edition(path))


def _check_hierarchy(communes, departements, regions) -> None:
    """Communes must point at départements / régions of the delivery (lists offenders)."""
    problems = []
    if departements is not None:
        unknown = sorted(set(communes["departement"].dropna()) - set(departements.index))
        problems += [f"departement {code}" for code in unknown]
    if regions is not None:
        unknown = sorted(set(communes["region"].dropna()) - set(regions.index))
        problems += [f"region {code}" for code in unknown]
    missing = communes.index[communes["departement"].isna() | communes["region"].isna()]
    problems += [f"commune {code} without departement/region" for code in missing]
    if problems:
        raise DataValidationError(explain(
            "ADMIN EXPRESS: the commune hierarchy is inconsistent.",
            "Every commune must belong to a département and a région of the same delivery.",
            "Use the COMMUNE, DEPARTEMENT and REGION classes of one single edition.",
            offenders=problems,
        ), offenders=problems)
