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

Coordinates, in order, each taken only when **plausible** (:func:`etl.plausibility.check_points`:
inside or within 100 m of the declared commune ``codeCommuneEtablissement``, or of the postcode's
département when the code is missing): géolocalisé ``x_longitude``/``y_latitude``
(``qualite_xy = 33`` -> ``commune_aleatoire``, else ``geoloc_insee``; its ``x``/``y`` in the
row's ``epsg`` when the WGS84 pair is missing); else the stock's Lambert coordinates in the
territory's projection (2154 metro, 5490 Antilles, 2972 Guyane, 2975 Réunion, 4471 Mayotte) ->
``lambert_sirene``; else ``centroide_commune`` (coordinates filled by :mod:`etl.assign` from the
declared commune).  Each case is counted in ``SourceResult.notes["localisation"]`` (so in the
manifest).  Without a reference geography (``reference=None``) points are taken unchecked.

Territory refresh: rows without a commune code (and not abroad) are read too, so that none
vanishes into "filtered": without a plausible point they are rejected
(``localisation_absente``); with a point outside the territory, rejected (``hors_territoire``).

Vintage (``SourceResult.vintage``): the stock's date where the file states it (an ISO date in
the file name or the zip member's name, e.g. ``StockEtablissement_utf8_2026-10-01.zip``; the
official names carry none), else the latest ``dateDernierTraitementEtablissement`` of the rows
read; ``notes["millesime"]`` says which.  Never the file's modification time.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import zipfile
from collections.abc import Iterable
from contextlib import ExitStack
from pathlib import Path
from typing import NamedTuple

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
from etl.plausibility import TOLERANCE_M, check_points
from etl.read_errors import explain_read_error
from etl.scratch import scratch_dir
from etl.sirene_files import (
    SireneFiles,
    TableFile,
    file_digest,
    find_sirene_files,
    open_table_file,
)
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
ET_OPTIONAL = ("libellePaysEtrangerEtablissement", "libelleCommuneEtablissement",
               "dateDernierTraitementEtablissement")
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
    # No commune code and not abroad: the row cannot be placed outside the territory by its
    # code, so it is read (kept or rejected with a reason), never silently "filtered".
    parts.append("(coalesce(nullif(trim(e.codeCommuneEtablissement), '[ND]'), '') = '' "
                 "AND coalesce(trim(e.libellePaysEtrangerEtablissement), '') = '')")
    return "(" + " OR ".join(parts) + ")"


def read_sirene(source: str | Path | SireneFiles, *, ess_sirens: Iterable[str] | None = None,
                departements: Iterable[str] | None = None,
                code_changes: pd.DataFrame | None = None, count_filtered: bool = True,
                hash_files: bool = True, workdir: str | Path | None = None,
                progress: bool = True, reference=None) -> SourceResult:
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
        département of their current commune (default: ``reference.code_changes``).
    count_filtered : bool
        Count the establishments filtered out (non-ESS or outside the territory): rows of
        the establishment file counted during the checksum pass (Parquet metadata; zips
        while extracting), minus the establishments read.
    hash_files : bool
        Record the SHA-256 of each input file.
    workdir : path, optional
        Where the scratch folder (zip extraction, DuckDB spill) is made: by default the data
        directory's temporary folder ``<data dir>/tmp`` (:mod:`etl.scratch`: a killed run's
        folder is removed by the next one).
    progress : bool
        Show a progress bar over the steps.
    reference : Reference, optional
        Reference geography (``communes``, ``departements``, ``code_changes``): each point is
        checked against the declared commune before it is taken (module docstring).

    Returns
    -------
    SourceResult
        ``read`` = establishments of ESS units in the territory = kept + rejected.
    """
    from tqdm.auto import tqdm

    files = source if isinstance(source, SireneFiles) else find_sirene_files(source)
    if code_changes is None and reference is not None:
        code_changes = getattr(reference, "code_changes", None)
    cleanup = ExitStack()  # the scratch folder and its lock (etl.scratch), removed at exit
    scratch = cleanup.enter_context(scratch_dir("sirene", workdir))
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
        if not progress:  # DuckDB's own bar, drawn on stderr even without a terminal
            con.execute("SET enable_progress_bar = false")
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
        with _DuckdbErrors([t for t in (ul, et, geo) if t is not None]):
            con.execute(f"""
                CREATE TABLE ul AS
                SELECT u.*, (u.siren IN (SELECT siren FROM ess_list)) AS liste_ess_france
                FROM {ul.select_sql(list(UL_COLUMNS), _PAD, line="_ligne_ul")} u
                WHERE u.economieSocialeSolidaireUniteLegale = 'O'
                   OR u.siren IN (SELECT siren FROM ess_list)""")
            steps.update(1)
            et_cols = ", ".join(f'e."{c}"' for c in (*ET_COLUMNS, "_ligne") if c != "siren")
            con.execute(f"""
                CREATE TABLE et AS
                SELECT e.siren, {et_cols}, u.* EXCLUDE (siren)
                FROM {et.select_sql(list(ET_COLUMNS), _PAD, line="_ligne")} e
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
            # in file order, so that "first" means the first line (duplicates)
            et_frame = _fetch(con, "SELECT * REPLACE (" + ", ".join(
                f"{_num(c)} AS {c}" for c in ("coordonneeLambertAbscisseEtablissement",
                                              "coordonneeLambertOrdonneeEtablissement")
            ) + ") FROM et ORDER BY _ligne, _ligne_ul")
            units_without = con.execute(
                "SELECT count(*) FROM ul WHERE siren NOT IN (SELECT siren FROM et)"
            ).fetchall()[0][0] if not departements else None
        steps.update(1)
        con.close()
        con = None
        vintage, vintage_note = _vintage(files, et_frame)
        structures, rejects, location = normalise_establishments(
            et_frame, geo_frame, reference=reference, code_changes=code_changes,
            territory=departements)
        steps.update(1)
        read = len(et_frame)
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
                   "geolocalisation_file": files.geolocalisation is not None,
                   "millesime": vintage_note, "localisation": location},
        )
        result.check_accounting()
        return result
    finally:
        if con is not None:
            con.close()
        steps.close()
        cleanup.close()


class _DuckdbErrors:
    """Turn DuckDB read errors into errors naming the file, the line and the cause
    (:func:`etl.read_errors.explain_read_error`)."""

    def __init__(self, tables: list[TableFile]) -> None:
        self.tables = tables

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        if exc is None or not isinstance(exc, duckdb.Error):
            return False
        what, why, fix, offenders = explain_read_error(str(exc), self.tables)
        raise DataValidationError(explain(what, why, fix), offenders=offenders) from exc


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


_DATE_IN_NAME = re.compile(r"(?<!\d)(20\d{2})[-_]?(0[1-9]|1[0-2])[-_]?(0[1-9]|[12]\d|3[01])(?!\d)")


def _stated_date(path: Path) -> tuple[dt.date, str] | None:
    """A date the file states in its name or its zip member's name (official names carry
    none; archived or renamed editions often do, e.g. ``StockEtablissement_utf8_2026-10-01``)."""
    names = [path.name]
    if path.suffix.lower() == ".zip" and zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            names += [Path(m).name for m in archive.namelist()]
    for name in names:
        match = _DATE_IN_NAME.search(name)
        if match:
            try:
                return dt.date(*map(int, match.groups())), name
            except ValueError:  # 2026-02-30
                continue
    return None


def _vintage(files: SireneFiles, et_frame: pd.DataFrame) -> tuple[str, dict]:
    """Vintage of the stock and where it comes from (never the file modification time):
    the date stated by the establishment file's name (or zip member), else the latest
    ``dateDernierTraitementEtablissement`` of the rows read."""
    stated = _stated_date(files.etablissement)
    if stated is not None:
        day, name = stated
        return (f"SIRENE stock {day.isoformat()}",
                {"date": day.isoformat(), "origine": f"date du fichier ({name})"})
    stamps = pd.to_datetime(nd_to_na(et_frame.get(
        "dateDernierTraitementEtablissement", pd.Series([], dtype="string"))).str.slice(0, 10),
        format="%Y-%m-%d", errors="coerce")
    if stamps.notna().any():
        day = stamps.max().date().isoformat()
        return (f"SIRENE stock (dernier traitement {day})",
                {"date": day, "origine": "dateDernierTraitementEtablissement maximale des "
                 "établissements lus"})
    return "SIRENE stock (date inconnue)", {"date": None, "origine": "inconnue"}


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


def _candidate_points(frame: pd.DataFrame, geo: pd.DataFrame) -> dict[str, np.ndarray]:
    """The two candidate points of each establishment (NaN = none): géolocalisé (``g_*``,
    with ``quality``) and stock Lambert (``l_*``), and whether each is a usable position."""
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
    return {"g_lon": g_lon, "g_lat": g_lat, "g_ok": g_ok, "quality": quality,
            "l_lon": l_lon, "l_lat": l_lat, "l_ok": valid_lonlat(l_lon, l_lat)}


def _plausible(frame: pd.DataFrame, mask: np.ndarray, lon: np.ndarray, lat: np.ndarray,
               reference, code_changes) -> tuple[np.ndarray, ...]:
    """(usable, implausible, unchecked, distance_m) of the points where ``mask``: usable =
    plausible for the declared commune (or the postcode's département), or unchecked (nothing
    declared to check against)."""
    n = len(frame)
    usable, bad, unchecked = np.zeros(n, bool), np.zeros(n, bool), np.zeros(n, bool)
    distance = np.full(n, np.nan)
    idx = np.flatnonzero(mask)
    if not len(idx):
        return usable, bad, unchecked, distance
    check = check_points(
        lon[idx], lat[idx], reference.communes,
        commune=nd_to_na(frame["codeCommuneEtablissement"]).iloc[idx],
        code_postal=nd_to_na(frame["codePostalEtablissement"]).iloc[idx],
        departements=getattr(reference, "departements", None), code_changes=code_changes)
    unchecked[idx] = check.status == "non_verifiable"
    usable[idx] = check.plausible | unchecked[idx]
    bad[idx] = check.status == "implausible"
    distance[idx] = check.distance_m
    return usable, bad, unchecked, distance


def _locate(frame: pd.DataFrame, geo: pd.DataFrame, reference=None,
            code_changes: pd.DataFrame | None = None) -> tuple[pd.DataFrame, dict]:
    """longitude, latitude, location_precision of each establishment (NaN = none: centroid
    of the declared commune, filled by the assignment) and the count of each case.

    Order: géolocalisé point, stock Lambert point, declared commune; a point is taken only
    when plausible for the declared commune (checked when ``reference`` is given)."""
    c = _candidate_points(frame, geo)
    g_ok, l_ok = c["g_ok"], c["l_ok"]
    if reference is None:
        use_g, use_l = g_ok, l_ok & ~g_ok
        g_bad = l_bad = np.zeros(len(frame), bool)
        g_dist = np.full(len(frame), np.nan)
        unchecked = use_g | use_l
    else:
        use_g, g_bad, g_free, g_dist = _plausible(frame, g_ok, c["g_lon"], c["g_lat"],
                                                  reference, code_changes)
        use_l, l_bad, l_free, _ = _plausible(frame, l_ok & ~use_g, c["l_lon"], c["l_lat"],
                                             reference, code_changes)
        unchecked = g_free | (l_free & ~use_g)
    lon = np.where(use_g, c["g_lon"], np.where(use_l, c["l_lon"], np.nan))
    lat = np.where(use_g, c["g_lat"], np.where(use_l, c["l_lat"], np.nan))
    precision = np.select(
        [use_g & (c["quality"] == "33"), use_g, use_l],
        ["commune_aleatoire", "geoloc_insee", "lambert_sirene"], default="centroide_commune")
    centroid = ~use_g & ~use_l
    far = g_dist[g_bad]
    counts = {
        "verification": "commune déclarée" if reference is not None else "aucune",
        "tolerance_m": TOLERANCE_M,
        "point_geolocalise": int(use_g.sum()),
        "geolocalise_implausible": int(g_bad.sum()),
        "point_lambert": int(use_l.sum()),
        "lambert_implausible": int(l_bad.sum()),
        "centroide_commune": int(centroid.sum()),
        "centroide_apres_point_implausible": int((centroid & (g_bad | l_bad)).sum()),
        "point_non_verifie": int(unchecked.sum()),
        "distance_geolocalise_implausible_km": (
            {"mediane": round(float(np.median(far)) / 1000, 1),
             "max": round(float(far.max()) / 1000, 1)} if len(far) else None),
    }
    located = pd.DataFrame({"longitude": lon, "latitude": lat,
                            "location_precision": pd.array(precision, dtype="string")},
                           index=frame.index)
    return located, counts


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


class Normalised(NamedTuple):
    """Result of :func:`normalise_establishments`."""

    structures: pd.DataFrame
    rejects: pd.DataFrame
    location: dict  # count of each location case (see _locate)


def normalise_establishments(et: pd.DataFrame, geo: pd.DataFrame | None = None, *,
                             reference=None, code_changes: pd.DataFrame | None = None,
                             territory: Iterable[str] | None = None) -> Normalised:
    """Joined establishment/unit rows (SIRENE column names) -> (structures, rejects, location).

    Pure function; rejects: ``siret_invalide``, ``siret_en_double`` (first line kept),
    ``unite_legale_en_double`` (the unit repeated in StockUniteLegale),
    ``localisation_absente`` (no commune code and no plausible coordinates),
    ``hors_territoire`` (no commune code, point outside the départements of ``territory``).
    ``reference`` (``communes``, ``departements``) turns on the plausibility check of the
    points (module docstring); ``code_changes`` maps old declared codes for that check.
    ``et`` may carry ``_ligne`` and ``_ligne_ul`` (line numbers in the establishment and unit
    files, from :func:`read_sirene`): rejects then carry their ``ligne`` and the structures
    their ``_ligne`` (for the assignment's rejects).
    """
    et = et.reset_index(drop=True)
    lines = _line_numbers(et, "_ligne")            # of StockEtablissement (NA: unknown)
    unit_lines = _line_numbers(et, "_ligne_ul")    # of StockUniteLegale
    et = et.drop(columns=["_ligne", "_ligne_ul"], errors="ignore")
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
    reasons = _duplicates(reasons, siret, siren, valid, lines, unit_lines)
    if reference is not None and code_changes is None:
        code_changes = getattr(reference, "code_changes", None)
    location, counts = _locate(et, geo, reference, code_changes)
    commune = nd_to_na(et["codeCommuneEtablissement"])
    no_place = commune.isna() & location["longitude"].isna()
    pays = nd_to_na(et["libellePaysEtrangerEtablissement"])
    detail = ("établissement à l'étranger (" + pays + ")").fillna(
        "ni code commune ni coordonnées plausibles")
    reasons = reasons.mask(no_place & reasons.isna(), "localisation_absente: " + detail)
    if territory:
        outside = _outside_territory(location, commune.isna().to_numpy() & ~no_place.to_numpy(),
                                     list(territory), reference)
        where = pd.Series(location["longitude"].round(5).astype("string") + ", "
                          + location["latitude"].round(5).astype("string"), index=et.index)
        why = (") hors des départements " + ", ".join(sorted(territory)) if reference is not None
               else ") non vérifiable sans géographie de référence")
        reasons = reasons.mask(pd.Series(outside, index=et.index) & reasons.isna(),
                               "hors_territoire: pas de code commune et point (" + where + why)
    rejected = reasons.notna().to_numpy()
    rejects = (make_rejects(SOURCE, et.loc[rejected, list(ET_COLUMNS)], reasons[rejected],
                            ligne=lines[rejected])
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
        "_ligne": lines[keep].reset_index(drop=True),
    })
    return Normalised(conform_structures(structures), rejects, counts)


def _line_numbers(et: pd.DataFrame, column: str) -> pd.Series:
    """Line numbers read with the rows (:meth:`etl.sirene_files.TableFile.select_sql`), as
    Int64; NA when the caller gave none (a frame built by hand)."""
    if column not in et:
        return pd.Series(pd.NA, index=et.index, dtype="Int64")
    return pd.to_numeric(et[column], errors="coerce").astype("Int64")


def _duplicates(reasons: pd.Series, siret: pd.Series, siren: pd.Series, valid: pd.Series,
                lines: pd.Series, unit_lines: pd.Series) -> pd.Series:
    """Reasons of the duplicated rows (the first line is kept):

    * ``unite_legale_en_double``: one establishment line joined to several rows of
      StockUniteLegale with its SIREN (the unit file repeats the unit, not the establishment
      file its establishment);
    * ``siret_en_double``: the establishment file holds the SIRET on several lines.
    """
    same_line = lines.duplicated(keep="first") & lines.notna()
    if same_line.any():
        units = unit_lines[siren.isin(siren[same_line])].groupby(siren).agg(
            lambda s: ", ".join(str(v) for v in sorted(set(s.dropna()))))
        where = siren.map(units).fillna("?").astype("string")
        reasons = reasons.mask(
            same_line & reasons.isna(),
            "unite_legale_en_double: le SIREN " + siren.fillna("") + " figure sur plusieurs "
            "lignes de StockUniteLegale (" + where + ") ; l'établissement " + siret.fillna("")
            + " est conservé une fois")
    duplicated = siret.duplicated(keep="first") & valid & ~same_line
    first = lines.groupby(siret).transform("first").astype("string")
    kept = (" (ligne " + first + " conservée)").fillna(" (première ligne conservée)")
    return reasons.mask(duplicated & reasons.isna(), "siret_en_double: " + siret + kept)


def _outside_territory(location: pd.DataFrame, candidates: np.ndarray, territory: list[str],
                       reference) -> np.ndarray:
    """Rows among ``candidates`` (no commune code, a point) whose point is not within the
    tolerance of any département of the territory (all of them when no reference is given:
    the point cannot be checked, so the row is not counted in the territory)."""
    outside = candidates.copy()
    if reference is None or not candidates.any():  # cannot be checked: not in the territory
        return outside
    idx = np.flatnonzero(candidates)
    lon = location["longitude"].to_numpy(dtype=float)[idx]
    lat = location["latitude"].to_numpy(dtype=float)[idx]
    inside = np.zeros(len(idx), bool)
    for dep in territory:
        inside |= check_points(lon, lat, reference.communes, departement=[dep] * len(idx),
                               departements=getattr(reference, "departements", None)).plausible
    outside[idx] = ~inside
    return outside
