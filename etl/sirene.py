"""SIRENE stock reader: ESS establishments, located, in the normalised schema.

Steps (DuckDB, streaming, column selection by name):

1. ``StockUniteLegale``: keep the ESS units (``economieSocialeSolidaireUniteLegale = 'O'`` or
   SIREN in the ESS France list) — before any join.
2. ``StockEtablissement``: join the establishments to those units on ``siren`` (m:1), optional
   territory filter on the département of ``codeCommuneEtablissement`` (arrondissement codes
   75101…, 69381…, 13201… and old codes share their département's prefix; old codes mapped into
   the territory by ``code_changes`` are kept too).
3. Géolocalisé file (``;``-separated): joined on ``siret`` for the kept establishments.
4. :func:`normalise_establishments` (pure pandas): names (never a natural person's name nor a
   ``[ND]`` unit), family, labels, NAF section, dates, address, coordinates with their
   ``location_precision``, rejects with reasons.

Coordinates, in order: géolocalisé ``x_longitude``/``y_latitude`` (``qualite_xy = 33`` ->
``commune_aleatoire``, else ``geoloc_insee``; its ``x``/``y`` in the row's ``epsg`` when the
WGS84 pair is missing); else the stock's Lambert coordinates in the territory's projection
(2154 metro, 5490 Antilles, 2972 Guyane, 2975 Réunion, 4471 Mayotte) -> ``lambert_sirene``;
else ``centroide_commune`` (coordinates filled by :mod:`etl.assign` from the declared commune).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from etl.families import families_of, legal_form_labels, naf_sections
from etl.normalise import (
    assemble_address,
    conform_structures,
    departement_of_commune,
    make_rejects,
    nd_to_na,
    valid_lonlat,
)
from etl.sirene_files import SireneFiles, file_digest, find_sirene_files, open_table_file
from geodata.crs import LOCAL_EPSG
from observatory.errors import DataValidationError, explain
from observatory.schema import (
    NOM_DIFFUSION_PARTIELLE,
    NOM_ENTREPRENEUR_INDIVIDUEL,
    SourceResult,
    empty_rejects,
)

__all__ = [
    "ET_COLUMNS",
    "GEO_COLUMNS",
    "LAMBERT_EPSG",
    "UL_COLUMNS",
    "normalise_establishments",
    "read_sirene",
]

log = logging.getLogger(__name__)
SOURCE = "sirene"

UL_REQUIRED = ("siren", "statutDiffusionUniteLegale", "denominationUniteLegale",
               "sigleUniteLegale", "categorieJuridiqueUniteLegale",
               "economieSocialeSolidaireUniteLegale", "nomUniteLegale", "prenom1UniteLegale")
UL_OPTIONAL = ("denominationUsuelle1UniteLegale", "prenomUsuelUniteLegale",
               "activitePrincipaleUniteLegale")
UL_COLUMNS = UL_REQUIRED + UL_OPTIONAL
ET_REQUIRED = ("siren", "nic", "siret", "statutDiffusionEtablissement",
               "dateCreationEtablissement", "trancheEffectifsEtablissement",
               "anneeEffectifsEtablissement", "numeroVoieEtablissement",
               "indiceRepetitionEtablissement", "typeVoieEtablissement",
               "libelleVoieEtablissement", "codePostalEtablissement",
               "codeCommuneEtablissement", "coordonneeLambertAbscisseEtablissement",
               "coordonneeLambertOrdonneeEtablissement", "dateDebut",
               "etatAdministratifEtablissement", "enseigne1Etablissement",
               "denominationUsuelleEtablissement", "activitePrincipaleEtablissement",
               "nomenclatureActivitePrincipaleEtablissement", "caractereEmployeurEtablissement")
ET_OPTIONAL = ("libellePaysEtrangerEtablissement", "libelleCommuneEtablissement")
ET_COLUMNS = ET_REQUIRED + ET_OPTIONAL
GEO_REQUIRED = ("siret", "qualite_xy", "y_latitude", "x_longitude")
GEO_COLUMNS = GEO_REQUIRED + ("x", "y", "epsg")

#: Projection of the stock's Lambert coordinates by département (default 2154).
#: The DROM table of geodata.crs, plus Saint-Barthélemy (977) and Saint-Martin (978),
#: which SIRENE also places in RGAF09 / UTM 20N.
LAMBERT_EPSG: dict[str, int] = {**LOCAL_EPSG, "977": 5490, "978": 5490}
_PAD = {"siren": 9, "siret": 14, "nic": 5}


def _territory_sql(departements: Iterable[str] | None) -> str:
    if not departements:
        return "TRUE"
    deps = sorted({str(d).upper() for d in departements})
    parts = []
    for width in sorted({len(d) for d in deps}):
        values = ", ".join("'" + d.replace("'", "") + "'" for d in deps if len(d) == width)
        parts.append(f"left(upper(e.codeCommuneEtablissement), {width}) IN ({values})")
    parts.append("e.codeCommuneEtablissement IN (SELECT ancien_code FROM extra_codes)")
    return "(" + " OR ".join(parts) + ")"


def read_sirene(source: str | Path | SireneFiles, *, ess_sirens: Iterable[str] | None = None,
                departements: Iterable[str] | None = None,
                code_changes: pd.DataFrame | None = None, count_filtered: bool = True,
                hash_files: bool = True, workdir: str | Path | None = None,
                progress: bool = True) -> SourceResult:
    """Read the ESS establishments of the SIRENE stock files.

    Parameters
    ----------
    source : path or SireneFiles
        Folder holding the files under their official names, or the files themselves.
    ess_sirens : iterable of str, optional
        SIREN of the ESS France list (ESS even without the SIRENE flag).
    departements : iterable of str, optional
        Keep only establishments whose commune is in these départements.
    code_changes : DataFrame, optional
        ``ancien_code``/``code`` (reference geography) so that old codes are matched to the
        département of their current commune.
    count_filtered : bool
        Count the establishments filtered out (non-ESS or outside the territory): rows of
        the establishment file counted during the checksum pass (Parquet metadata; zips
        while extracting), minus the establishments read.
    hash_files : bool
        Record the SHA-256 of each input file.
    workdir : path, optional
        Scratch folder (zip extraction, DuckDB spill); a temporary folder by default.
    progress : bool
        Show a progress bar over the steps.

    Returns
    -------
    SourceResult
        ``read`` = establishments of ESS units in the territory = kept + rejected.
    """
    from tqdm.auto import tqdm

    files = source if isinstance(source, SireneFiles) else find_sirene_files(source)
    scratch = Path(tempfile.mkdtemp(prefix="sirene-", dir=workdir))
    steps = tqdm(total=5, desc="SIRENE", unit="étape", disable=not progress)
    con = None
    try:
        ul = open_table_file(files.unite_legale, delimiter=",", required=UL_REQUIRED,
                             workdir=scratch, label="StockUniteLegale")
        et = open_table_file(files.etablissement, delimiter=",", required=ET_REQUIRED,
                             workdir=scratch, label="StockEtablissement")
        geo = (open_table_file(files.geolocalisation, delimiter=";", required=GEO_REQUIRED,
                               workdir=scratch, label="Géolocalisation")
               if files.geolocalisation else None)
        steps.update(1)
        con = duckdb.connect(config={"temp_directory": str(scratch / "duckdb"),
                                     "memory_limit": "1536MB"})
        sirens = pd.DataFrame({"siren": pd.Series(list(ess_sirens or ()), dtype="string")})
        sirens["siren"] = sirens["siren"].str.strip().str.zfill(9)
        con.register("ess_list_df", sirens)
        con.execute("CREATE TABLE ess_list AS SELECT DISTINCT siren FROM ess_list_df")
        extra = pd.DataFrame({"ancien_code": pd.Series([], dtype="string")})
        if departements and code_changes is not None and len(code_changes):
            deps = {str(d).upper() for d in departements}
            target = departement_of_commune(code_changes["code"].astype("string"))
            extra = code_changes.loc[target.isin(deps).to_numpy(), ["ancien_code"]]
        con.register("extra_df", extra.astype("string"))
        con.execute("CREATE TABLE extra_codes AS SELECT * FROM extra_df")
        with _DuckdbErrors(files):
            con.execute(f"""
                CREATE TABLE ul AS
                SELECT u.*, (u.siren IN (SELECT siren FROM ess_list)) AS liste_ess_france
                FROM {ul.select_sql(list(UL_COLUMNS), _PAD)} u
                WHERE u.economieSocialeSolidaireUniteLegale = 'O'
                   OR u.siren IN (SELECT siren FROM ess_list)""")
            steps.update(1)
            et_cols = ", ".join(f'e."{c}"' for c in ET_COLUMNS if c != "siren")
            con.execute(f"""
                CREATE TABLE et AS
                SELECT e.siren, {et_cols}, u.* EXCLUDE (siren)
                FROM {et.select_sql(list(ET_COLUMNS), _PAD)} e
                JOIN ul u ON e.siren = u.siren
                WHERE {_territory_sql(departements)}""")
            total = None
            steps.update(1)
            if geo is not None:
                con.execute(f"""
                    CREATE TABLE geo AS
                    SELECT g.* FROM {geo.select_sql(list(GEO_COLUMNS), _PAD)} g
                    WHERE g.siret IN (SELECT siret FROM et)""")
                geo_frame = _fetch(con, "SELECT * REPLACE (" + ", ".join(
                    f"{_num(c)} AS {c}" for c in ("x_longitude", "y_latitude", "x", "y", "epsg")
                ) + ") FROM geo")
            else:
                geo_frame = pd.DataFrame(columns=list(GEO_COLUMNS))
            et_frame = _fetch(con, "SELECT * REPLACE (" + ", ".join(
                f"{_num(c)} AS {c}" for c in ("coordonneeLambertAbscisseEtablissement",
                                              "coordonneeLambertOrdonneeEtablissement")
            ) + ") FROM et")
            units_without = con.execute(
                "SELECT count(*) FROM ul WHERE siren NOT IN (SELECT siren FROM et)"
            ).fetchall()[0][0] if not departements else None
        steps.update(1)
        con.close()
        con = None
        structures, rejects = normalise_establishments(et_frame, geo_frame)
        steps.update(1)
        read = len(et_frame)
        vintage = _vintage(files)
        digests = {}
        for table in (ul, et, geo):
            if table is None:
                continue
            count = count_filtered and table is et and table.rows is None
            digest, rows = file_digest(table.path, hash_file=hash_files, count_lines=count)
            digests[table.path.name] = digest or ""
            if table is et and count_filtered:
                total = table.rows if table.rows is not None else rows
        structures["millesimes"] = json.dumps({SOURCE: vintage})
        result = SourceResult(
            source=SOURCE, structures=structures, rejects=rejects, read=read, vintage=vintage,
            filtered=(total - read) if total is not None else 0,
            files=digests,
            notes={"ess_units_without_establishment": units_without,
                   "geolocalisation_file": files.geolocalisation is not None},
        )
        result.check_accounting()
        return result
    finally:
        if con is not None:
            con.close()
        steps.close()
        shutil.rmtree(scratch, ignore_errors=True)


class _DuckdbErrors:
    """Turn DuckDB parse errors (bad UTF-8 deep in a file, ragged rows) into clear errors."""

    def __init__(self, files: SireneFiles) -> None:
        self.files = files

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        if exc is None or not isinstance(exc, duckdb.Error):
            return False
        text = str(exc)
        names = ", ".join(p.name for p in self.files.paths())
        if "unicode" in text.lower() or "utf" in text.lower():
            why = "A SIRENE file is not valid UTF-8 further down (re-encoded or corrupted)."
            fix = "Use the original _utf8 files, or convert: iconv -f WINDOWS-1252 -t UTF-8."
        else:
            why = "A SIRENE file could not be parsed as the published CSV/Parquet."
            fix = "Download the files again (truncated download?) and keep them as published."
        raise DataValidationError(explain(f"Reading {names} failed: {text[:600]}", why, fix),
                                  offenders=[names]) from exc


def _num(column: str) -> str:
    """SQL turning a text coordinate ("843543.2", "843543,2", "[ND]", "") into a DOUBLE."""
    return f"TRY_CAST(replace(\"{column}\", ',', '.') AS DOUBLE)"


def _arrow_types(kind):
    import pyarrow as pa

    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return pd.StringDtype()
    return None


def _fetch(con, sql: str) -> pd.DataFrame:
    """Query result as a frame of Arrow-backed strings (no Python objects: memory)."""
    table = con.sql(sql).to_arrow_table()
    return table.to_pandas(types_mapper=_arrow_types, self_destruct=True)


def _vintage(files: SireneFiles) -> str:
    stamps = [dt.datetime.fromtimestamp(p.stat().st_mtime, tz=dt.UTC).date()
              for p in (files.unite_legale, files.etablissement)]
    return f"SIRENE stock {max(stamps).isoformat()}"


def _to_float(values: pd.Series) -> np.ndarray:
    if pd.api.types.is_float_dtype(values.dtype):  # already parsed by DuckDB
        return np.array(values.to_numpy(dtype=float, na_value=np.nan), copy=True)
    text = nd_to_na(values).str.replace(",", ".", regex=False)
    return np.array(pd.to_numeric(text, errors="coerce").astype("float64")
                    .to_numpy(na_value=np.nan), copy=True)


def _project(x: np.ndarray, y: np.ndarray, epsg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Projected (x, y) with a per-row EPSG code -> WGS84 lon/lat, vectorised per code."""
    from pyproj import Transformer
    from pyproj.exceptions import CRSError

    lon = np.full(len(x), np.nan)
    lat = np.full(len(x), np.nan)
    usable = np.isfinite(x) & np.isfinite(y) & (epsg > 0)
    for code in np.unique(epsg[usable]):
        mask = usable & (epsg == code)
        try:
            transformer = Transformer.from_crs(f"EPSG:{int(code)}", "EPSG:4326", always_xy=True)
        except CRSError:
            log.warning("EPSG %s inconnu: %d point(s) ignoré(s)", code, mask.sum())
            continue
        lon[mask], lat[mask] = transformer.transform(x[mask], y[mask])
    return lon, lat


def _locate(frame: pd.DataFrame, geo: pd.DataFrame) -> pd.DataFrame:
    """longitude, latitude, location_precision for each establishment (NaN = none)."""
    n = len(frame)
    if len(geo):
        geo = geo.drop_duplicates("siret", keep="first")
    merged = frame[["siret"]].merge(geo, on="siret", how="left", validate="m:1")
    g_lon, g_lat = _to_float(merged["x_longitude"]), _to_float(merged["y_latitude"])
    g_ok = valid_lonlat(g_lon, g_lat)
    # WGS84 pair missing: the projected x/y of the géolocalisé row in its own EPSG.
    gx, gy = _to_float(merged["x"]), _to_float(merged["y"])
    g_epsg = np.nan_to_num(_to_float(merged["epsg"]), nan=0).astype(int)
    need = ~g_ok & np.isfinite(gx)
    if need.any():
        px, py = _project(gx[need], gy[need], g_epsg[need])
        g_lon[need], g_lat[need] = px, py
        g_ok = valid_lonlat(g_lon, g_lat)
    quality = merged["qualite_xy"].astype("string").str.strip().to_numpy(na_value="")
    # Stock Lambert coordinates, projection chosen by département.
    lx = _to_float(frame["coordonneeLambertAbscisseEtablissement"])
    ly = _to_float(frame["coordonneeLambertOrdonneeEtablissement"])
    dep = departement_of_commune(nd_to_na(frame["codeCommuneEtablissement"]))
    l_epsg = dep.map(LAMBERT_EPSG).fillna(2154).astype(int).to_numpy()
    l_lon, l_lat = _project(lx, ly, l_epsg)
    l_ok = valid_lonlat(l_lon, l_lat)
    lon = np.where(g_ok, g_lon, np.where(l_ok, l_lon, np.nan))
    lat = np.where(g_ok, g_lat, np.where(l_ok, l_lat, np.nan))
    precision = np.select(
        [g_ok & (quality == "33"), g_ok, l_ok],
        ["commune_aleatoire", "geoloc_insee", "lambert_sirene"],
        default="centroide_commune",
    )
    return pd.DataFrame({"longitude": lon, "latitude": lat,
                         "location_precision": pd.array(precision, dtype="string")},
                        index=frame.index) if n else pd.DataFrame(
        {"longitude": [], "latitude": [], "location_precision": pd.array([], dtype="string")})


def _names(frame: pd.DataFrame) -> pd.DataFrame:
    cj = nd_to_na(frame["categorieJuridiqueUniteLegale"])
    person = ((cj == "1000").fillna(False) | nd_to_na(frame["prenom1UniteLegale"]).notna()
              | nd_to_na(frame["nomUniteLegale"]).notna()
              | nd_to_na(frame.get("prenomUsuelUniteLegale", pd.Series(pd.NA, index=frame.index)))
              .notna())
    partial = ((frame["statutDiffusionUniteLegale"].astype("string") == "P").fillna(False)
               | (frame["statutDiffusionEtablissement"].astype("string") == "P").fillna(False))
    nom = nd_to_na(frame["denominationUniteLegale"])
    for fallback in ("denominationUsuelle1UniteLegale", "denominationUsuelleEtablissement",
                     "enseigne1Etablissement", "sigleUniteLegale"):
        nom = nom.fillna(nd_to_na(frame[fallback]))
    hidden = person | partial
    out = pd.DataFrame({
        "nom": nom.mask(partial, NOM_DIFFUSION_PARTIELLE).mask(person,
                                                               NOM_ENTREPRENEUR_INDIVIDUEL),
        "enseigne": nd_to_na(frame["enseigne1Etablissement"]).mask(hidden),
        "sigle": nd_to_na(frame["sigleUniteLegale"]).mask(hidden),
    })
    return out.astype("string")


def normalise_establishments(et: pd.DataFrame, geo: pd.DataFrame | None = None
                             ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Joined establishment/unit rows (SIRENE column names) -> (structures, rejects).

    Pure function; rejects: ``siret_invalide``, ``siret_en_double`` (first kept),
    ``localisation_absente`` (no commune code and no usable coordinates).
    """
    et = et.reset_index(drop=True)
    et = et.astype({c: "string" for c in et.columns
                    if not pd.api.types.is_float_dtype(et[c].dtype)})
    for column in ET_COLUMNS + UL_COLUMNS + ("liste_ess_france",):
        if column not in et:
            et[column] = pd.Series(pd.NA, index=et.index, dtype="string")
    geo = geo if geo is not None else pd.DataFrame(columns=list(GEO_COLUMNS))
    geo = geo.astype({c: "string" for c in geo.columns
                      if not pd.api.types.is_float_dtype(geo[c].dtype)})
    for column in GEO_COLUMNS:
        if column not in geo:
            geo[column] = pd.Series(pd.NA, index=geo.index, dtype="string")
    siret, siren, nic = (et[c].str.strip() for c in ("siret", "siren", "nic"))
    valid = (siret.str.fullmatch(r"\d{14}").fillna(False)
             & siren.str.fullmatch(r"\d{9}").fillna(False)
             & (siret.str.slice(0, 9) == siren).fillna(False))
    reasons = pd.Series(pd.NA, index=et.index, dtype="string")
    reasons = reasons.mask(~valid, "siret_invalide: " + siret.fillna("(vide)")
                           + " (14 chiffres commençant par le SIREN " + siren.fillna("?") + ")")
    duplicated = siret.duplicated(keep="first") & valid
    reasons = reasons.mask(duplicated & reasons.isna(),
                           "siret_en_double: " + siret + " (première ligne conservée)")
    location = _locate(et, geo)
    commune = nd_to_na(et["codeCommuneEtablissement"])
    no_place = commune.isna() & location["longitude"].isna()
    pays = nd_to_na(et["libellePaysEtrangerEtablissement"])
    detail = ("établissement à l'étranger (" + pays + ")").fillna(
        "ni code commune ni coordonnées")
    reasons = reasons.mask(no_place & reasons.isna(), "localisation_absente: " + detail)
    rejected = reasons.notna().to_numpy()
    rejects = (make_rejects(SOURCE, et.loc[rejected, list(ET_COLUMNS)], reasons[rejected])
               if rejected.any() else empty_rejects())
    keep = ~rejected
    k = et.loc[keep].reset_index(drop=True)
    loc = location.loc[keep].reset_index(drop=True)
    cj = nd_to_na(k["categorieJuridiqueUniteLegale"])
    naf = nd_to_na(k["activitePrincipaleEtablissement"])
    nomenclature = nd_to_na(k["nomenclatureActivitePrincipaleEtablissement"])
    sections = naf_sections(naf.where(nomenclature.isna() | (nomenclature == "NAFRev2")))
    etat = nd_to_na(k["etatAdministratifEtablissement"])
    date_debut = pd.to_datetime(nd_to_na(k["dateDebut"]), format="%Y-%m-%d", errors="coerce")
    employeur = nd_to_na(k["caractereEmployeurEtablissement"]).map(
        {"O": True, "N": False}).astype("boolean")
    liste = (k["liste_ess_france"].astype("string").str.lower() == "true").fillna(False)
    flag = (k["economieSocialeSolidaireUniteLegale"] == "O").fillna(False)
    sources = pd.Series("sirene", index=k.index, dtype="string").mask(liste, "sirene|ess_france")
    structures = pd.DataFrame({
        "siret": k["siret"].str.strip(), "siren": k["siren"].str.strip(),
        "nic": k["nic"].str.strip(),
        **_names(k),
        "famille_ess": families_of(cj),
        "categorie_juridique": cj,
        "categorie_juridique_libelle": legal_form_labels(cj),
        "naf": naf, **sections,
        "tranche_effectif": nd_to_na(k["trancheEffectifsEtablissement"]),
        "annee_effectif": pd.to_numeric(nd_to_na(k["anneeEffectifsEtablissement"]),
                                        errors="coerce").astype("Int64"),
        "employeur": employeur,
        "date_creation": pd.to_datetime(nd_to_na(k["dateCreationEtablissement"]),
                                        format="%Y-%m-%d", errors="coerce"),
        "date_fermeture": date_debut.where((etat == "F").fillna(False).to_numpy()),
        "etat_administratif": etat,
        "adresse": assemble_address(k["numeroVoieEtablissement"],
                                    k["indiceRepetitionEtablissement"],
                                    k["typeVoieEtablissement"], k["libelleVoieEtablissement"])
        .mask((k["statutDiffusionEtablissement"] == "P").fillna(False)),
        "code_postal": nd_to_na(k["codePostalEtablissement"]),
        "commune_declaree": nd_to_na(k["codeCommuneEtablissement"]).str.upper(),
        "longitude": loc["longitude"], "latitude": loc["latitude"],
        "location_precision": loc["location_precision"],
        "sources": sources,
        "flag_sirene_ess": flag.astype("boolean"),
        "liste_ess_france": liste.astype("boolean"),
    })
    return conform_structures(structures), rejects
