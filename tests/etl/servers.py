"""Local 127.0.0.1 fake services answering in the exact format of the real ones.

* :class:`SearchApp` implements ``GET /search`` of the API Recherche d'entreprises over the
  *real* recorded results (``api_samples/recherche_entreprises/search-*.json``): filters
  ``est_ess``, ``departement``, ``code_commune``, ``epci``, ``region``,
  ``section_activite_principale`` like the real API (geographic filters select
  establishments, listed in ``matching_etablissements``), 25 results a page at most,
  ``total_results`` capped, HTTP 400 when ``page x per_page`` exceeds the cap,
  ``limite_matching_etablissements`` / ``page_etablissements``.
* :class:`TabularApp` serves the data.gouv tabular API (``data[]``, ``links.next``, ``meta``).
* :class:`BanCsvApp` implements ``POST /search/csv``: parses the multipart upload and echoes the
  CSV with the Géoplateforme result columns, taking the answers from the real recorded rows
  (``geoplateforme_geocodage_search_csv_response.csv``) plus rows given by the test.

Every app can be told to fail first (``faults``: list of ``(status, headers, body)``) and
records the requests it received.  An app is a handler of the one local test server:
``with LocalServer(app) as url:`` (:mod:`tests.local_server`).
"""

from __future__ import annotations

import csv
import email.parser
import email.policy
import io
import json
import math
import threading
import time
import unicodedata
from pathlib import Path

from tests.local_server import Reply, Req

__all__ = [
    "BanCsvApp",
    "SearchApp",
    "TabularApp",
    "catalog_overlay",
    "clone_units",
    "isolated_http",
    "load_real_units",
    "read_ban_answer",
]

Response = tuple[int, dict[str, str], bytes]


def _copy(value):
    """Deep copy of JSON data (much faster than copy.deepcopy)."""
    return json.loads(json.dumps(value))


class _App:
    """Fault injection and request log shared by the fake services."""

    def __init__(self, faults: list[Response] | None = None) -> None:
        self.faults = list(faults or [])
        self.delays: list[float] = []  # seconds to stall before answering the first requests
        self.requests: list[tuple[str, str, dict, bytes]] = []
        self.lock = threading.Lock()

    def __call__(self, req: Req) -> Reply:
        """Handler of :class:`tests.local_server.LocalServer`."""
        with self.lock:
            self.requests.append((req.method, req.path, req.params, req.body, req.headers))
            delay = self.delays.pop(0) if self.delays else 0.0
            fault = self.faults.pop(0) if self.faults else None
        if delay:
            time.sleep(delay)  # the client times out and retries
        status, headers, body = fault if fault is not None else self.handle(
            req.method, req.path, req.params, req.headers, req.body)
        return Reply(status, body, headers)

    def handle(self, method: str, path: str, query: dict, headers: dict,
               body: bytes) -> Response:
        raise NotImplementedError


def _json(status: int, payload: object) -> Response:
    return status, {"Content-Type": "application/json"}, json.dumps(payload).encode()


# --------------------------------------------------------------------------- /search
def load_real_units(api_samples: Path) -> list[dict]:
    """Every distinct real unit of the recorded ``/search`` answers.

    Each unit gets a private ``_pool``: its siège plus its recorded matching establishments
    (distinct SIRETs), the establishments the fake API filters.
    """
    units: dict[str, dict] = {}
    for path in sorted((api_samples / "recherche_entreprises").glob("search-*.json")):
        for result in json.loads(path.read_text(encoding="utf-8"))["result"]["results"]:
            unit = units.setdefault(result["siren"], _copy(result))
            pool = unit.setdefault("_pool", {})
            for etab in [result.get("siege") or {}, *(result.get("matching_etablissements") or [])]:
                if etab.get("siret"):
                    pool.setdefault(etab["siret"], _copy(etab))
    return list(units.values())


def clone_units(units: list[dict], count: int, *, first_siren: int = 900_000_000,
                communes: list[tuple[str, str]] | None = None,
                sections: str | None = None, establishments: int = 1) -> list[dict]:
    """``count`` copies of real ``units`` with new SIREN/SIRET, flagged ESS.

    ``communes`` (list of (code, postcode)) and ``sections`` are assigned round-robin, so a
    large territory can be simulated; ``establishments`` sets how many establishments each
    clone has (copies of the real ones with new NIC).
    """
    clones = []
    for i in range(count):
        base = _copy(units[i % len(units)])
        siren = f"{first_siren + i:09d}"
        base["siren"] = siren
        base["complements"] = {**(base.get("complements") or {}), "est_ess": True}
        if sections:
            base["section_activite_principale"] = sections[i % len(sections)]
        template = next(iter(base["_pool"].values()))
        pool = {}
        for k in range(establishments):
            etab = _copy(template)
            etab["siret"] = f"{siren}{k + 1:05d}"
            if communes:
                code, postcode = communes[(i + k) % len(communes)]
                etab["commune"], etab["code_postal"] = code, postcode
                etab.pop("departement", None)
            pool[etab["siret"]] = etab
        base["_pool"] = pool
        base["siege"] = {**next(iter(pool.values())), "est_siege": True}
        clones.append(base)
    return clones


def _departement(code: str | None) -> str | None:
    if not code:
        return None
    return code[:3] if code.startswith("97") else code[:2]


class SearchApp(_App):
    """``GET /search`` over a list of units (see module docstring)."""

    def __init__(self, units: list[dict], *, cap: int = 10_000, max_per_page: int = 25,
                 faults: list[Response] | None = None) -> None:
        super().__init__(faults)
        self.units, self.cap, self.max_per_page = units, cap, max_per_page
        self.served_totals: list[tuple[dict, int]] = []
        self._memo: dict[tuple, list] = {}

    def _match(self, arg: dict[str, str], query: dict[str, list[str]]) -> list:
        """Units (and their establishments) matching the filters; memoised per filter set."""
        key = tuple(sorted((k, v) for k, v in arg.items()
                           if k not in ("page", "per_page", "page_etablissements")))
        if key in self._memo:
            return self._memo[key]
        q = arg.get("q", "")
        geo = any(k in query for k in ("departement", "code_commune", "epci", "region"))
        matched = []
        for unit in self.units:
            if q.isdigit() and len(q) in (9, 14):  # direct lookup ignores every filter
                if unit["siren"] != q[:9]:
                    continue
                etabs = []
            else:
                if "est_ess" in arg and bool((unit.get("complements") or {}).get("est_ess")) \
                        != (arg["est_ess"] == "true"):
                    continue
                section = arg.get("section_activite_principale")
                if section and unit.get("section_activite_principale") not in section.split(","):
                    continue
                etabs = [e for e in unit["_pool"].values() if self._etab_ok(e, query)]
                if geo and not etabs:
                    continue
            matched.append((unit, etabs))
        self._memo[key] = matched
        return matched

    @staticmethod
    def _etab_ok(etab: dict, query: dict[str, list[str]]) -> bool:
        checks = {
            "departement": etab.get("departement") or _departement(etab.get("commune")),
            "code_commune": etab.get("commune"), "epci": etab.get("epci"),
            "region": etab.get("region"),
        }
        for key, value in checks.items():
            if key in query and value not in query[key][0].split(","):
                return False
        return True

    def handle(self, method: str, path: str, query: dict, headers: dict,
               body: bytes) -> Response:
        if path != "/search":
            return _json(404, {"erreur": "Not found"})
        arg = {k: v[0] for k, v in query.items()}
        try:
            page, per_page = int(arg.get("page", 1)), int(arg.get("per_page", 10))
            limit = int(arg.get("limite_matching_etablissements", 10))
            page_etab = int(arg.get("page_etablissements", 1))
        except ValueError:
            return _json(400, {"erreur": "Veuillez indiquer un entier."})
        if per_page > self.max_per_page or not 1 <= limit <= 100:
            return _json(400, {"erreur": "per_page ou limite_matching_etablissements invalide"})
        if page * per_page > self.cap:
            return _json(400, {"erreur": f"Le nombre de résultats (page * per_page) ne peut "
                                         f"pas excéder {self.cap}."})
        matched = self._match(arg, query)
        total = min(len(matched), self.cap)
        self.served_totals.append((arg, total))
        chunk = matched[(page - 1) * per_page: page * per_page]
        results = []
        for unit, etabs in chunk:
            result = {k: _copy(v) for k, v in unit.items() if k != "_pool"}
            result["matching_etablissements"] = _copy(
                etabs[(page_etab - 1) * limit: page_etab * limit])
            results.append(result)
        return _json(200, {"results": results, "total_results": total, "page": page,
                           "per_page": per_page, "total_pages": math.ceil(total / per_page)})


# --------------------------------------------------------------------------- tabular API
class TabularApp(_App):
    """data.gouv tabular API ``/data/`` over rows (``page``, ``page_size``, ``<col>__exact``)."""

    def __init__(self, rows: list[dict], template: dict, *, path: str = "/data/",
                 faults: list[Response] | None = None) -> None:
        super().__init__(faults)
        self.rows, self.template, self.path = rows, template, path
        self.base = ""

    def handle(self, method: str, path: str, query: dict, headers: dict,
               body: bytes) -> Response:
        if path != self.path:
            return _json(404, {"message": "Not found"})
        arg = {k: v[0] for k, v in query.items()}
        page, size = int(arg.get("page", 1)), int(arg.get("page_size", 20))
        rows = self.rows
        for key, value in arg.items():
            if key.endswith("__exact"):
                rows = [r for r in rows if str(r.get(key[:-7])) == value]
        chunk = rows[(page - 1) * size: page * size]
        host = headers.get("Host")
        nxt = (f"http://{host}{self.path}?page={page + 1}&page_size={size}"
               + "".join(f"&{k}={v}" for k, v in arg.items() if k.endswith("__exact"))
               if page * size < len(rows) else None)
        payload = _copy(self.template)
        payload["data"] = chunk
        prev = None if page == 1 else f"http://{host}{self.path}?page={page - 1}"
        payload["links"] = {**payload["links"], "next": nxt, "prev": prev}
        payload["meta"] = {"page": page, "page_size": size, "total": len(rows)}
        return _json(200, payload)


# --------------------------------------------------------------------------- /search/csv
def _key(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    return " ".join(text.replace(",", " ").split())


def read_ban_answer(path: Path) -> tuple[list[str], list[dict]]:
    """Header and rows of the real recorded ``/search/csv`` answer."""
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


class BanCsvApp(_App):
    """``POST /search/csv`` echoing the upload with result columns of the real format.

    ``answers`` maps a query (the ``columns`` values joined with spaces, compared
    accent/case-insensitively) to the result columns; the real recorded rows are loaded
    from ``real_csv`` with their own input columns (adresse, cp, ville) as query.  Unknown
    queries answer ``not-found``.
    """

    def __init__(self, real_csv: Path, answers: dict[str, dict] | None = None, *,
                 faults: list[Response] | None = None, malformed: bool = False) -> None:
        super().__init__(faults)
        header, rows = read_ban_answer(real_csv)
        self.result_columns = header[header.index("longitude"):]
        self.answers: dict[str, dict] = {}
        for row in rows:
            query = " ".join(v for v in (row["adresse"], row["cp"], row["ville"]) if v)
            self.answers[_key(query)] = {c: row[c] for c in self.result_columns}
        for query, result in (answers or {}).items():
            self.answers[_key(query)] = {c: str(result.get(c, "")) for c in self.result_columns}
        self.uploads: list[dict] = []
        self.malformed = malformed

    def handle(self, method: str, path: str, query: dict, headers: dict,
               body: bytes) -> Response:
        if method != "POST" or path.rstrip("/") != "/search/csv":
            return 404, {}, b"Not found"
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + headers.get("Content-Type", "").encode() + b"\r\n\r\n" + body)
        if not message.is_multipart():
            return _json(400, {"code": 400, "message": "multipart/form-data expected"})
        form: dict[str, list[str]] = {}
        upload = None
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if name == "data":
                upload = part.get_payload(decode=True)
            else:
                form.setdefault(name, []).append(part.get_content().strip())
        if upload is None:
            return _json(400, {"code": 400, "message": "A CSV file must be provided in data field"})
        self.uploads.append({"form": form, "size": len(upload), "filename":
                             [p.get_filename() for p in message.iter_parts()
                              if p.get_param("name", header="content-disposition") == "data"][0]})
        if self.malformed:
            return 200, {"Content-Type": "text/csv"}, b"<html>Bad gateway</html>\n"
        reader = csv.DictReader(io.StringIO(upload.decode("utf-8-sig")))
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([*(reader.fieldnames or []), *self.result_columns])
        columns, postcode = form.get("columns", []), (form.get("postcode") or [None])[0]
        for row in reader:
            text = " ".join(row[c] for c in columns if row.get(c))
            result = self.answers.get(_key(text))
            if result and postcode and row.get(postcode) and \
                    result.get("result_postcode") != row[postcode]:
                result = None  # the postcode filter excludes it
            if result is None:
                result = dict.fromkeys(self.result_columns, "")
                result["result_status"] = "not-found"
            writer.writerow([*row.values(), *(result[c] for c in self.result_columns)])
        return 200, {"Content-Type": "text/csv; charset=utf-8"}, out.getvalue().encode("utf-8")


# --------------------------------------------------------------------------- fixtures
def catalog_overlay(tmp_path: Path, monkeypatch, **urls: str) -> Path:
    """Point catalog sources at local servers through an ``OBSERVATOIRE_CATALOG`` overlay."""
    lines = ["sources:"] + [f"  {name}: {{url: '{url}'}}" for name, url in urls.items()]
    path = tmp_path / "catalog-overlay.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    monkeypatch.setenv("OBSERVATOIRE_CATALOG", str(path))
    return path


def isolated_http(tmp_path: Path, monkeypatch):
    """Generator for a fixture: fresh HTTP cache, 3 retries, waits recorded instead of slept.

    Use as ``yield from isolated_http(tmp_path, monkeypatch)``; yields the list of waits.
    """
    from observatory import http, http_transport

    monkeypatch.setenv("OBSERVATOIRE_CACHE_DIR", str(tmp_path / "http-cache"))
    monkeypatch.setenv("OBSERVATOIRE_MAX_RETRIES", "3")
    monkeypatch.delenv("OBSERVATOIRE_OFFLINE", raising=False)
    waits: list[float] = []
    monkeypatch.setattr(http_transport, "sleep", waits.append)
    http.reset_session()
    yield waits
    http.reset_session()
