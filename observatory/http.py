"""The only entry to the network for the rest of the observatory.

* :func:`get`, :func:`post`, :func:`request`: one answer, through the on-disk cache of 2xx
  answers (:mod:`observatory.http_cache`), the rate limiter and the retries
  (:mod:`observatory.http_transport`);
* :func:`fetch` (and :func:`get_json`): the same, with the caller's ``parse`` function as the
  validation of the answer.  **An answer that fails ``parse`` is never kept in the cache**:
  a fresh one is not stored, a cached one (written before this rule, or corrupted) is evicted
  and fetched again, with a log line.  The error then names the cache entry and says what
  to do, and keeps its type (a ``GeocodingError`` stays one);
* one deadline per attempt: the whole answer (status, headers, body) must arrive within the
  read timeout (``timeout`` or ``OBSERVATOIRE_TIMEOUT``) once the request is sent, so that a
  server dripping bytes cannot hold a request (:mod:`observatory.http_deadline`);
* offline mode (``OBSERVATOIRE_OFFLINE=1``) serves only from the cache and raises
  :class:`~observatory.errors.OfflineError`;
* :func:`download` streams big files to ``<dest>.part`` with resume, progress bar,
  size/sha256 checks and an atomic rename (:mod:`observatory.http_download`; no deadline
  there: national files take minutes, each read is bounded by the read timeout).

Tests shorten waits by monkeypatching :func:`observatory.http_transport.sleep` and
:func:`observatory.http_transport.clock`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import requests

from observatory import http_cache, http_download, http_transport
from observatory.errors import NetworkError, OfflineError, explain
from observatory.http_transport import reset_session
from observatory.settings import Settings, get_settings

__all__ = [
    "download",
    "fetch",
    "get",
    "get_json",
    "json_body",
    "post",
    "request",
    "reset_session",
]

log = logging.getLogger(__name__)

T = TypeVar("T")


def _with_note(exc: BaseException, note: str) -> None:
    """Append ``note`` to the message of ``exc``, keeping its type, attributes and cause
    (so that the caller's ``except GeocodingError`` still matches)."""
    if exc.args and isinstance(exc.args[0], str):
        exc.args = (f"{exc.args[0].rstrip()} {note}", *exc.args[1:])
    else:
        exc.add_note(note)


def _from_cache(settings: Settings, key: str, parse: Callable[[requests.Response], T],
                max_age: float | None, what: Callable[[], str]) -> tuple[bool, T | None]:
    """``(True, parsed answer)`` from the cache, or ``(False, None)`` to go to the network.

    A cached answer that fails ``parse`` is evicted (it will be fetched again online).
    """
    cached = http_cache.load(settings.cache_dir, key)
    if cached is None:
        return False, None
    age = cached.cache_age  # type: ignore[attr-defined]
    if max_age is not None and age > max_age:
        if not settings.offline:
            return False, None
        log.warning("Offline: serving a cached answer %.1f days old for %s", age / 86400,
                    what())
    entry = http_cache.entry_path(settings.cache_dir, key)
    try:
        return True, parse(cached)
    except Exception as exc:
        http_cache.evict(settings.cache_dir, key)
        if settings.offline:
            _with_note(exc, f"The cached answer {entry} fails this check and was removed: "
                            "run the same command once online to fetch it again.")
            raise
        log.warning("HTTP cache entry %s for %s fails the caller's check (%s): evicted, "
                    "fetching it again", entry, what(), str(exc).split(" How to fix:")[0][:200])
        return False, None


def fetch(method: str, url: str, parse: Callable[[requests.Response], T], *,
          params: Any = None, data: Any = None, json: Any = None, files: Any = None,
          headers: dict | None = None, use_cache: bool = True, timeout: Any = None,
          max_age: float | None = None, retries: int | None = None) -> T:
    """Send an HTTP request and return ``parse(answer)``; only parsed answers are cached.

    Parameters
    ----------
    method, url, params, data, json, files, headers
        As for :meth:`requests.Session.request` (``files`` values are read once).
    parse : callable
        Turns the answer into the caller's value; raises (any exception) when the answer is
        unusable.  Such an answer is not kept in the cache, and the exception, with a note
        naming the cache entry, propagates unchanged in type.
    use_cache : bool
        Read and write the on-disk cache (offline mode always reads it).
    max_age : float, optional
        Ignore cached answers older than this many seconds (online only: offline mode
        serves them, with a warning).  Default: no limit.
    retries : int, optional
        Retries for this request (default ``settings.max_retries``); 0 for quick probes.
    timeout : float or (connect, read) or None
        Read timeout, or both; defaults from the settings.  The read timeout is also the
        deadline of each attempt's whole answer.

    Raises
    ------
    OfflineError
        Offline mode is on and the answer is not in the cache.
    NetworkError
        The request failed after its retries, or the server answered 4xx/5xx.
    """
    settings = get_settings()
    method = method.upper()
    def what() -> str:  # for messages only: preparing the URL costs ~0.1 ms
        return http_transport.describe(method, url, params)

    frozen = http_cache.freeze_files(files)
    key = http_cache.cache_key(method, url, params=params, headers=headers, data=data,
                               json_body=json, files=frozen)
    if use_cache or settings.offline:
        found, value = _from_cache(settings, key, parse, max_age, what)
        if found:
            return value  # type: ignore[return-value]
    if settings.offline:
        raise OfflineError(explain(
            f"Offline mode: {what()} is not in the HTTP cache ({settings.cache_dir}).",
            "OBSERVATOIRE_OFFLINE is set, so the network is never used.",
            "Run the same command once online to fill the cache, or unset OBSERVATOIRE_OFFLINE.",
        ), url=url)
    connect, read = http_transport.timeouts(timeout, settings)
    response = http_transport.send(
        method, url, params=params, data=data, json=json, files=frozen,
        headers=http_transport.request_headers(headers, settings), timeout=(connect, read),
        deadline=read, retries=settings.max_retries if retries is None else retries)
    response.from_cache = False  # type: ignore[attr-defined]
    try:
        value = parse(response)
    except Exception as exc:
        _with_note(exc, f"This answer was not kept in the HTTP cache "
                        f"({http_cache.entry_path(settings.cache_dir, key)}): run again once "
                        "the service answers normally.")
        raise
    if use_cache and http_cache.store(settings.cache_dir, key, response, method=method):
        log.debug("HTTP cache store: %s %s", method, response.url)
    return value


def _identity(response: requests.Response) -> requests.Response:
    return response


def request(method: str, url: str, **kwargs: Any) -> requests.Response:
    """Send an HTTP request (see :func:`fetch`, whose keywords it takes) and return the answer.

    A 2xx (or 3xx not followed) answer; ``from_cache`` is True when it came from disk.
    """
    return fetch(method, url, _identity, **kwargs)


def get(url: str, *, params: Any = None, headers: dict | None = None, use_cache: bool = True,
        timeout: Any = None, max_age: float | None = None,
        retries: int | None = None) -> requests.Response:
    """GET ``url`` (see :func:`fetch`)."""
    return request("GET", url, params=params, headers=headers, use_cache=use_cache,
                   timeout=timeout, max_age=max_age, retries=retries)


def post(url: str, *, data: Any = None, files: Any = None, params: Any = None,
         headers: dict | None = None, use_cache: bool = True, timeout: Any = None,
         json: Any = None, max_age: float | None = None,
         retries: int | None = None) -> requests.Response:
    """POST to ``url`` (form, multipart ``files`` or ``json``; see :func:`fetch`)."""
    return request("POST", url, params=params, data=data, json=json, files=files,
                   headers=headers, use_cache=use_cache, timeout=timeout, max_age=max_age,
                   retries=retries)


def json_body(response: requests.Response) -> Any:
    """The decoded JSON body of ``response`` (NetworkError when it is not JSON)."""
    try:
        return response.json()
    except ValueError as exc:
        method = getattr(response.request, "method", None) or "GET"
        raise NetworkError(explain(
            f"{method} {response.url} did not answer JSON "
            f"(Content-Type {response.headers.get('Content-Type')!r}): "
            f"{response.text[:200]!r}.",
            "The service answered an error page or another format.",
            "Check the URL and parameters against the service documentation.",
        ), url=response.url, status=response.status_code) from exc


def get_json(url: str, **kw: Any) -> Any:
    """GET ``url`` and decode its JSON body; an answer that is not JSON is never cached."""
    return fetch("GET", url, json_body, **kw)


def download(url: str, dest: Path, *, sha256: str | None = None, size: int | None = None,
             progress: bool = True, resume: bool = True, overwrite: bool = False,
             headers: dict | None = None) -> Path:
    """Stream ``url`` to ``dest`` (see :func:`observatory.http_download.download_file`)."""
    return http_download.download_file(url, Path(dest), sha256=sha256, size=size,
                                       progress=progress, resume=resume, overwrite=overwrite,
                                       headers=headers)
