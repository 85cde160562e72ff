"""Client of geo.api.gouv.fr (API Découpage administratif), through :mod:`observatory.http`.

The base URL is the catalog source ``geo_api`` (override it with an ``OBSERVATOIRE_CATALOG``
overlay or the ``base_url`` argument).  Routes used:

- ``GET /departements/{code}/communes`` and ``GET /epcis/{siren}/communes`` with
  ``format=geojson&geometry=contour&fields=code,nom,codeEpci,codeDepartement,codeRegion,
  population,surface``: a GeoJSON FeatureCollection (WGS84) of the etalab generalised
  contours;
- ``GET /communes?nom=...`` (and ``code``, ``codePostal``...): the default ``format=json``
  answer, a **bare JSON array** of objects whose ``departement``/``region``/``epci`` can be
  nested objects (``{"code": "21", "nom": "Côte-d'Or"}``) or flat ``codeDepartement``...

``surface`` is in **hectares** (converted to ``superficie_km2`` = ha / 100);
``population`` is the population municipale.  Network and parsing are split: the
``parse_*`` functions are pure and take the decoded JSON; they are the validation given to
:func:`observatory.http.fetch`, so an answer they refuse is never cached.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from typing import Any, TypeVar

import geopandas as gpd
import pandas as pd
from shapely.geometry import shape

from geodata.formats import pad_code
from observatory import http
from observatory.catalog import get_source
from observatory.errors import DataValidationError, NetworkError, explain

__all__ = [
    "DEFAULT_FIELDS",
    "communes_of_departement",
    "communes_of_epci",
    "parse_communes_geojson",
    "parse_communes_json",
    "search_communes",
]

log = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULT_FIELDS = ("code", "nom", "codeEpci", "codeDepartement", "codeRegion", "population",
                  "surface")
_GEOMETRIES = ("contour", "centre", "mairie", "bbox")
# API attribute -> (column, kind of code or None)
_FLAT = {"code": ("code", "commune"), "nom": ("nom", None),
         "codeDepartement": ("departement", "departement"),
         "codeRegion": ("region", "region"), "codeEpci": ("epci", "siren")}
_NESTED = {"departement": ("departement", "departement"), "region": ("region", "region"),
           "epci": ("epci", "siren")}


def _base_url(base_url: str | None) -> str:
    url = base_url or get_source("geo_api").url
    return url.rstrip("/")


def _row(item: object, source: str) -> dict[str, Any]:
    """One API commune object (flat or nested) -> flat values named as Reference columns."""
    if not isinstance(item, dict):
        raise DataValidationError(explain(
            f"{source}: an item of the answer is a {type(item).__name__}, not an object.",
            "geo.api.gouv.fr answers an array of commune objects.",
            "Check the base URL of source geo_api.",
        ), offenders=[repr(item)[:80]])
    row = {column: item[key] for key, (column, _kind) in _FLAT.items() if key in item}
    for key, (column, _kind) in _NESTED.items():
        value = item.get(key)
        if isinstance(value, dict):
            row.setdefault(column, value.get("code"))
            if value.get("nom") is not None:
                row[f"{column}_nom"] = value.get("nom")
    for key, column in (("population", "population"), ("surface", "surface"),
                        ("_score", "score")):
        if key in item:
            row[column] = item[key]
    if "codesPostaux" in item:
        row["codes_postaux"] = ",".join(item.get("codesPostaux") or [])
    return row


def _frame(records: list[dict[str, Any]], source: str) -> pd.DataFrame:
    """Commune attributes from API objects (flat or nested), shaped as Reference columns."""
    rows = [_row(item, source) for item in records]
    frame = pd.DataFrame(rows)
    if "code" not in frame:
        raise DataValidationError(explain(
            f"{source}: the answer has no commune code.",
            "Every commune object carries `code` (request it in `fields`).",
            "Add code to the fields requested.",
        ))
    out = pd.DataFrame(index=pd.Index(pad_code(frame["code"], "commune", source=source),
                                      name="code"))
    for _key, (column, kind) in {**_FLAT, **_NESTED}.items():
        if column == "code" or column in out:
            continue
        values = frame[column] if column in frame else pd.Series(pd.NA, index=frame.index)
        values = values.set_axis(out.index)
        out[column] = (pad_code(values, kind, source=source) if kind
                       else values.astype("string"))
    population = frame.get("population", pd.Series(pd.NA, index=frame.index))
    out["population"] = pd.to_numeric(population, errors="coerce").astype("Int64").values
    surface = pd.to_numeric(frame.get("surface", pd.Series(pd.NA, index=frame.index)),
                            errors="coerce").astype("float64")
    out["superficie_km2"] = (surface / 100.0).values  # hectares -> km²
    for extra in ("departement_nom", "region_nom", "epci_nom", "codes_postaux", "score"):
        if extra in frame:
            values = frame[extra].values
            out[extra] = values if extra == "score" else pd.array(values, dtype="string")
    duplicated = out.index[out.index.duplicated()].unique().tolist()
    if duplicated:
        raise DataValidationError(explain(
            f"{source}: commune code(s) repeated in the answer.",
            "Each commune appears once in a list of communes.",
            "Report the anomaly; the answer cannot be used as a layer.",
            offenders=duplicated,
        ), offenders=duplicated)
    return out


def parse_communes_json(payload: Any, source: str = "geo.api.gouv.fr") -> pd.DataFrame:
    """Parse the default ``format=json`` answer (a bare array of commune objects).

    Returns
    -------
    pandas.DataFrame
        Index ``code``; ``nom``, ``departement``, ``region``, ``epci``, ``population``
        (Int64), ``superficie_km2`` (float, from ``surface`` in hectares), and when present
        ``departement_nom``, ``codes_postaux`` (comma-joined), ``score`` (``_score``).
    """
    if not isinstance(payload, list):
        raise DataValidationError(explain(
            f"{source}: expected a JSON array, got a {type(payload).__name__}.",
            "Without format=geojson, geo.api.gouv.fr answers a bare array.",
            "Use parse_communes_geojson for format=geojson answers.",
        ))
    return _frame(payload, source)


def parse_communes_geojson(payload: Any, source: str = "geo.api.gouv.fr") -> gpd.GeoDataFrame:
    """Parse a ``format=geojson`` FeatureCollection into a commune GeoDataFrame (EPSG:4326).

    Same columns as :func:`parse_communes_json` plus ``geometry``.
    """
    if not isinstance(payload, dict) or payload.get("type") != "FeatureCollection":
        kind = payload.get("type") if isinstance(payload, dict) else type(payload).__name__
        raise DataValidationError(explain(
            f"{source}: expected a GeoJSON FeatureCollection, got {kind!r}.",
            "With format=geojson the API answers a FeatureCollection.",
            "Check the request parameters (format=geojson) and the base URL.",
        ))
    features = payload.get("features") or []
    attributes = _frame([f.get("properties") or {} for f in features], source)
    geometry = [shape(f["geometry"]) if f.get("geometry") else None for f in features]
    return gpd.GeoDataFrame(attributes, geometry=geometry, crs="EPSG:4326")


def _json(response, what: str, url: str) -> Any:
    try:
        return json.loads(response.content.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        start = response.content[:80]
        raise DataValidationError(explain(
            f"geo.api.gouv.fr answered {what} with something that is not JSON "
            f"({exc}; starts with {start!r}).",
            "The service (or a proxy in between) returned an error page or a cut answer.",
            "Run again later; if it persists, check the base URL of source geo_api.",
        ), offenders=[url]) from exc


def _request(path: str, params: dict, what: str, base_url: str | None, use_cache: bool,
             parse: Callable[[Any], T]) -> T:
    """GET ``path`` and return ``parse(decoded JSON)``, through :func:`observatory.http.fetch`:
    an answer that is not JSON or that ``parse`` refuses (a JSON error object instead of the
    array) is never kept in the HTTP cache."""
    url = _base_url(base_url) + path
    try:
        return http.fetch("GET", url, lambda response: parse(_json(response, what, url)),
                          params=params, use_cache=use_cache)
    except NetworkError as exc:
        if getattr(exc, "status", None) == 404:
            raise DataValidationError(explain(
                f"geo.api.gouv.fr does not know {what} (HTTP 404 on {path}).",
                "The code is not in the API's current COG (wrong code, or a territory "
                "merged or dissolved since).",
                "Check the code (EPCI: 9-digit SIREN; département: '21', '2A', '971').",
                offenders=[what],
            ), offenders=[what]) from exc
        raise


def _parser(geometry: str | None, what: str) -> Callable[[Any], pd.DataFrame]:
    if geometry:
        return lambda payload: parse_communes_geojson(payload, what)
    return lambda payload: parse_communes_json(payload, what)


def _geo_params(geometry: str | None, fields) -> dict:
    params = {"fields": ",".join(fields)}
    if geometry is not None:
        if geometry not in _GEOMETRIES:
            raise DataValidationError(explain(
                f"geometry={geometry!r} is not offered by geo.api.gouv.fr.",
                f"Valid values: {', '.join(_GEOMETRIES)} (or None for attributes only).",
                "Use geometry='contour' for polygons.",
            ))
        params.update({"format": "geojson", "geometry": geometry})
    return params


def communes_of_departement(code: str, *, geometry: str | None = "contour",
                            fields=DEFAULT_FIELDS, base_url: str | None = None,
                            use_cache: bool = True) -> pd.DataFrame:
    """Communes of one département (``/departements/{code}/communes``).

    Parameters
    ----------
    code : str
        Département code ("21", "2A", "971").
    geometry : {"contour", "centre", "mairie", "bbox"} or None
        Geometry of the GeoJSON answer; None asks the bare JSON array (no geometry).
    fields : sequence of str
        Attributes requested.
    base_url : str, optional
        Overrides the catalog URL of ``geo_api``.
    use_cache : bool
        Use the on-disk HTTP cache.

    Returns
    -------
    GeoDataFrame (geometry given) or DataFrame
        See :func:`parse_communes_geojson` / :func:`parse_communes_json`.
    """
    dep = pad_code([code], "departement", source="département")[0]
    return _request(f"/departements/{dep}/communes", _geo_params(geometry, fields),
                    f"département {dep!r}", base_url, use_cache,
                    _parser(geometry, f"geo.api.gouv.fr département {dep}"))


def communes_of_epci(siren: str, *, geometry: str | None = "contour", fields=DEFAULT_FIELDS,
                     base_url: str | None = None, use_cache: bool = True) -> pd.DataFrame:
    """Member communes of one EPCI (``/epcis/{siren}/communes``); see
    :func:`communes_of_departement` for the parameters and the result."""
    code = str(siren).strip()
    if not re.fullmatch(r"\d{9}", code):
        raise DataValidationError(explain(
            f"{siren!r} is not an EPCI SIREN.", "An EPCI is identified by its 9-digit SIREN.",
            "Give e.g. '242100410' (Dijon Métropole).",
        ), offenders=[siren])
    return _request(f"/epcis/{code}/communes", _geo_params(geometry, fields),
                    f"EPCI {code!r}", base_url, use_cache,
                    _parser(geometry, f"geo.api.gouv.fr EPCI {code}"))


def search_communes(*, nom: str | None = None, code: str | None = None,
                    code_postal: str | None = None, limit: int | None = None,
                    fields=None, base_url: str | None = None,
                    use_cache: bool = True) -> pd.DataFrame:
    """Search communes (``/communes?nom=...``); the answer is the bare JSON array.

    Returns
    -------
    pandas.DataFrame
        See :func:`parse_communes_json`; ordered as the API ranks them.
    """
    params: dict[str, Any] = {}
    if nom:
        params["nom"] = nom
    if code:
        params["code"] = code
    if code_postal:
        params["codePostal"] = code_postal
    if not params:
        raise DataValidationError(explain(
            "search_communes needs a criterion.", "The API lists nothing without one.",
            "Give nom=, code= or code_postal=.",
        ))
    if limit:
        params["limit"] = int(limit)
    if fields:
        params["fields"] = ",".join(fields)
    return _request("/communes", params, f"the search {params}", base_url, use_cache,
                    _parser(None, "geo.api.gouv.fr /communes"))
