"""The official build of the reference geography: ADMIN EXPRESS COG + INSEE populations
légales + DGCL, instead of the embedded registry packages (``geo build --admin-express``).
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from geodata.formats import fold_text, year_in
from observatory.errors import DataValidationError, explain

__all__ = ["build_reference_from_official"]

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------- official build

_DELEGUEE_NATURES = {"commune deleguee": "commune_deleguee",
                     "commune associee": "commune_associee"}


def _official_code_changes(ae, current: pd.Index) -> pd.DataFrame:
    """Old code -> current commune from the ADMIN EXPRESS classes COMMUNE_ASSOCIEE_OU_DELEGUEE
    and ARRONDISSEMENT_MUNICIPAL (natures as in :mod:`geodata.codes`)."""
    frames = []
    if ae.communes_deleguees is not None and len(ae.communes_deleguees):
        cad = ae.communes_deleguees
        nature = cad["nature"].map(lambda v: _DELEGUEE_NATURES.get(fold_text(v))
                                   if pd.notna(v) else None)
        frames.append(pd.DataFrame({"ancien_code": cad.index, "code": cad["commune"].values,
                                    "nature": nature.fillna("commune_deleguee").values}))
    if ae.arrondissements is not None and len(ae.arrondissements):
        arm = ae.arrondissements
        frames.append(pd.DataFrame({"ancien_code": arm.index, "code": arm["commune"].values,
                                    "nature": "arrondissement_municipal"}))
    if not frames:
        return pd.DataFrame(columns=["ancien_code", "code", "nature"], dtype="string")
    out = pd.concat(frames, ignore_index=True).astype("string")
    out = out[~out["ancien_code"].isin(current) & out["code"].isin(current)]
    return out.drop_duplicates("ancien_code").reset_index(drop=True)


def _sha256(path: Path) -> str | None:
    import hashlib

    if not path.is_file():
        return None
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def build_reference_from_official(admin_express: str | Path, *,
                                  populations: str | Path | None = None,
                                  dgcl: str | Path | None = None,
                                  directory: Path | None = None,
                                  cog: int | None = None,
                                  population_millesime: int | None = None,
                                  progress: bool = True) -> Path:
    """Build the reference geography cache from the official files.

    ADMIN EXPRESS COG (or COG CARTO) gives the communes, their geometry, département,
    région, EPCI and names; the INSEE populations légales (``donnees_communes.csv`` /
    ``ensemble.zip``), when given, replace the population; the DGCL composition
    (``epcicom<year>.xlsx``), when given, replaces the EPCI membership and names and is
    checked against the communes.  The cache is written by
    :func:`geodata.build.assemble_reference` (validation, dissolved levels, display layers,
    atomic write), exactly as for the embedded default.

    Parameters
    ----------
    admin_express : str or Path
        ``.gpkg`` or extracted shapefile folder (see :mod:`geodata.admin_express`).
    populations, dgcl : str or Path, optional
        INSEE and DGCL files.
    directory : Path, optional
        Target folder (default ``settings.reference_dir``).
    cog : int, optional
        COG year of the boundaries; guessed from the ADMIN EXPRESS edition otherwise.
    population_millesime : int, optional
        Millésime of the populations (e.g. 2023); guessed from the file name otherwise.
    progress : bool
        Log the steps.

    Returns
    -------
    Path
        The reference folder.

    Raises
    ------
    DataValidationError
        A loader's check, or the reference validation, failed (offenders listed).
    """
    from geodata.admin_express import read_admin_express
    from geodata.build import assemble_reference

    admin_express = Path(admin_express).expanduser()
    ae = read_admin_express(admin_express)
    communes = ae.communes[["nom", "departement", "region", "epci", "population",
                            "geometry"]].copy()
    communes["zone"] = communes["departement"].str.startswith("97").map(
        {True: "drom", False: "metro"}).astype("string")
    cog = cog or year_in(ae.edition or "") or year_in(admin_express)
    provenance: dict[str, dict] = {"admin_express": {
        "source": "IGN ADMIN EXPRESS", "edition": ae.edition, "path": str(admin_express),
        "crs_source": ae.source_crs.get("COMMUNE"), "sha256": _sha256(admin_express),
        "licence": "Licence Ouverte / Etalab 2.0", "attribution": "IGN – ADMIN EXPRESS"}}
    population_label = f"population municipale (ADMIN EXPRESS {ae.edition or ''})".strip()
    population_year = None
    if populations is not None:
        from geodata.populations import read_populations

        path = Path(populations).expanduser()
        pops = read_populations(path, millesime=population_millesime)
        pops = pops[pops["commune_parente"].isna()]
        joined = communes[[]].join(pops[["population"]], how="left", validate="1:1")
        missing = joined.index[joined["population"].isna()]
        if len(missing):
            log.warning("%d communes are not in the populations légales (kept the ADMIN "
                        "EXPRESS figure): %s", len(missing), ", ".join(missing[:20]))
        communes["population"] = joined["population"].fillna(communes["population"])
        extra = pops.index.difference(communes.index)
        if len(extra):
            log.warning("%d codes of the populations légales are not ADMIN EXPRESS communes "
                        "(other COG vintage?): %s", len(extra), ", ".join(extra[:20]))
        population_year = int(pops["millesime"].dropna().iloc[0]) \
            if pops["millesime"].notna().any() else None
        population_label = (f"population municipale {population_year} (INSEE populations "
                            f"légales)" if population_year else
                            "population municipale (INSEE populations légales)")
        provenance["populations_legales"] = {
            "source": "INSEE populations légales", "path": str(path),
            "sha256": _sha256(path), "millesime": population_year,
            "communes_absentes": len(missing), "licence": "Licence Ouverte / Etalab 2.0"}
    members = None
    epci_label = f"IGN ADMIN EXPRESS {ae.edition or ''}".strip()
    if dgcl is not None:
        from geodata.dgcl import epci_table, read_epci_composition

        path = Path(dgcl).expanduser()
        composition = read_epci_composition(path)
        members = composition[["epci", "commune"]]
        epci_of = members.set_index("commune")["epci"]
        changed = communes["epci"].fillna("") != epci_of.reindex(communes.index).fillna("")
        if changed.any():
            log.info("%d communes change EPCI from ADMIN EXPRESS to the DGCL list: %s",
                     int(changed.sum()), ", ".join(communes.index[changed][:20]))
        communes["epci"] = epci_of.reindex(communes.index).astype("string")
        epci_names = epci_table(composition)[["nom", "type"]]
        year = composition["millesime"].dropna()
        epci_label = f"DGCL {int(year.iloc[0])}" if len(year) else "DGCL"
        provenance["dgcl_epci"] = {"source": "DGCL composition des EPCI à fiscalité propre",
                                   "path": str(path), "sha256": _sha256(path),
                                   "licence": "Licence Ouverte / Etalab 2.0"}
    elif ae.epci is not None:
        epci_names = ae.epci.loc[ae.epci["type"].fillna("") != "EPT", ["nom", "type"]]
    else:
        raise DataValidationError(explain(
            "No EPCI names: the ADMIN EXPRESS delivery has no EPCI class and no DGCL file "
            "was given.", "Every EPCI of the reference needs a name and a type.",
            "Pass the DGCL epcicom<year>.xlsx (dgcl=...).",
        ))
    if ae.departements is None or ae.regions is None:
        raise DataValidationError(explain(
            "The ADMIN EXPRESS delivery lacks the DEPARTEMENT or REGION class.",
            "Their names are needed for the reference.",
            "Use the complete delivery (all classes).",
        ), offenders=[name for name, layer in (("DEPARTEMENT", ae.departements),
                                               ("REGION", ae.regions)) if layer is None])
    vintages = {
        "cog": f"COG {cog}" if cog else "COG (année inconnue)",
        "geometrie": f"IGN {ae.edition}" if ae.edition else "IGN ADMIN EXPRESS",
        "epci": epci_label,
        "population": population_year,
        "population_libelle": population_label,
    }
    return assemble_reference(communes, epci_names, ae.departements["nom"],
                              ae.regions["nom"], _official_code_changes(ae, communes.index),
                              vintages, provenance, directory, epci_members=members,
                              progress=progress)
