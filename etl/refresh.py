"""The quarterly refresh job: sources -> one located, assigned table -> a snapshot.

Steps: read each requested source (SIRENE stock files, API Recherche d'entreprises, a list of
actors, a folder of lists with their mappings, the API of *Les emplois de l'inclusion*), check
each source's row accounting (read = kept + rejected), merge the sources on SIRET (one row per
establishment and structure type: the richest row is kept, ``sources``/``millesimes`` and the
perimeter flags are combined; rows of one source are never merged with each other - each
source already rejects its own duplicates and keeps rows it knows are distinct, such as ESAT
sites sharing their managing body's SIRET), assign communes by point in polygon
(:mod:`etl.assign`), then write the snapshot atomically (:mod:`observatory.storage`) with its
manifest, in the store of its series (``options.serie``).
"""

from __future__ import annotations

import json
import logging
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from etl.assign import assign_communes
from etl.normalise import check_identifiers
from observatory.errors import ConfigurationError, DataValidationError, explain
from observatory.schema import LOCATION_PRECISIONS, STRUCTURE_COLUMNS, SourceResult, empty_rejects

__all__ = ["RefreshOptions", "RefreshResult", "combine_sources", "run_refresh"]

log = logging.getLogger(__name__)
_PRECISION_RANK = {p: i for i, p in enumerate(LOCATION_PRECISIONS)}


@dataclass
class RefreshOptions:
    """Options of ``python -m observatory refresh`` (see the CLI for their meaning)."""

    quarter: str
    sirene_dir: Path | None = None
    from_api: bool = False
    actors_file: Path | None = None
    actors_mapping: Path | None = None
    ess_list: Path | None = None
    departement: str | None = None
    region: str | None = None
    replace: bool = False
    force: bool = False
    demo: bool = False
    serie: str = "ess"  # series of snapshots (observatory.vocabulary.SERIES)
    #: Folder of actor lists, each ``<name>.csv``/``.xlsx`` beside ``<name>.mapping.yaml``.
    actors_dir: Path | None = None
    #: SIAE from the API of Les emplois de l'inclusion (by département, addresses geocoded).
    from_inclusion_api: bool = False
    #: Geocode addresses with the BAN (off: rows without a plausible point of their own are
    #: placed at their commune; no network).
    geocode: bool = True


@dataclass
class RefreshResult:
    """What a refresh did."""

    quarter: str
    path: Path
    accounting: dict
    location_precision: dict
    duration_s: float
    territoire: str = "france"
    rows: dict = field(default_factory=dict)
    assignment: dict = field(default_factory=dict)

    def summary(self) -> str:
        """Closing summary, in English and French."""
        lines = [f"Snapshot {self.quarter} ({self.territoire}) -> {self.path}",
                 "Rows per source / lignes par source:"]
        for source, acc in self.accounting.items():
            lines.append(f"  {source}: read/lues {acc['read']}, kept/conservées {acc['kept']}, "
                         f"rejected/rejetées {acc['rejected']}"
                         + (f", filtered/filtrées (hors ESS ou hors territoire) "
                            f"{acc['filtered']}" if acc.get("filtered") else ""))
            for reason, count in sorted(acc.get("by_reason", {}).items()):
                lines.append(f"      {reason}: {count}")
        lines.append(f"Structures: {self.rows.get('structures')}, "
                     f"rejects/rejets: {self.rows.get('rejects')}, "
                     f"commune disagreements/désaccords de commune: "
                     f"{self.assignment.get('desaccords', 0)}")
        lines.append("Location precision / précision de localisation:")
        for name, count in self.location_precision.items():
            lines.append(f"  {name}: {count}")
        lines.append(f"Duration/durée: {self.duration_s:.1f} s")
        return "\n".join(lines)


def _code_version() -> str:
    from observatory import __version__
    from observatory.settings import REPO_ROOT

    try:
        done = subprocess.run(["git", "describe", "--always", "--dirty", "--tags"],
                              cwd=REPO_ROOT, capture_output=True, text=True, timeout=10,
                              check=False)
        if done.returncode == 0 and done.stdout.strip():
            return f"{__version__}+{done.stdout.strip()}"
    except (OSError, subprocess.SubprocessError):
        pass
    return __version__


def _by_reason(rejects: pd.DataFrame) -> dict[str, int]:
    if not len(rejects):
        return {}
    codes = rejects["raison"].astype("string").str.split(":", n=1).str[0].str.strip()
    return {str(k): int(v) for k, v in codes.value_counts().items()}


def _territory(options: RefreshOptions, reference) -> tuple[list[str] | None, str]:
    deps = reference.departements
    if options.departement and options.region:
        raise ConfigurationError(explain(
            "Both --departement and --region were given.", "A refresh covers one territory.",
            "Pass only one of them.",
        ))
    if options.departement:
        code = str(options.departement).upper().zfill(2)
        if code not in deps.index:
            raise ConfigurationError(explain(
                f"Unknown département {options.departement!r}.",
                "It must be a département code of the reference geography.",
                f"Use one of e.g. {', '.join(list(deps.index[:8]))}...",
            ))
        return [code], f"departement:{code}"
    if options.region:
        code = str(options.region).zfill(2)
        members = sorted(deps.index[deps["region"].astype("string") == code])
        if not members:
            raise ConfigurationError(explain(
                f"Unknown region {options.region!r}.", "It must be a region code (INSEE).",
                f"Use one of {', '.join(sorted(reference.regions.index))}.",
            ))
        return members, f"region:{code}"
    return None, "france"


def _richness(frame: pd.DataFrame) -> pd.Series:
    filled = frame[list(STRUCTURE_COLUMNS)].notna().sum(axis=1)
    rank = frame["location_precision"].map(_PRECISION_RANK).fillna(len(_PRECISION_RANK))
    return filled * 10 - rank.astype(float)


def combine_sources(results: list[SourceResult]) -> tuple[pd.DataFrame, dict[str, int]]:
    """Concatenate the sources and keep one row per SIRET and structure type, across sources.

    The richest row (most filled columns, then the most precise location) wins; ``sources``
    and ``millesimes`` are combined; perimeter flags are OR-ed.  Rows without SIRET (actors
    lists) are all kept, and so are rows of one source sharing a SIRET (module docstring).
    Returns the table and the number of rows merged per source.
    """
    frames = [r.structures.assign(_source=r.source) for r in results if len(r.structures)]
    merged_counts = {r.source: 0 for r in results}
    if not frames:
        return results[0].structures.iloc[0:0].copy() if results else pd.DataFrame(), merged_counts
    table = pd.concat(frames, ignore_index=True)
    has_siret = table["siret"].notna()
    keyed = table[has_siret].copy()
    kind = keyed["type_structure"].fillna("") if "type_structure" in keyed else ""
    keyed["_key"] = keyed["siret"] + "|" + kind
    dup = keyed["_key"].duplicated(keep=False) & (
        keyed.groupby("_key")["_source"].transform("nunique") > 1)
    if dup.any():
        group = keyed[dup].copy()
        group["_score"] = _richness(group)
        group = group.sort_values(["_key", "_score"], ascending=[True, False], kind="stable")
        agg = group.groupby("_key", sort=False).agg(
            sources=("sources", lambda s: "|".join(sorted({p for v in s.dropna()
                                                           for p in str(v).split("|")}))),
            millesimes=("millesimes", lambda s: json.dumps(
                {k: v for text in s.dropna() for k, v in json.loads(text).items()},
                sort_keys=True)),
            **{f: (f, lambda s: s.astype("boolean").any() if s.notna().any() else pd.NA)
               for f in ("flag_sirene_ess", "liste_ess_france", "esus", "siae")},
        )
        best = group.drop_duplicates("_key", keep="first").set_index("_key")
        losers = group[group.duplicated("_key", keep="first")]
        for source, count in losers["_source"].value_counts().items():
            merged_counts[source] = int(count)
        for column in agg.columns:
            best[column] = agg[column].reindex(best.index)
        best = best.reset_index().drop(columns="_score")
        keyed = pd.concat([keyed[~dup], best], ignore_index=True)
    out = pd.concat([keyed.drop(columns="_key"), table[~has_siret]], ignore_index=True
                    ).drop(columns="_source")
    for column in ("flag_sirene_ess", "liste_ess_france", "esus", "siae"):
        out[column] = out[column].astype("boolean")
    return out, merged_counts


def _read_sources(options: RefreshOptions, reference, departements, ess_sirens, progress
                  ) -> list[SourceResult]:
    results: list[SourceResult] = []
    if options.sirene_dir:
        from etl.sirene import read_sirene

        results.append(read_sirene(Path(options.sirene_dir), ess_sirens=ess_sirens,
                                   departements=departements,
                                   code_changes=reference.code_changes, progress=progress,
                                   reference=reference))
    if options.from_api:
        from etl.api_entreprises import fetch_territory

        if not departements:
            raise ConfigurationError(explain(
                "--from-api needs a territory.",
                "The API Recherche d'entreprises is queried territory by territory.",
                "Add --departement or --region.",
            ))
        key = "region" if options.region else "departement"
        value = options.region if options.region else departements
        parts = [fetch_territory(**{key: value}, progress=progress,
                                 communes=reference.communes, ess_france_sirens=ess_sirens)]
        results.append(_concat_results(parts))
    if options.actors_file:
        from etl.actors import load_actors

        results.append(load_actors(Path(options.actors_file), mapping=options.actors_mapping,
                                   geocode=options.geocode, reference=reference))
    if options.actors_dir:
        from etl.actors import load_actor_lists

        results += load_actor_lists(Path(options.actors_dir), geocode=options.geocode,
                                    reference=reference)
    if options.from_inclusion_api:
        from etl.inclusion_api import fetch_siaes

        results.append(fetch_siaes(departements or sorted(reference.departements.index),
                                   reference=reference, geocode=options.geocode,
                                   progress=progress))
    return results


def _concat_results(parts: list[SourceResult]) -> SourceResult:
    if len(parts) == 1:
        return parts[0]
    return SourceResult(
        source=parts[0].source,
        structures=pd.concat([p.structures for p in parts], ignore_index=True),
        rejects=pd.concat([p.rejects for p in parts], ignore_index=True),
        read=sum(p.read for p in parts), vintage=parts[0].vintage,
        filtered=sum(p.filtered for p in parts),
        files={k: v for p in parts for k, v in p.files.items()},
    )


def run_refresh(options: RefreshOptions, reference=None, progress: bool = True) -> RefreshResult:
    """Run a refresh and write its snapshot; see the module docstring.

    Raises
    ------
    ConfigurationError
        No source, bad quarter or territory.
    DataValidationError
        Unreadable input (nothing is written).
    SnapshotError
        Existing quarter without ``replace``, another refresh of the same series and quarter
        at work, a store that cannot be written, or a drop of more than 20 % without
        ``force``.
    """
    from observatory import storage

    storage.validate_quarter(options.quarter)
    # One writer per series and quarter for the whole run: a second one fails at once.
    with storage.writer_lock(options.quarter, serie=options.serie):
        return _run_refresh(options, reference, progress)


def _run_refresh(options: RefreshOptions, reference, progress: bool) -> RefreshResult:
    import geopandas as gpd

    from observatory import storage

    started = time.perf_counter()
    if not (options.sirene_dir or options.from_api or options.actors_file or options.actors_dir
            or options.from_inclusion_api):
        raise ConfigurationError(explain(
            "No source to refresh from.", "A refresh needs at least one source.",
            "Pass --sirene-dir DIR, --from-api (with --departement) or --actors-file FILE.",
        ))
    # before the heavy work: existing quarter, read-only or full store
    storage.check_writable(options.quarter, serie=options.serie, replace=options.replace)
    if reference is None:
        from geodata.reference import load_reference

        reference = load_reference()
    departements, territoire = _territory(options, reference)
    ess_sirens = None
    ess_list = None
    if options.ess_list:
        from etl.ess_france import read_ess_france_list

        ess_list = read_ess_france_list(Path(options.ess_list))
        ess_list.check_accounting()
        ess_sirens = ess_list.sirens()
    results = _read_sources(options, reference, departements, ess_sirens, progress)
    for result in results:
        result.check_accounting()
        if ess_sirens is not None and len(result.structures):
            in_list = result.structures["siren"].isin(ess_sirens).fillna(False)
            result.structures["liste_ess_france"] = (
                result.structures["liste_ess_france"].fillna(False) | in_list).astype("boolean")
    from tqdm.auto import tqdm

    steps = tqdm(total=3, desc="Assignation et écriture", unit="étape", disable=not progress)
    combined, merged = combine_sources(results)
    steps.update(1)
    assignment = assign_communes(combined, reference.communes, reference.code_changes)
    steps.update(1)
    structures = assignment.structures[list(STRUCTURE_COLUMNS)]
    check_identifiers(structures)  # a snapshot whose rows cannot be told apart is never written
    if len(structures) == 0 and not options.force:
        steps.close()
        raise DataValidationError(explain(
            f"The refresh of {options.quarter} ({territoire}) found no ESS establishment.",
            "An empty result usually means an empty or truncated input file, or a territory "
            "filter that matches nothing.",
            "Check the input files and the territory; run again with --force to store an "
            "empty snapshot anyway.",
        ))
    geo = gpd.GeoDataFrame(structures, geometry=gpd.points_from_xy(
        structures["longitude"], structures["latitude"]), crs="EPSG:4326")
    list_rejects = [ess_list.rejects.reindex(columns=empty_rejects().columns)] if ess_list else []
    rejects = pd.concat([empty_rejects()] + list_rejects + [r.rejects for r in results]
                        + [assignment.rejects], ignore_index=True)
    rejects = rejects.astype(empty_rejects().dtypes.to_dict())
    accounting = {r.source: {"read": r.read, "kept": len(r.structures),
                             "rejected": len(r.rejects), "by_reason": _by_reason(r.rejects),
                             "filtered": r.filtered, "merged": merged.get(r.source, 0)}
                  for r in results}
    accounting["assignation"] = {"read": len(combined), "kept": len(structures),
                                 "rejected": len(assignment.rejects),
                                 "by_reason": _by_reason(assignment.rejects)}
    precision = {p: int(n) for p, n in structures["location_precision"].value_counts().items()}
    sources = {r.source: {"vintage": r.vintage, "files": sorted(r.files),
                          "sha256": r.files, "notes": r.notes} for r in results}
    if ess_list is not None:
        name = Path(options.ess_list).name
        sources["ess_france"] = {"vintage": None, "files": [name],
                                 "sha256": {name: ess_list.sha256}}
        accounting["ess_france"] = {"read": ess_list.read, "kept": len(ess_list.entries),
                                    "rejected": len(ess_list.rejects),
                                    "by_reason": _by_reason(ess_list.rejects)}
    manifest = {
        "serie": options.serie, "quarter": options.quarter, "territoire": territoire,
        "demo": bool(options.demo),
        "sources": sources, "accounting": accounting, "location_precision": precision,
        "assignment": assignment.stats, "code_version": _code_version(),
        "cog": getattr(reference, "vintages", {}).get("cog"),
    }
    try:
        path = storage.write_snapshot(geo, rejects, manifest, replace=options.replace,
                                      force=options.force)
    finally:
        steps.update(1)
        steps.close()
    result = RefreshResult(options.quarter, path, accounting, precision,
                           time.perf_counter() - started, territoire,
                           {"structures": len(structures), "rejects": len(rejects)},
                           assignment.stats)
    log.info("Refresh done in %.1f s", result.duration_s)
    return result
