"""Batch geocoding of addresses with the BAN, served by the IGN Géoplateforme.

The geocoder's batch endpoint ``POST <ban_geocoder>/search/csv`` takes a CSV file (multipart
part ``data``), the columns to concatenate into the query (``columns=``, repeated) and optional
``postcode=`` / ``citycode=`` columns used as filters.  It answers the same CSV with result
columns appended: ``longitude, latitude, result_score, result_score_next, result_label,
result_type, result_id, ..., result_citycode, ..., result_status`` (``ok``, ``not-found``,
``skipped``; older api-adresse also ``error``).  Uploads are capped at 50 MB: we split the
input into files under :data:`DEFAULT_MAX_BYTES`.

The module is split in two halves (style guide §5 item 2):

* pure functions, testable without any network: :func:`build_csv_chunks` (dedupe + split),
  :func:`parse_geocode_csv` (answer -> frame), :func:`accept_results` (quality rule);
* one network function, :func:`_post_csv`, that talks to the geocoder through
  :mod:`observatory.http` (retries, 429 ``Retry-After``, rate limit from the catalog); each
  answer is parsed and row-checked *before* the HTTP cache keeps it, so that an error page
  served with HTTP 200 is never replayed.

Acceptance rule (:func:`accept_results`), as practitioners use it:

1. ``result_status`` must be ``ok`` (else ``adresse_non_trouvee``);
2. ``result_score >= min_score`` (0.8 by default, else ``score_insuffisant``);
3. ``result_type`` must be below the commune level (a ``municipality`` hit only locates the
   commune: ``niveau_commune``; the caller may use its citycode for a centroid);
4. the citycode must be consistent with what the source gave (``commune_incoherente``):
   the expected commune code equals ``result_citycode`` or ``result_oldcitycode`` (a merged
   commune), arrondissements of Paris/Lyon/Marseille count as their commune; when only a
   postcode is given, the BAN's ``result_postcode`` must equal it, or - the reference geography
   carries no postcode table - the département of the citycode must match the postcode's
   (``75004`` -> ``75``, ``20000`` -> ``2A``/``2B``, ``97400`` -> ``974``).

Data: BAN, Licence Ouverte / Etalab 2.0.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from observatory import http
from observatory.errors import GeocodingError, explain
from observatory.settings import get_settings

__all__ = [
    "DEFAULT_MAX_BYTES",
    "GEOCODER_MIN_RATE",
    "QUERY_ID",
    "RESULT_COLUMNS",
    "accept_results",
    "build_csv_chunks",
    "departement_of_citycode",
    "departement_of_postcode",
    "geocode_addresses",
    "is_cedex",
    "normalise_address",
    "normalise_commune_name",
    "parse_geocode_csv",
]

log = logging.getLogger(__name__)

#: Upload size cap per file: below the 50 MB documented by the Géoplateforme.
DEFAULT_MAX_BYTES = 40 * 1024 * 1024
#: Column we add to every uploaded row to join the answer back.
QUERY_ID = "obs_query_id"
#: Result columns of the batch answer (order of the real Géoplateforme answer).
RESULT_COLUMNS = (
    "longitude", "latitude", "result_score", "result_score_next", "result_label",
    "result_type", "result_id", "result_banId", "result_housenumber", "result_name",
    "result_street", "result_postcode", "result_city", "result_context", "result_citycode",
    "result_oldcitycode", "result_oldcity", "result_district", "result_status",
)
_REQUIRED_ANSWER = ("longitude", "latitude", "result_score", "result_type",
                    "result_citycode", "result_status")
_FLOAT_COLUMNS = ("longitude", "latitude", "result_score", "result_score_next")
#: Municipal arrondissements -> their commune (the BAN answers with the arrondissement code).
_ARRONDISSEMENTS = {
    **{f"751{n:02d}": "75056" for n in range(1, 21)},
    **{f"6938{n}": "69123" for n in range(1, 10)},
    **{f"132{n:02d}": "13055" for n in range(1, 17)},
}


# --------------------------------------------------------------------------- pure half
#: Postal-only mentions that are not places and confuse the geocoder.
_POSTAL_NOISE = re.compile(
    r"\b(?:"
    r"CEDEX(?:\s*\d{1,2})?"                  # "21035 DIJON CEDEX 9": mail routing only
    r"|B\.?\s?P\.?\s*\d+"                  # "BP 123", "B.P. 40": post-office box
    r"|CS\s*\d+"                             # "CS 70001": corporate mail sorting
    r"|TSA\s*\d+"                            # "TSA 12345": automated mail
    r")\b", re.IGNORECASE)
_SAINT = (
    (re.compile(r"\bSTES?\b\.?", re.IGNORECASE), "SAINTE"),   # "STE FOY" -> "SAINTE FOY"
    (re.compile(r"\bST\b\.?", re.IGNORECASE), "SAINT"),       # "ST APOLLINAIRE"
)
#: "PARIS 13", "LYON 3E ARRONDISSEMENT", "MARSEILLE 13EME": arrondissement in the town label.
_ARRONDISSEMENT_LABEL = re.compile(
    r"^(PARIS|LYON|MARSEILLE)\s+\d{1,2}\s*(?:E|EME|ER)?(?:\s+ARRONDISSEMENT)?$", re.IGNORECASE)


def normalise_address(values: pd.Series) -> pd.Series:
    """Street line cleaned for the geocoder (pure, ``Series -> Series``).

    >>> normalise_address(pd.Series(["12 av. Jean Jaurès BP 123", "3 rue St Michel CS 70001",
    ...                              "  ", None])).tolist()
    ['12 av. Jean Jaurès', '3 rue SAINT Michel', <NA>, <NA>]
    """
    return _on_distinct(values, _clean_address)


def _on_distinct(values: pd.Series, func) -> pd.Series:
    """Apply a vectorised text function to the distinct values only, then map back."""
    values = values.astype("string")
    distinct = pd.Series(values.dropna().unique(), dtype="string")
    mapping = dict(zip(distinct, func(distinct), strict=True))
    return values.map(mapping).astype("string")


def _clean_address(text: pd.Series) -> pd.Series:
    text = text.str.replace(_POSTAL_NOISE, " ", regex=True)
    for pattern, repl in _SAINT:
        text = text.str.replace(pattern, repl, regex=True)
    text = text.str.replace(r"\s+", " ", regex=True).str.strip(" ,;-")
    return text.mask(text == "")


def normalise_commune_name(values: pd.Series) -> pd.Series:
    """Town label cleaned: CEDEX removed, ST/STE expanded, arrondissement labels to the town.

    >>> normalise_commune_name(pd.Series(["DIJON CEDEX", "ST APOLLINAIRE", "PARIS 13",
    ...                                   "Lyon 3e Arrondissement"])).tolist()
    ['DIJON', 'SAINT APOLLINAIRE', 'PARIS', 'Lyon']
    """
    return _on_distinct(values, lambda text: _clean_address(text).str.replace(
        _ARRONDISSEMENT_LABEL, r"\1", regex=True))


def is_cedex(values: pd.Series) -> pd.Series:
    """True where a label carries a CEDEX mention (its postcode is then not geographic)."""
    return values.astype("string").str.contains(r"\bCEDEX\b", case=False, regex=True) \
        .fillna(False).astype(bool)


def _clean(series: pd.Series) -> pd.Series:
    """Strip text and turn blanks into NA (keeps the index)."""
    text = series.astype("string").str.strip()
    return text.mask(text == "")


def build_csv_chunks(frame: pd.DataFrame, columns: Sequence[str], *,
                     postcode: str | None = None, citycode: str | None = None,
                     max_bytes: int = DEFAULT_MAX_BYTES) -> tuple[pd.Series, list[bytes]]:
    """Deduplicate the queries of ``frame`` and write them as CSV files under ``max_bytes``.

    Parameters
    ----------
    frame
        One row per address to geocode.
    columns
        Columns concatenated by the geocoder into the query text.
    postcode, citycode
        Optional filter columns sent as ``postcode=`` / ``citycode=``.
    max_bytes
        Maximum size of one uploaded file (header included).

    Returns
    -------
    query_ids : Series
        Index of ``frame`` -> query id (Int64; NA for rows with an empty query).
    chunks : list of bytes
        UTF-8 CSV files, each with the header ``obs_query_id,<columns...>``.
    """
    wanted = list(dict.fromkeys([*columns, *(c for c in (postcode, citycode) if c)]))
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise GeocodingError(explain(
            f"Columns {missing} are not in the frame to geocode.",
            f"The frame has {list(frame.columns)}.",
            "Pass existing column names in columns=, postcode=, citycode=.",
        ))
    # one line per row: newlines inside a cell would break the file for the geocoder
    sent = pd.DataFrame({c: _clean(frame[c].astype("string").str.replace(r"[\r\n]+", " ",
                                                                         regex=True))
                         for c in wanted}, index=frame.index)
    empty = sent[list(columns)].isna().all(axis=1)
    key = sent[wanted[0]].fillna("")
    for column in wanted[1:]:
        key = key + "\x1f" + sent[column].fillna("")
    key = key.where(~empty)
    codes, _ = pd.factorize(key, use_na_sentinel=True)
    query_ids = pd.Series(codes, index=frame.index, dtype="Int64").mask(codes < 0)
    first = ~pd.Series(codes).duplicated().to_numpy() & (codes >= 0)
    unique_rows = sent.loc[first].assign(**{QUERY_ID: codes[first]})
    unique_rows = unique_rows[[QUERY_ID, *wanted]].fillna("")

    header = _csv_line([QUERY_ID, *wanted])
    if len(header) >= max_bytes:
        raise GeocodingError(explain(
            f"max_bytes={max_bytes} is smaller than the CSV header.",
            "Every uploaded file needs at least its header and one row.",
            "Use the default size cap (40 MB).",
        ))
    if unique_rows.empty:
        return query_ids, []
    text = unique_rows.to_csv(index=False, header=False, lineterminator="\n")
    lines = [line.encode("utf-8") + b"\n" for line in text[:-1].split("\n")]
    sizes = np.fromiter((len(line) for line in lines), dtype=np.int64, count=len(lines))
    budget = max_bytes - len(header)
    too_big = np.flatnonzero(sizes > budget)
    if too_big.size:
        raise GeocodingError(explain(
            f"{too_big.size} address line(s) exceed max_bytes={max_bytes} on their own.",
            "A file cannot be split below one row.",
            "Raise max_bytes or clean the address column.",
            offenders=[lines[i][:80] for i in too_big[:5]],
        ))
    ends = np.cumsum(sizes)
    chunks: list[bytes] = []
    start = 0
    while start < len(lines):
        offset = ends[start - 1] if start else 0
        stop = int(np.searchsorted(ends, offset + budget, side="right"))
        chunks.append(header + b"".join(lines[start:stop]))
        start = stop
    return query_ids, chunks


def _csv_line(values: Sequence[str]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(values)
    return buffer.getvalue().encode("utf-8")


def parse_geocode_csv(content: bytes | str) -> pd.DataFrame:
    """Parse a ``/search/csv`` answer into a frame (input columns + typed result columns).

    Every column is text except ``longitude``, ``latitude``, ``result_score`` and
    ``result_score_next`` (float64, NaN when empty).

    Raises
    ------
    GeocodingError
        When the answer is not a CSV with the geocoder's result columns.
    """
    if isinstance(content, bytes):
        try:
            content = content.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise GeocodingError(explain(
                "The geocoder answer is not UTF-8 text.",
                f"Decoding failed at byte {exc.start}.",
                "Check that the geocoder URL points to /search/csv; retry later.",
            )) from exc
    try:
        answer = pd.read_csv(io.StringIO(content), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise GeocodingError(explain(
            "The geocoder answer is not a readable CSV.",
            f"Parser said: {exc}. Start of the answer: {content[:200]!r}.",
            "Check that the geocoder URL points to /search/csv; retry later.",
        )) from exc
    missing = [c for c in _REQUIRED_ANSWER if c not in answer.columns]
    if missing:
        raise GeocodingError(explain(
            f"The geocoder answer lacks the result columns {missing}.",
            f"Its header is {list(answer.columns)[:30]}; start of the answer: {content[:200]!r}.",
            "Check that the geocoder URL points to the BAN /search/csv endpoint.",
        ))
    for column in answer.columns:
        answer[column] = _clean(answer[column])
    for column in _FLOAT_COLUMNS:
        if column in answer.columns:
            answer[column] = pd.to_numeric(answer[column], errors="coerce").astype("float64")
    return answer


def departement_of_citycode(codes: pd.Series) -> pd.Series:
    """Département of INSEE commune codes (``"21231"`` -> ``"21"``, ``"97411"`` -> ``"974"``)."""
    codes = codes.astype("string")
    return codes.str[:2].where(~codes.str.startswith("97"), codes.str[:3])


def departement_of_postcode(postcodes: pd.Series) -> pd.Series:
    """Département a postcode belongs to (Corsica ``20xxx`` -> ``"2A|2B"``, overseas 3 chars).

    Postcodes are postal, not administrative: a few communes near a border use a neighbour's
    postcode.  This prefix rule is the check used when no postcode -> commune table exists.
    """
    codes = postcodes.astype("string").str.strip()
    dep = codes.str[:2]
    dep = dep.where(~codes.str.startswith("97"), codes.str[:3])
    return dep.where(dep != "20", "2A|2B")


def _to_commune(codes: pd.Series) -> pd.Series:
    codes = codes.astype("string")
    return codes.map(lambda c: _ARRONDISSEMENTS.get(c, c) if isinstance(c, str) else c,
                     na_action="ignore").astype("string")


def _same(left: pd.Series, right: pd.Series) -> pd.Series:
    return (left == right).fillna(False).astype(bool)


def accept_results(answer: pd.DataFrame, expected_citycode: pd.Series | None = None,
                   expected_postcode: pd.Series | None = None, min_score: float = 0.8,
                   min_gap: float | None = None) -> pd.DataFrame:
    """Decide, row by row, whether a geocoding result is accepted at address level.

    Parameters
    ----------
    answer
        Parsed answer (:func:`parse_geocode_csv`), one row per address.
    expected_citycode, expected_postcode
        What the source gave for each row (aligned on ``answer.index``; NA when unknown).
    min_score
        Minimum ``result_score``.
    min_gap
        Optional minimum gap ``result_score - result_score_next`` (an ambiguous address has
        two close candidates); off by default.

    Returns
    -------
    DataFrame
        Same index, columns ``accepted`` (bool), ``raison`` (string, NA when accepted; one of
        ``adresse_non_trouvee``, ``score_insuffisant``, ``niveau_commune``,
        ``commune_incoherente``) and ``commune_coherente`` (bool: the result's citycode is
        consistent with the source, whatever the score, used to locate at commune level).
    """
    index = answer.index
    status = _clean(answer["result_status"]) if "result_status" in answer else pd.Series(
        pd.NA, index=index, dtype="string")
    score = pd.to_numeric(answer["result_score"], errors="coerce")
    kind = _clean(answer["result_type"])
    city = _to_commune(_clean(answer["result_citycode"]))
    old_city = (_to_commune(_clean(answer["result_oldcitycode"]))
                if "result_oldcitycode" in answer else pd.Series(pd.NA, index=index,
                                                                  dtype="string"))
    result_postcode = (_clean(answer["result_postcode"]) if "result_postcode" in answer
                       else pd.Series(pd.NA, index=index, dtype="string"))
    none = pd.Series(pd.NA, index=index, dtype="string")
    want_city = _to_commune(_clean(expected_citycode.reindex(index))
                            if expected_citycode is not None else none)
    want_post = (_clean(expected_postcode.reindex(index)) if expected_postcode is not None
                 else none)

    by_city = _same(city, want_city) | _same(old_city, want_city)
    post_dep = departement_of_postcode(want_post)
    city_dep = departement_of_citycode(city)
    dep_ok = _same(city_dep, post_dep) | (
        (post_dep == "2A|2B").fillna(False) & city_dep.isin(["2A", "2B"]).fillna(False))
    by_post = _same(result_postcode, want_post) | dep_ok
    has_city, has_post = want_city.notna(), want_post.notna()
    coherent = np.where(has_city, by_city, np.where(has_post, by_post, city.notna()))
    coherent = pd.Series(coherent, index=index, dtype=bool) & city.notna()

    found = (status == "ok").fillna(False).astype(bool)
    reason = pd.Series(pd.NA, index=index, dtype="string")
    reason = reason.mask(~found, "adresse_non_trouvee")
    low = found & ~(score >= min_score).fillna(False)
    if min_gap is not None and "result_score_next" in answer:
        following = pd.to_numeric(answer["result_score_next"], errors="coerce").fillna(0.0)
        low |= found & ((score - following) < min_gap).fillna(False)
    reason = reason.mask(reason.isna() & low, "score_insuffisant")
    municipal = found & (kind == "municipality").fillna(False)
    reason = reason.mask(reason.isna() & municipal, "niveau_commune")
    reason = reason.mask(reason.isna() & ~coherent, "commune_incoherente")
    return pd.DataFrame({"accepted": reason.isna().to_numpy(), "raison": reason,
                         "commune_coherente": (coherent & found).to_numpy()}, index=index)


# --------------------------------------------------------------------------- network half
def _geocoder_url(base_url: str | None) -> str:
    if base_url is None:
        from observatory.catalog import get_source

        base_url = get_source("ban_geocoder").url
    return base_url.rstrip("/") + "/search/csv"


#: Slowest batch speed allowed for, in addresses per second: the deadline of one upload is
#: the HTTP deadline (OBSERVATOIRE_TIMEOUT) plus one second per this many addresses, since
#: the geocoder answers a file only as fast as it geocodes it.
GEOCODER_MIN_RATE = 100


def _parse_answer(content: bytes, sent: int) -> pd.DataFrame:
    """Parse one batch answer and check that every uploaded row came back (else raise)."""
    answer = parse_geocode_csv(content)
    if QUERY_ID not in answer.columns or len(answer) != sent:
        raise GeocodingError(explain(
            f"The geocoder answered {len(answer)} rows for {sent} uploaded addresses.",
            f"Every uploaded row must come back with its {QUERY_ID!r} column.",
            "Retry later; if it persists, lower max_bytes to send smaller files.",
        ))
    return answer


def _post_csv(url: str, payload: bytes, columns: Sequence[str], postcode: str | None,
              citycode: str | None, *, use_cache: bool = True) -> pd.DataFrame:
    """POST one CSV file to the geocoder; return the checked answer (network half).

    The answer is parsed and checked before the HTTP cache keeps it: an error page served
    with HTTP 200 is never replayed from the cache.
    """
    form: list[tuple[str, str]] = [("columns", c) for c in columns]
    if postcode:
        form.append(("postcode", postcode))
    if citycode:
        form.append(("citycode", citycode))
    files = {"data": ("adresses.csv", payload, "text/csv")}
    sent = payload.count(b"\n") - 1
    deadline = get_settings().read_timeout + sent / GEOCODER_MIN_RATE
    return http.fetch("POST", url, lambda response: _parse_answer(response.content, sent),
                      data=form, files=files, use_cache=use_cache, timeout=deadline)


def geocode_addresses(frame: pd.DataFrame, columns: Sequence[str], postcode: str | None = None,
                      citycode: str | None = None, *, base_url: str | None = None,
                      max_bytes: int = DEFAULT_MAX_BYTES, use_cache: bool = True,
                      progress: bool = False) -> pd.DataFrame:
    """Geocode the addresses of ``frame`` with the BAN batch endpoint.

    Identical queries are sent once; the input is split into files under ``max_bytes``.

    Parameters
    ----------
    frame
        One row per address.
    columns
        Columns concatenated into the query (e.g. ``["adresse", "code_postal", "commune"]``).
    postcode, citycode
        Optional filter columns (``postcode=`` / ``citycode=`` of the endpoint).
    base_url
        Geocoder root (default: catalog source ``ban_geocoder``); ``/search/csv`` is appended.
    max_bytes
        Upload size cap per file (default 40 MB, below the 50 MB limit).
    use_cache, progress
        On-disk HTTP cache; progress bar over the uploaded files.

    Returns
    -------
    DataFrame
        Indexed like ``frame``, columns :data:`RESULT_COLUMNS` (floats for coordinates and
        scores, text otherwise).  Rows with an empty query get ``result_status == "skipped"``.

    Raises
    ------
    GeocodingError
        The answer is not a CSV with the result columns or misses uploaded rows.
    observatory.errors.NetworkError
        The geocoder failed after the HTTP module's retries.
    """
    result = pd.DataFrame(index=frame.index, columns=list(RESULT_COLUMNS), dtype="string")
    for column in _FLOAT_COLUMNS:
        result[column] = np.nan
    result["result_status"] = "skipped"
    if frame.empty:
        return result
    query_ids, chunks = build_csv_chunks(frame, columns, postcode=postcode, citycode=citycode,
                                         max_bytes=max_bytes)
    url = _geocoder_url(base_url)
    answers = []
    iterator = chunks
    if progress and len(chunks) > 1:
        from tqdm import tqdm

        iterator = tqdm(chunks, desc="Géocodage BAN", unit="fichier")
    for chunk in iterator:
        answers.append(_post_csv(url, chunk, columns, postcode, citycode, use_cache=use_cache))
    log.info("Geocoded %d distinct addresses in %d file(s)", sum(map(len, answers)), len(chunks))
    answer = pd.concat(answers, ignore_index=True)
    answer[QUERY_ID] = pd.to_numeric(answer[QUERY_ID], errors="raise").astype("Int64")
    answer = answer.drop_duplicates(QUERY_ID).set_index(QUERY_ID)
    located = query_ids.notna()
    ids = query_ids[located].astype("int64")
    picked = answer.reindex(ids.to_numpy())
    for column in RESULT_COLUMNS:
        if column in picked.columns:
            values = picked[column].to_numpy()
            result.loc[located, column] = values
    if picked["result_status"].isna().any():
        lost = int(picked["result_status"].isna().sum())
        raise GeocodingError(explain(
            f"{lost} uploaded addresses are missing from the geocoder answer.",
            "The answer must echo every uploaded row.",
            "Retry later; if it persists, lower max_bytes.",
        ))
    for column in _FLOAT_COLUMNS:
        result[column] = pd.to_numeric(result[column], errors="coerce").astype("float64")
    return result
