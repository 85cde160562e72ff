"""Live SIAE list from the public API of *Les emplois de l'inclusion* (GIP Plateforme de
l'inclusion): the refresh of the insertion layer's SIAE and GEIQ.

Format (``real_data/insertion/PROVENANCE.md``): ``GET {base}/api/v1/siaes/?departement=21``,
no login.  Django REST framework pagination: a JSON object ``{"count", "next", "previous",
"results": [...]}``; ``next`` (an absolute URL, or null) is followed until null.  Each result:
``id`` (uuid), ``cree_le``, ``mis_a_jour_le``, ``siret``, ``type`` (ACI, AI, EI, EITI, ETTI,
GEIQ, EA, EATT, OPCS), ``raison_sociale``, ``enseigne``, ``telephone``, ``courriel``,
``site_web``, ``description``, ``bloque_candidatures``, ``addresse_ligne_1``,
``addresse_ligne_2`` (sic, double d), ``code_postal``, ``ville``, ``departement``, ``postes``.
The base URL is the catalog source ``api_emplois_inclusion``; every request goes through
:mod:`observatory.http` (cache, retries, the host's rate limit from the catalog).

The answers are a list of actors: they go through the actors loader
(:func:`etl.actors.actors_from_table`), so the structures are checked, located (addresses
geocoded with the BAN, else the commune from its name) and accounted like every list: read =
kept + rejected, each reject with its reason.  Structures of types EA, EATT (entreprises
adaptées) and OPCS are not SIAE: they are **filtered out** before, counted by type in
``notes["hors_perimetre"]`` and in ``filtered`` (like the non-ESS units of SIRENE, they are not
part of ``read``).  Contact fields (``telephone``, ``courriel``), ``description`` and
``postes`` are not kept.  The API gives no legal form: the family is unknown ("autre") except
for AI (associations by law) and ``gestion_publique`` is NA.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any

import pandas as pd

from etl.actors import NOT_INSERTION_TYPES, TableInfo, actors_from_table
from observatory.errors import NetworkError, explain
from observatory.schema import SourceResult

__all__ = ["API_FIELDS", "MAPPING", "SOURCE", "fetch_siaes", "harvest", "parse_page",
           "siaes_to_table"]

log = logging.getLogger(__name__)

SOURCE = "api_emplois_inclusion"
PATH = "/api/v1/siaes/"
#: Result fields kept (contacts, description and job offers are not).
API_FIELDS = ("id", "siret", "type", "raison_sociale", "enseigne", "addresse_ligne_1",
              "addresse_ligne_2", "code_postal", "ville", "departement", "site_web",
              "cree_le", "mis_a_jour_le")
#: How the answers map to the actors loader's fields.
MAPPING = {
    "colonnes": {"identifiant": "id", "nom": "raison_sociale", "enseigne": "enseigne",
                 "siret": "siret", "type_structure": "type",
                 "adresse": ["addresse_ligne_1", "addresse_ligne_2"],
                 "code_postal": "code_postal", "commune": "ville",
                 "departement": "departement"},
    "options": {"source": SOURCE, "nom_prefere": "enseigne",
                "titre": "SIAE et GEIQ (API Les emplois de l'inclusion)",
                "producteur": "GIP Plateforme de l'inclusion"},
}
_MAX_PAGES = 10_000  # a guard against a service whose `next` never ends


# --------------------------------------------------------------------------- pure half
def parse_page(payload: Any, url: str) -> dict:
    """Check one answer of ``/api/v1/siaes/`` and return it.

    Raises
    ------
    NetworkError
        The body is not the documented envelope (``count``, ``next``, ``results[]`` of
        objects with an ``id`` and a ``type``).
    """
    ok = (isinstance(payload, dict) and isinstance(payload.get("results"), list)
          and isinstance(payload.get("count"), int)
          and (payload.get("next") is None or isinstance(payload.get("next"), str))
          and all(isinstance(r, dict) and r.get("id") and r.get("type")
                  for r in payload["results"]))
    if not ok:
        raise NetworkError(explain(
            f"Les emplois de l'inclusion answered a malformed body for {url}.",
            f"Expected count, next and results[] with id and type; got {str(payload)[:200]!r}.",
            "Retry later; if it persists, compare with the format in "
            "real_data/insertion/PROVENANCE.md (the API may have changed)."), url=url)
    return payload


def siaes_to_table(results: list[dict]) -> tuple[pd.DataFrame, dict[str, int]]:
    """API results -> the text table the actors loader reads (``_ligne`` = position in the
    harvest, from 1), and the count of results filtered out per type (EA, EATT, OPCS)."""
    kinds = [str(r.get("type") or "").strip().upper() for r in results]
    filtered: dict[str, int] = {}
    rows = []
    for position, (result, kind) in enumerate(zip(results, kinds, strict=True), start=1):
        if kind in NOT_INSERTION_TYPES:
            filtered[kind] = filtered.get(kind, 0) + 1
            continue
        rows.append({**{f: _text(result.get(f)) for f in API_FIELDS}, "_ligne": position})
    table = pd.DataFrame(rows, columns=[*API_FIELDS, "_ligne"])
    table[list(API_FIELDS)] = table[list(API_FIELDS)].astype("string")
    table["_ligne"] = table["_ligne"].astype("Int64")
    return table, filtered


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


# --------------------------------------------------------------------------- network half
def _pages(url: str, params: dict, use_cache: bool) -> Iterator[dict]:
    """Every page of one query, following ``next`` until null."""
    from observatory import http

    seen = set()
    page = parse_page(http.get_json(url, params=params, use_cache=use_cache), url)
    for _ in range(_MAX_PAGES):
        yield page
        following = page.get("next")
        if not following:
            return
        if following in seen:
            raise NetworkError(explain(
                f"Les emplois de l'inclusion loops on page {following}.",
                "Its `next` link points back to a page already read.",
                "Retry later; the listing may be changing during the harvest."), url=following)
        seen.add(following)
        page = parse_page(http.get_json(following, use_cache=use_cache), following)
    raise NetworkError(explain(
        f"Les emplois de l'inclusion gave more than {_MAX_PAGES} pages for {url} {params}.",
        "A département has a few hundred structures: the pagination does not end.",
        "Retry later, or report the problem to the service."), url=url)


def harvest(departements: Iterable[str], *, base_url: str | None = None,
            use_cache: bool = True, progress: bool = False) -> tuple[list[dict], dict]:
    """All results for the départements (in order), and facts about the harvest."""
    from tqdm.auto import tqdm

    from observatory.catalog import get_source

    root = (base_url or get_source("api_emplois_inclusion").url).rstrip("/")
    url = root + PATH
    results: list[dict] = []
    facts: dict = {"requetes": 0, "par_departement": {}}
    deps = [str(d).strip().upper() for d in departements]
    for dep in tqdm(deps, desc="Les emplois de l'inclusion", unit="dép.", disable=not progress):
        count = None
        got = 0
        for page in _pages(url, {"departement": dep}, use_cache):
            facts["requetes"] += 1
            count = page["count"] if count is None else count
            results += page["results"]
            got += len(page["results"])
        if count is not None and got != count:
            log.warning("Département %s: %d results announced, %d received", dep, count, got)
        facts["par_departement"][dep] = got
    return results, facts


def fetch_siaes(departements: Iterable[str], *, reference=None, communes=None,
                geocode: bool = True, base_url: str | None = None, geocoder_url: str | None = None,
                use_cache: bool = True, progress: bool = False) -> SourceResult:
    """Fetch the SIAE and GEIQ of the départements and return them as one source.

    Parameters
    ----------
    departements
        Département codes ("21", "2A", "974"): one paginated query each.
    reference, communes
        Reference geography, to find communes from names and check places (see
        :func:`etl.actors.load_actors`).
    geocode
        Geocode the addresses with the BAN (off: each structure at its commune).
    base_url, geocoder_url
        Service roots (default: catalog sources ``api_emplois_inclusion``, ``ban_geocoder``).

    Returns
    -------
    SourceResult
        ``source="api_emplois_inclusion"``, vintage = the day of the harvest; ``filtered`` and
        ``notes["hors_perimetre"]`` count the EA, EATT and OPCS left out.
    """
    results, facts = harvest(departements, base_url=base_url, use_cache=use_cache,
                             progress=progress)
    table, filtered = siaes_to_table(results)
    body = json.dumps(results, sort_keys=True, ensure_ascii=False).encode("utf-8")
    info = TableInfo("json", "utf-8", None, hashlib.sha256(body).hexdigest())
    fetched_on = date.today().isoformat()
    mapping = {**MAPPING, "options": {**MAPPING["options"], "millesime": fetched_on}}
    result = actors_from_table(table, info, mapping, name=f"{PATH}?departement=...",
                               vintage=fetched_on, geocode=geocode, communes=communes,
                               reference=reference, geocoder_url=geocoder_url,
                               progress=progress)
    result.filtered = sum(filtered.values())
    updated = pd.to_datetime(table["mis_a_jour_le"], errors="coerce", utc=True)
    result.notes.update({
        "hors_perimetre": filtered, **facts,
        "fiches_mises_a_jour": ({"min": updated.min().date().isoformat(),
                                 "max": updated.max().date().isoformat()}
                                if updated.notna().any() else None),
        "structures_recues": int(len(results)),
    })
    log.info("Les emplois de l'inclusion: %d results, %d filtered (%s), %d kept, %d rejected",
             len(results), result.filtered, filtered, len(result.structures),
             len(result.rejects))
    return result
