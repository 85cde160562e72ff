"""ESS establishments of a territory from the API Recherche d'entreprises (``GET /search``).

For a territory refresh without the SIRENE stock files.  Only filter queries are sent
(``est_ess=true`` + a territory filter, never a ``q``: a 9/14-digit ``q`` is a direct lookup
that ignores every filter).  Limits of the API (data-sources.md §2):

* 25 results a page, ``page x per_page <= 10 000`` and ``total_results`` capped at 10 000:
  a query whose ``total_results`` reaches the cap is **sliced** - a région by département,
  then by NAF section (``section_activite_principale`` A-U, a unit-level field), then by
  commune (``code_commune``, list from the reference geography) - until every slice is under
  the cap;
* ``limite_matching_etablissements`` (max 100) establishments per unit: a unit returning the
  maximum is completed with ``page_etablissements=2, 3...`` on the same page query;
* 7 requests/s per IP, 429 + ``Retry-After``: handled by :mod:`observatory.http` (rate from
  the catalog).

Geographic filters select *establishments*: we take ``matching_etablissements`` (not only the
siège), one row per SIRET, deduplicated across slices.  ``latitude``/``longitude`` are strings
(possibly null or redacted): parsed to float; rows without a usable point keep empty
coordinates with ``location_precision = "centroide_commune"`` (filled by the assignment).
Known limit: units without a NAF section are not reachable once a slice is split by section.

ESS perimeter (:func:`units_to_structures`): a unit is ESS when ``complements.est_ess`` is
true (the API's OR of SIRENE's ``economieSocialeSolidaireUniteLegale = 'O'`` and ESS France's
list) or its SIREN is in the ESS France list given.  Other units are **filtered out** with the
same accounting as the stock (``read`` = kept + rejected; ``filtered`` = establishments of the
non-ESS units, and such units without any establishment; ``notes["hors_ess"]`` gives the
count per reason).  Flags: ``liste_ess_france`` = SIREN in the list given (NA without a list);
``flag_sirene_ess`` is deduced from the OR where it can be - false when ``est_ess`` is false,
true when ``est_ess`` is true and the SIREN is not in the list given, NA otherwise.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from observatory.errors import DataValidationError, NetworkError, explain
from observatory.schema import SourceResult

__all__ = [
    "MATCHING_LIMIT",
    "PER_PAGE",
    "RESULT_CAP",
    "SECTIONS",
    "SOURCE",
    "Harvest",
    "Slice",
    "collect_units",
    "fetch_territory",
    "parse_search_payload",
    "units_to_structures",
]

log = logging.getLogger(__name__)

SOURCE = "api_recherche_entreprises"
PER_PAGE = 25
RESULT_CAP = 10_000
MATCHING_LIMIT = 100
SECTIONS = tuple("ABCDEFGHIJKLMNOPQRSTU")
_TERRITORY_KEYS = ("departement", "code_commune", "epci", "region")
ND_NAME = "[ND] diffusion partielle"
EI_NAME = "Entrepreneur individuel"


@dataclass(frozen=True)
class Slice:
    """One query fully paginated: its filters and ``total_results``."""

    filters: tuple[tuple[str, str], ...]
    total: int


@dataclass
class Harvest:
    """Units collected over the slices, the slices and the number of HTTP requests."""

    units: list[dict] = field(default_factory=list)
    slices: list[Slice] = field(default_factory=list)
    split: list[Slice] = field(default_factory=list)  # capped queries that were split
    requests: int = 0


# --------------------------------------------------------------------------- pure half
def parse_search_payload(payload: Any) -> dict:
    """Check a ``/search`` answer and return it (``results``, ``total_results``...).

    Raises
    ------
    NetworkError
        The body is not the documented envelope.
    """
    ok = (isinstance(payload, dict) and isinstance(payload.get("results"), list)
          and isinstance(payload.get("total_results"), int)
          and all(isinstance(r, dict) and r.get("siren") for r in payload["results"]))
    if not ok:
        raise NetworkError(explain(
            "The API Recherche d'entreprises answered a malformed /search body.",
            f"Expected results[] and total_results; got {str(payload)[:200]!r}.",
            "Retry later; if it persists, check the API documentation for a format change."))
    return payload


def _float(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return math.nan
    return number if math.isfinite(number) else math.nan


def _ess_flags(unit: dict, ess_france_sirens: set[str] | None
               ) -> tuple[str | None, bool | None, bool | None]:
    """(reason to filter the unit out or None, flag_sirene_ess, liste_ess_france)."""
    est_ess = (unit.get("complements") or {}).get("est_ess")
    in_list = None if ess_france_sirens is None else str(unit.get("siren")) in ess_france_sirens
    if est_ess is not True and not in_list:
        return ("est_ess_faux" if est_ess is False else "est_ess_absent"), \
            (False if est_ess is False else None), in_list
    if est_ess is False:  # in the list given, although the API says no
        return None, False, in_list
    return None, (True if in_list is False else None), in_list


def _rows(units: Iterable[dict], ess_france_sirens: set[str] | None
          ) -> tuple[list[dict], list[tuple[dict, str]], dict[str, int]]:
    rows, rejected, seen = [], [], set()
    filtered: dict[str, int] = {}
    for unit in units:
        comp = unit.get("complements") or {}
        out_reason, flag, in_list = _ess_flags(unit, ess_france_sirens)
        if out_reason is not None:
            new = {str(e.get("siret") or "") for e in unit.get("matching_etablissements") or []}
            new -= seen
            seen |= new
            count = len(new) if unit.get("matching_etablissements") else 1
            filtered[out_reason] = filtered.get(out_reason, 0) + count
            continue
        nature = unit.get("nature_juridique")
        person = nature == "1000" or comp.get("est_entrepreneur_individuel") is True
        partial = unit.get("statut_diffusion") == "P"
        hidden = person or partial
        name = (EI_NAME if person else ND_NAME if partial
                else unit.get("nom_raison_sociale") or unit.get("nom_complet"))
        establishments = unit.get("matching_etablissements") or []
        if not establishments:
            rejected.append(({"siren": unit.get("siren"), "nom": name},
                             "aucun_etablissement: aucun établissement dans le territoire"))
            continue
        siae = comp.get("est_siae")
        esus = comp.get("est_esus")
        for etab in establishments:
            siret = str(etab.get("siret") or "")
            if siret in seen:
                continue
            seen.add(siret)
            if len(siret) != 14 or not siret.isdigit():
                rejected.append((etab, f"siret_invalide: {siret!r}"))
                continue
            lon, lat = _float(etab.get("longitude")), _float(etab.get("latitude"))
            enseignes = etab.get("liste_enseignes") or []
            diffusion_p = etab.get("statut_diffusion_etablissement") == "P"
            rows.append({
                "siret": siret, "siren": siret[:9], "nic": siret[9:],
                "nom": name,
                "enseigne": None if hidden or diffusion_p else (
                    enseignes[0] if enseignes else etab.get("nom_commercial")),
                "sigle": None if hidden else unit.get("sigle"),
                "categorie_juridique": nature,
                "naf": etab.get("activite_principale") or unit.get("activite_principale"),
                "tranche_effectif": etab.get("tranche_effectif_salarie"),
                "annee_effectif": etab.get("annee_tranche_effectif_salarie"),
                "employeur": {"O": True, "N": False}.get(etab.get("caractere_employeur")),
                "date_creation": etab.get("date_creation"),
                "date_fermeture": etab.get("date_fermeture"),
                "etat_administratif": etab.get("etat_administratif"),
                "adresse": etab.get("adresse"),
                "code_postal": etab.get("code_postal"),
                "commune_declaree": etab.get("commune"),
                "longitude": lon, "latitude": lat,
                "flag_sirene_ess": flag, "liste_ess_france": in_list,
                "esus": esus if isinstance(esus, bool) else None,
                "siae": siae if isinstance(siae, bool) else None,
            })
    return rows, rejected, filtered


def units_to_structures(units: Iterable[dict], *, ess_france_sirens: set[str] | None = None,
                        fetched_on: str | None = None) -> SourceResult:
    """Turn ``/search`` results (units with ``matching_etablissements``) into structures.

    Pure function.  One row per distinct SIRET (the first seen wins); a unit without any
    matching establishment and an establishment without a valid SIRET are rejected; units
    outside the ESS are filtered out and counted (module docstring).

    Parameters
    ----------
    units
        ``results[]`` items of ``/search`` answers (possibly from several slices).
    ess_france_sirens
        SIRENs of ESS France's list, to fill ``liste_ess_france`` (NA when None) and to keep
        listed units that the API does not flag.
    fetched_on
        Vintage recorded in ``millesimes`` (ISO date; default today).
    """
    from etl.families import families_of, legal_form_labels, naf_sections
    from etl.normalise import conform_structures, make_rejects

    fetched_on = fetched_on or date.today().isoformat()
    rows, rejected, filtered = _rows(units, ess_france_sirens)
    frame = pd.DataFrame(rows, columns=None if rows else ["siret"])
    if rows:
        frame = frame.astype({c: "string" for c in frame.columns
                              if c not in ("longitude", "latitude")})
        cj = frame["categorie_juridique"]
        frame["famille_ess"] = families_of(cj)
        frame["categorie_juridique_libelle"] = legal_form_labels(cj)
        sections = naf_sections(frame["naf"])
        frame["naf_section"] = sections["naf_section"]
        frame["naf_libelle"] = sections["naf_libelle"]
        frame["annee_effectif"] = pd.to_numeric(frame["annee_effectif"], errors="coerce")
        for column in ("employeur", "flag_sirene_ess", "liste_ess_france", "esus", "siae"):
            frame[column] = frame[column].map({"True": True, "False": False}).astype("boolean")
        lon = frame["longitude"].to_numpy(dtype=float)
        lat = frame["latitude"].to_numpy(dtype=float)
        from etl.normalise import valid_lonlat

        good = valid_lonlat(lon, lat)
        frame["longitude"] = np.where(good, lon, np.nan)
        frame["latitude"] = np.where(good, lat, np.nan)
        frame["location_precision"] = np.where(good, "api_recherche", "centroide_commune")
        frame["sources"] = SOURCE
        frame["millesimes"] = json.dumps({SOURCE: fetched_on})
    structures = conform_structures(frame)
    if rejected:
        raw = pd.DataFrame([{"siret": r.get("siret"), **{"donnees": json.dumps(
            r, ensure_ascii=False, default=str)}} for r, _ in rejected])
        rejects = make_rejects(SOURCE, raw[["siret"]], pd.Series([why for _, why in rejected]))
        rejects["donnees"] = raw["donnees"].astype("string")
    else:
        from observatory.schema import empty_rejects

        rejects = empty_rejects()
    result = SourceResult(source=SOURCE, structures=structures, rejects=rejects,
                          read=len(structures) + len(rejects), vintage=fetched_on,
                          filtered=sum(filtered.values()), notes={"hors_ess": filtered})
    result.check_accounting()
    return result


# --------------------------------------------------------------------------- network half
class _Client:
    """Sends filter-only ``/search`` queries through :mod:`observatory.http`."""

    def __init__(self, base_url: str, per_page: int, cap: int, use_cache: bool) -> None:
        self.url = base_url.rstrip("/") + "/search"
        self.per_page, self.cap, self.use_cache = per_page, cap, use_cache
        self.requests = 0

    def search(self, filters: dict[str, str], page: int, page_etablissements: int = 1) -> dict:
        from observatory import http

        if "q" in filters:  # a SIREN/SIRET q would silently ignore every filter
            raise DataValidationError(explain(
                "A text query was given to the territory client.",
                "The client sends filter-only queries (a 9/14-digit q ignores filters).",
                "Remove 'q' from the filters."))
        if page * self.per_page > self.cap:
            raise DataValidationError(explain(
                f"Page {page} x {self.per_page} exceeds the API cap of {self.cap}.",
                "The API refuses it with HTTP 400.", "Slice the query further."))
        params = {"est_ess": "true", **filters, "page": page, "per_page": self.per_page,
                  "limite_matching_etablissements": MATCHING_LIMIT}
        if page_etablissements > 1:
            params["page_etablissements"] = page_etablissements
        self.requests += 1
        # validated before it may be cached: a malformed envelope is never replayed
        return http.fetch("GET", self.url,
                          lambda response: parse_search_payload(http.json_body(response)),
                          params=params, use_cache=self.use_cache)

    def page(self, filters: dict[str, str], page: int) -> dict:
        """One page, with every unit's matching establishments completed."""
        payload = self.search(filters, page)
        full = {r["siren"]: r for r in payload["results"]
                if len(r.get("matching_etablissements") or []) >= MATCHING_LIMIT}
        extra = 1
        while full:
            extra += 1
            more = self.search(filters, page, page_etablissements=extra)
            still = {}
            for result in more["results"]:
                unit = full.get(result["siren"])
                batch = result.get("matching_etablissements") or []
                if unit is not None and batch:
                    unit["matching_etablissements"] = unit["matching_etablissements"] + batch
                    if len(batch) >= MATCHING_LIMIT:
                        still[result["siren"]] = unit
            full = still
        return payload


def _communes_frame(communes: pd.DataFrame | None) -> pd.DataFrame:
    if communes is not None:
        return communes
    from geodata.reference import load_reference

    return load_reference().communes


class _SliceWalker:
    """Walks the tree of query slices: a slice under the cap is read page by page; a capped
    slice is split by département (for a région), then NAF section, then commune."""

    def __init__(self, client: _Client, communes: pd.DataFrame | None,
                 progress: Callable[[int], None] | None) -> None:
        self.client, self.progress = client, progress
        self.harvest = Harvest()
        self._communes = communes

    def inside(self, current: dict[str, str]) -> pd.DataFrame:
        """Reference communes inside the slice (loaded on first need only)."""
        if self._communes is None:
            self._communes = _communes_frame(None)
        table = self._communes
        mask = pd.Series(True, index=table.index)
        for key in ("departement", "region", "epci"):
            if key in current:
                mask &= table[key].astype("string").isin(current[key].split(",")).fillna(False)
        if "code_commune" in current:
            mask &= table.index.isin(current["code_commune"].split(","))
        return table[mask]

    def _take(self, results: list) -> None:
        self.harvest.units.extend(results)
        if self.progress:
            self.progress(len(results))

    def walk(self, current: dict[str, str]) -> None:
        first = self.client.page(current, 1)
        total, cap = first["total_results"], self.client.cap
        key = tuple(sorted(current.items()))
        if total < cap:
            self.harvest.slices.append(Slice(key, total))
            self._take(first["results"])
            for page in range(2, math.ceil(total / self.client.per_page) + 1):
                self._take(self.client.page(current, page)["results"])
            return
        self.harvest.split.append(Slice(key, total))
        for sub in self.sub_slices(current, total):
            self.walk(sub)

    def sub_slices(self, current: dict[str, str], total: int) -> list[dict[str, str]]:
        """The next split of a capped slice (région -> départements -> NAF sections ->
        communes); a commune x section slice cannot be split further."""
        if "region" in current and "departement" not in current and "code_commune" not in current:
            deps = sorted(self.inside(current)["departement"].dropna().astype(str).unique())
            return [{**current, "departement": dep} for dep in deps]
        if "section_activite_principale" not in current:
            return [{**current, "section_activite_principale": s} for s in SECTIONS]
        if "code_commune" not in current:
            codes = sorted(self.inside(current).index.astype(str))
            if not codes:
                raise DataValidationError(explain(
                    f"Slice {dict(current)} is capped at {total} results and no commune of "
                    "the reference geography lies in it.",
                    "Slicing by commune needs the communes of the territory.",
                    "Check the territory code, or pass communes= with the right table."))
            return [{**current, "code_commune": code} for code in codes]
        raise DataValidationError(explain(
            f"Slice {dict(current)} still has {total} results (cap {self.client.cap}).",
            "A commune x NAF section slice cannot be split further by the API filters.",
            "Use the SIRENE stock files for this territory (refresh --sirene-dir)."))


def collect_units(filters: dict[str, str], *, base_url: str | None = None,
                  communes: pd.DataFrame | None = None, per_page: int = PER_PAGE,
                  result_cap: int = RESULT_CAP, use_cache: bool = False,
                  progress: Callable[[int], None] | None = None) -> Harvest:
    """Query ``filters`` (``est_ess=true`` implied), slicing until every slice is under the cap.

    Parameters
    ----------
    filters
        Territory filter(s): ``departement``, ``code_commune``, ``epci`` or ``region``.
    base_url
        API root (default: catalog source ``api_recherche_entreprises``).
    communes
        Reference communes (index = code; ``departement``, ``region``, ``epci`` columns),
        needed only when a slice must be split by département or commune; loaded from the
        reference geography when None.
    per_page, result_cap
        25 and 10 000 on the real API.
    progress
        Called with the number of units of each fetched page.
    """
    if base_url is None:
        from observatory.catalog import get_source

        base_url = get_source(SOURCE).url
    walker = _SliceWalker(_Client(base_url, per_page, result_cap, use_cache), communes,
                          progress)
    walker.walk(dict(filters))
    walker.harvest.requests = walker.client.requests
    return walker.harvest


def fetch_territory(departement: str | None = None, commune: str | None = None,
                    epci: str | None = None, region: str | None = None, progress: bool = True,
                    *, communes: pd.DataFrame | None = None, base_url: str | None = None,
                    ess_france_sirens: set[str] | None = None, per_page: int = PER_PAGE,
                    result_cap: int = RESULT_CAP, use_cache: bool = False) -> SourceResult:
    """Every ESS establishment of a territory, from the API, in the structures schema.

    Give exactly one territory (comma lists allowed, as the API accepts them).

    Returns
    -------
    SourceResult
        ``source="api_recherche_entreprises"``, ``vintage`` = fetch date; ``read`` counts
        distinct establishments received plus units without establishment.

    Raises
    ------
    NetworkError
        400/500 after retries, or a malformed body.
    DataValidationError
        No or several territories, or a slice that cannot be brought under the cap.
    """
    given = {k: v for k, v in zip(_TERRITORY_KEYS, (departement, commune, epci, region),
                                  strict=True) if v}
    if len(given) != 1:
        raise DataValidationError(explain(
            f"fetch_territory needs exactly one territory; got {given or 'none'}.",
            "The API is queried for one département, commune, EPCI or région at a time.",
            "Pass e.g. departement='21'."))
    filters = {k: ",".join(str(x) for x in v) if isinstance(v, (list, tuple)) else str(v)
               for k, v in given.items()}
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(desc="API Recherche d'entreprises", unit="unité")
    try:
        harvest = collect_units(filters, base_url=base_url, communes=communes, per_page=per_page,
                                result_cap=result_cap, use_cache=use_cache,
                                progress=bar.update if bar is not None else None)
    finally:
        if bar is not None:
            bar.close()
    log.info("API: %d units over %d slices (%d split) in %d requests", len(harvest.units),
             len(harvest.slices), len(harvest.split), harvest.requests)
    result = units_to_structures(harvest.units, ess_france_sirens=ess_france_sirens)
    result.notes.update({"territoire": filters, "requetes": harvest.requests,
                         "tranches": len(harvest.slices),
                         "tranches_decoupees": len(harvest.split)})
    return result
