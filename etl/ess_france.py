"""ESS France's "Liste des entreprises de l'ESS" (art. 6 of law 2014-856).

One row per enterprise (SIREN) with its name, legal family ("Associations"...), postcode,
commune label, département and région of its establishment.  Published by ESS France on
data.gouv.fr as a CSV (catalog source ``ess_france_list``) and queryable through the data.gouv
tabular API (``data[]``, ``links.next``, ``meta``).  SIRENs lose their leading zeros in some
exports: they are zero-padded to 9 characters (``zfill(9)``, as the official pipeline does).

The list is SIREN-level (no SIRET): it does not produce structures by itself.  The refresh
uses it to include SIRENE units absent from the SIRENE flag and to set ``liste_ess_france``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from observatory.errors import DataValidationError, NetworkError, explain
from observatory.schema import REJECT_COLUMNS, empty_rejects

__all__ = [
    "COLUMNS",
    "SOURCE",
    "EssFranceList",
    "fetch_ess_france_list_tabular",
    "load_ess_france_list",
    "normalise_ess_france_rows",
    "parse_tabular_page",
    "read_ess_france_list",
]

log = logging.getLogger(__name__)

SOURCE = "ess_france"
#: Bounds of the list's CSV (about one million rows, ~150 MB in 2026).
MAX_LIST_BYTES = 2 * 2**30
MAX_LIST_ROWS = 5_000_000
#: Official column -> our name.
COLUMNS = {
    "SIREN": "siren",
    "Nom ou raison sociale de l'entreprise": "nom",
    "Famille juridique de l'entreprise": "famille_juridique",
    "Code postal": "code_postal",
    "Libellé de la commune de l'établissement": "commune_libelle",
    "Code du département de l'établissement": "departement_code",
    "Département de l'établissement": "departement_libelle",
    "Région de l'établissement": "region_libelle",
}
_FAMILY = {  # ESS France "Famille juridique" -> our famille_ess
    "associations": "association", "association": "association",
    "cooperatives": "cooperative", "cooperative": "cooperative",
    "mutuelles": "mutuelle", "mutuelle": "mutuelle",
    "fondations": "fondation", "fondation": "fondation",
    "societes commerciales de l ess": "societe_commerciale_ess",
    "entreprises commerciales de l ess": "societe_commerciale_ess",
    "societes commerciales": "societe_commerciale_ess",
}


@dataclass
class EssFranceList:
    """Entries of the list, its rejects and accounting (``read == len(entries)+len(rejects)``)."""

    entries: pd.DataFrame
    rejects: pd.DataFrame
    read: int
    encoding: str | None = None
    separator: str | None = None
    sha256: str | None = None

    def sirens(self) -> set[str]:
        """The valid SIRENs of the list."""
        return set(self.entries["siren"].dropna())

    def check_accounting(self) -> None:
        """Raise ``ValueError`` if a row was lost."""
        if self.read != len(self.entries) + len(self.rejects):
            raise ValueError(f"ESS France list: read {self.read} != kept {len(self.entries)} "
                             f"+ rejected {len(self.rejects)}")


def normalise_ess_france_rows(frame: pd.DataFrame, lines: pd.Series | None = None
                              ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rename, clean and validate rows of the list (pure).

    Parameters
    ----------
    frame
        Rows with the official headers (matched accent- and case-insensitively).
    lines
        Row reference of each row in the source (file line or API rank).

    Returns
    -------
    entries : DataFrame
        ``siren`` (9 digits), ``nom``, ``famille_juridique``, ``famille_ess``, ``code_postal``,
        ``commune_libelle``, ``departement_code``, ``departement_libelle``,
        ``region_libelle``, ``ligne``.
    rejects : DataFrame
        Rows with an invalid or duplicated SIREN (:data:`observatory.schema.REJECT_COLUMNS`).
    """
    from etl.actors import normalise_header
    from etl.normalise import make_rejects, map_values

    wanted = {normalise_header(k): v for k, v in COLUMNS.items()}
    renamed = {c: wanted[normalise_header(c)] for c in frame.columns
               if normalise_header(c) in wanted}
    if "siren" not in renamed.values():
        raise DataValidationError(explain(
            "The ESS France list has no 'SIREN' column.",
            f"Its headers are {list(frame.columns)}.",
            "Download the CSV resource 'Liste des entreprises de l'ESS' again "
            "(catalog source ess_france_list)."), offenders=list(frame.columns))
    if lines is None:
        lines = pd.Series(range(1, len(frame) + 1), index=frame.index)
    data = frame.rename(columns=renamed)[list(dict.fromkeys(renamed.values()))]
    data = data.astype("string")
    for column in data.columns:
        data[column] = data[column].str.strip().replace("", pd.NA)
    for column in COLUMNS.values():
        if column not in data:
            data[column] = pd.Series(pd.NA, index=data.index, dtype="string")
    siren = data["siren"].str.replace(r"\.0$", "", regex=True).str.replace(r"\s", "", regex=True)
    siren = siren.str.zfill(9)
    valid = siren.str.fullmatch(r"\d{9}").fillna(False) & (siren != "000000000").fillna(False)
    reason = pd.Series(pd.NA, index=data.index, dtype="string")
    reason = reason.mask(~valid, "siren_invalide: " + data["siren"].fillna("(vide)"))
    dup = valid & siren.duplicated(keep="first")
    reason = reason.mask(reason.isna() & dup, "siren_duplique")
    kept = reason.isna()
    entries = data[kept].copy()
    entries["siren"] = siren[kept]
    postcode = entries["code_postal"].str.replace(r"\.0$", "", regex=True)
    entries["code_postal"] = postcode.where(~postcode.str.fullmatch(r"\d{4}").fillna(False),
                                            postcode.str.zfill(5))
    key = map_values(entries["famille_juridique"], normalise_header)
    entries["famille_ess"] = key.map(_FAMILY).astype("string").fillna("autre")
    entries["ligne"] = lines[kept].astype("Int64")
    order = ["siren", "nom", "famille_juridique", "famille_ess", "code_postal",
             "commune_libelle", "departement_code", "departement_libelle", "region_libelle",
             "ligne"]
    rejects = make_rejects(SOURCE, frame[~kept].astype("string"), reason[~kept],
                           ligne=lines[~kept], siret_column="\0") if (~kept).any() \
        else empty_rejects()
    return entries[order].reset_index(drop=True), rejects[list(REJECT_COLUMNS)]


def read_ess_france_list(path: str | Path) -> EssFranceList:
    """Read the list's CSV (``,`` or ``;``; UTF-8 with/without BOM, or Windows-1252)."""
    from etl.tables import read_table

    # about one million rows (data-sources.md §3): bounds above the actors lists' ones
    raw, info = read_table(path, max_bytes=MAX_LIST_BYTES, max_rows=MAX_LIST_ROWS)
    lines = raw.pop("_ligne")
    raw = raw.drop(columns="_formules", errors="ignore")  # a CSV has none
    entries, rejects = normalise_ess_france_rows(raw, lines)
    result = EssFranceList(entries, rejects, read=len(raw), encoding=info.encoding,
                           separator=info.separator, sha256=info.sha256)
    result.check_accounting()
    log.info("ESS France list %s: %d SIREN kept, %d rejected (%s, %r)", Path(path).name,
             len(entries), len(rejects), info.encoding, info.separator)
    return result


def load_ess_france_list(path: str | Path) -> pd.DataFrame:
    """Valid entries of the list (see :func:`read_ess_france_list` for rejects/accounting).

    ``frame.attrs`` carries ``read``, ``rejected``, ``encoding`` and ``sha256``.
    """
    result = read_ess_france_list(path)
    entries = result.entries
    entries.attrs.update(read=result.read, rejected=len(result.rejects),
                         encoding=result.encoding, sha256=result.sha256)
    return entries


# --------------------------------------------------------------------------- tabular API
def parse_tabular_page(payload: Any) -> tuple[list[dict], str | None, int | None]:
    """``(rows, next_url, total)`` of one tabular-API page; raise on a malformed body."""
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), list):
        raise NetworkError(explain(
            "The data.gouv tabular API answered a body without a 'data' list.",
            f"Start of the body: {str(payload)[:200]!r}.",
            "Check the resource id of ess_france_list in the catalog; retry later."))
    links = payload.get("links") or {}
    meta = payload.get("meta") or {}
    total = meta.get("total")
    return payload["data"], links.get("next"), int(total) if total is not None else None


def _tabular_url(base_url: str | None) -> str:
    if base_url is not None:
        return base_url
    from observatory.catalog import get_source

    return get_source("ess_france_list_tabular").url


def fetch_ess_france_list_tabular(siren: str | None = None, *, base_url: str | None = None,
                                  page_size: int = 200, max_pages: int | None = None,
                                  use_cache: bool = False) -> EssFranceList:
    """Fetch the list (or one SIREN) through the data.gouv tabular API.

    Parameters
    ----------
    siren
        Only this SIREN (filter ``SIREN__exact``); the whole list when None.
    base_url
        ``.../api/resources/<id>/data/`` (default: catalog source ``ess_france_list_tabular``).
    page_size
        Rows per page (the API pages with ``page``/``page_size`` and gives ``links.next``).
    max_pages
        Stop after this many pages (tests, previews).

    Returns
    -------
    EssFranceList
        Normalised entries, rejects and accounting (``ligne`` = rank in the answer).
    """
    from observatory import http

    url = _tabular_url(base_url)
    params: dict[str, Any] | None = {"page": 1, "page_size": page_size}
    if siren is not None:
        # The published CSV lost the leading zeros (hence zfill(9) on reading): query without.
        params["SIREN__exact"] = str(siren).strip().lstrip("0") or "0"
    rows: list[dict] = []
    pages = 0
    total = None
    while url:
        data, next_url, total = http.fetch(  # checked before it may be cached
            "GET", url, lambda response: parse_tabular_page(http.json_body(response)),
            params=params, use_cache=use_cache)
        rows.extend(data)
        pages += 1
        if max_pages is not None and pages >= max_pages:
            break
        url, params = next_url, None  # links.next carries every parameter
    if total is not None and max_pages is None and len(rows) != total:
        raise NetworkError(explain(
            f"The tabular API announced {total} rows but served {len(rows)}.",
            "Pages were lost or the resource changed during the download.",
            "Run again."))
    frame = pd.DataFrame(rows, columns=list(rows[0]) if rows else list(COLUMNS))
    entries, rejects = normalise_ess_france_rows(frame.astype("string"))
    result = EssFranceList(entries, rejects, read=len(frame))
    result.check_accounting()
    return result
