"""The only module of the observatory that opens network connections.

* one lazily built :class:`requests.Session` (nothing happens at import time);
* timeouts ``(connect, read)`` and the user agent from :func:`observatory.settings.get_settings`;
* retries with exponential backoff (base 0.5 s, cap 30 s, jitter) on 429/500/502/503/504,
  connection errors and timeouts, honouring ``Retry-After`` (seconds or HTTP date);
* a per-host rate limit read from the catalog (``rate_limits:`` host → requests/s);
* an on-disk cache of 2xx answers (:mod:`observatory.http_cache`); offline mode
  (``OBSERVATOIRE_OFFLINE=1``) serves only from it and raises :class:`OfflineError`;
* :func:`download` streams big files to ``<dest>.part`` with resume, progress bar,
  size/sha256 checks and an atomic rename.

Tests shorten waits by monkeypatching the module functions :func:`_sleep` and
:func:`_clock`.
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

from observatory import http_cache
from observatory.errors import NetworkError, OfflineError, explain
from observatory.settings import Settings, get_settings

__all__ = [
    "BACKOFF_BASE",
    "BACKOFF_CAP",
    "RETRY_STATUSES",
    "RateLimiter",
    "backoff_delay",
    "download",
    "get",
    "get_json",
    "post",
    "rate_for",
    "request",
    "reset_session",
    "retry_after_seconds",
    "session",
]

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
BACKOFF_BASE = 0.5
BACKOFF_CAP = 30.0
MAX_RETRY_AFTER = 600.0  # a server asking for a longer pause makes us give up
DEFAULT_RATE = 10.0  # requests/s when the catalog says nothing ("fair use")
RETRY_EXCEPTIONS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
)

_session: requests.Session | None = None
_session_lock = threading.Lock()


def _sleep(seconds: float) -> None:
    """Wait; tests replace it to record the waits instead."""
    time.sleep(seconds)


def _clock() -> float:
    """Monotonic clock used by the rate limiter; tests replace it."""
    return time.monotonic()


def session() -> requests.Session:
    """The shared session, built on first use (our own retries: the adapter retries nothing)."""
    global _session
    with _session_lock:
        if _session is None:
            s = requests.Session()
            adapter = requests.adapters.HTTPAdapter(max_retries=0, pool_maxsize=16)
            s.mount("http://", adapter)
            s.mount("https://", adapter)
            _session = s
        return _session


def reset_session() -> None:
    """Close and forget the shared session and the rate limiter's state (tests, forks)."""
    global _session
    with _session_lock:
        if _session is not None:
            _session.close()
        _session = None
    _limiter.reset()


class RateLimiter:
    """Minimum interval between requests to the same key (host), thread-safe.

    Each caller reserves the next free slot (``1 / rate`` seconds after the previous
    one) and sleeps until it.  ``clock`` and ``sleep`` are injectable for tests.
    """

    def __init__(self, clock: Callable[[], float] | None = None,
                 sleep: Callable[[float], None] | None = None) -> None:
        self._clock = clock or (lambda: _clock())
        self._sleep = sleep or (lambda s: _sleep(s))
        self._next: dict[str, float] = {}
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self._next.clear()

    def wait(self, key: str, rate: float) -> float:
        """Block until a request to ``key`` may go at ``rate`` req/s; return the wait."""
        if not rate or rate <= 0:
            return 0.0
        with self._lock:
            now = self._clock()
            start = max(now, self._next.get(key, now))
            self._next[key] = start + 1.0 / rate
        delay = start - now
        if delay > 0:
            self._sleep(delay)
        return delay


_limiter = RateLimiter()


def rate_for(url: str) -> tuple[str, float]:
    """(bucket key, requests/s) for ``url`` from the catalog's ``rate_limits``.

    Keys are host names, optionally with a port and/or path prefix
    (``data.geopf.fr/geocodage``); the longest matching key wins, else ``default``.
    """
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    candidates = [f"{parts.netloc.lower()}{parts.path}", f"{host}{parts.path}"]
    from observatory.catalog import rate_limits  # lazy: the catalog reads YAML on first use

    limits = rate_limits()
    for key in sorted((k for k in limits if k != "default"), key=len, reverse=True):
        k = key.lower().rstrip("/")
        for cand in candidates:
            if cand.startswith(k) and cand[len(k):len(k) + 1] in ("", "/", ":"):
                return key, float(limits[key])
    return parts.netloc.lower(), float(limits.get("default", DEFAULT_RATE))


def backoff_delay(attempt: int) -> float:
    """Exponential backoff with jitter for retry number ``attempt`` (1-based)."""
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempt - 1))
    return ceiling / 2 + random.uniform(0, ceiling / 2)


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds asked by a ``Retry-After`` header (delta seconds or HTTP date), else None."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _timeout(timeout: Any, settings: Settings | None = None) -> tuple[float, float]:
    settings = settings or get_settings()
    if timeout is None:
        return settings.connect_timeout, settings.read_timeout
    if isinstance(timeout, tuple):
        return timeout
    return settings.connect_timeout, float(timeout)


def _headers(headers: dict | None, settings: Settings | None = None) -> dict:
    out = {"User-Agent": (settings or get_settings()).user_agent}
    out.update(headers or {})
    return out


def _describe(method: str, url: str, params: Any) -> str:
    if params:
        return f"{method} {requests.Request(method, url, params=params).prepare().url}"
    return f"{method} {url}"


_CAUSES = (  # (name in the exception chain, plain words)
    ("NameResolutionError", "the host name could not be resolved (DNS)"),
    ("ConnectTimeout", "the connection timed out"),
    ("ReadTimeout", "no answer within the read timeout"),
    ("ConnectionRefused", "the connection was refused"),
    ("ProxyError", "the proxy refused the connection"),
    ("SSLError", "the TLS handshake failed"),
    ("ChunkedEncodingError", "the transfer was cut"),
    ("RemoteDisconnected", "the server closed the connection"),
)


def _cause(exc: BaseException) -> str:
    """Short plain-words cause of a connection failure."""
    text = repr(exc)
    for name, words in _CAUSES:
        if name in text:
            return f"{words} ({type(exc).__name__})"
    return f"{type(exc).__name__}: {str(exc)[:160]}"


def _send(method: str, url: str, *, retries: int | None = None,
          **kwargs: Any) -> requests.Response:
    """Send with rate limit and retries; return a 2xx/3xx answer or raise NetworkError."""
    max_retries = get_settings().max_retries if retries is None else retries
    bucket, rate = rate_for(url)
    what = _describe(method, url, kwargs.get("params"))
    attempt = 0
    while True:
        attempt += 1
        _limiter.wait(bucket, rate)
        try:
            response = session().request(method, url, **kwargs)
        except RETRY_EXCEPTIONS as exc:
            if attempt > max_retries:
                raise NetworkError(explain(
                    f"{what} failed after {attempt} attempt(s): {_cause(exc)}.",
                    "The server could not be reached or did not answer in time.",
                    "Check the network (or proxy) and that the service is up, then run again; "
                    "raise OBSERVATOIRE_TIMEOUT / OBSERVATOIRE_MAX_RETRIES for slow services, "
                    "or set OBSERVATOIRE_OFFLINE=1 to work from the cache.",
                ), url=url, status=None, attempts=attempt) from exc
            delay = backoff_delay(attempt)
            log.warning("%s: %s, retry %d/%d in %.1f s", what, type(exc).__name__,
                        attempt, max_retries, delay)
            _sleep(delay)
            continue
        status = response.status_code
        if status < 400:
            return response
        if status in RETRY_STATUSES and attempt <= max_retries:
            asked = retry_after_seconds(response.headers.get("Retry-After"))
            response.close()
            if asked is not None and asked > MAX_RETRY_AFTER:
                raise NetworkError(explain(
                    f"{what} answered HTTP {status} asking to wait {asked:.0f} s.",
                    f"That is longer than the {MAX_RETRY_AFTER:.0f} s we are willing to wait.",
                    "Run again later.",
                ), url=url, status=status, attempts=attempt)
            delay = asked if asked is not None else backoff_delay(attempt)
            log.warning("%s: HTTP %d, retry %d/%d in %.1f s%s", what, status, attempt,
                        max_retries, delay, " (Retry-After)" if asked is not None else "")
            _sleep(delay)
            continue
        body = " ".join(response.text.split())[:200] if not kwargs.get("stream") else ""
        response.close()
        retried = status in RETRY_STATUSES
        raise NetworkError(explain(
            f"{what} answered HTTP {status} {response.reason}"
            f" after {attempt} attempt(s).{(' Body: ' + repr(body) + '.') if body else ''}",
            "The service is overloaded or failing." if retried else
            "The server refused the request (wrong URL or parameters, or the resource moved).",
            "Wait and run again, or raise OBSERVATOIRE_MAX_RETRIES." if retried else
            "Check the URL in observatory/sources.yaml (or your OBSERVATOIRE_CATALOG overlay) "
            "against the producer's documentation.",
        ), url=url, status=status, attempts=attempt)


def request(method: str, url: str, *, params: Any = None, data: Any = None, json: Any = None,
            files: Any = None, headers: dict | None = None, use_cache: bool = True,
            timeout: Any = None, max_age: float | None = None,
            retries: int | None = None) -> requests.Response:
    """Send an HTTP request through the cache, the rate limiter and the retries.

    Parameters
    ----------
    method, url, params, data, json, files, headers
        As for :meth:`requests.Session.request` (``files`` values are read once).
    use_cache : bool
        Read and write the on-disk cache (offline mode always reads it).
    max_age : float, optional
        Ignore cached answers older than this many seconds (online only: offline mode
        serves them, with a warning).  Default: no limit.
    retries : int, optional
        Retries for this request (default ``settings.max_retries``); 0 for quick probes.
    timeout : float or (connect, read) or None
        Read timeout, or both; defaults from the settings.

    Returns
    -------
    requests.Response
        A 2xx (or 3xx not followed) answer; ``from_cache`` is True when it came from disk.

    Raises
    ------
    OfflineError
        Offline mode is on and the answer is not in the cache.
    NetworkError
        The request failed after its retries, or the server answered 4xx/5xx.
    """
    settings = get_settings()
    method = method.upper()
    frozen = http_cache.freeze_files(files)
    key = http_cache.cache_key(method, url, params=params, headers=headers, data=data,
                               json_body=json, files=frozen)
    if use_cache or settings.offline:
        cached = http_cache.load(settings.cache_dir, key)
        age = getattr(cached, "cache_age", 0.0)
        if cached is not None and (max_age is None or age <= max_age):
            return cached
        if cached is not None and settings.offline:
            log.warning("Offline: serving a cached answer %.1f days old for %s %s",
                        age / 86400, method, url)
            return cached
    if settings.offline:
        raise OfflineError(explain(
            f"Offline mode: {_describe(method, url, params)} is not in the HTTP cache "
            f"({settings.cache_dir}).",
            "OBSERVATOIRE_OFFLINE is set, so the network is never used.",
            "Run the same command once online to fill the cache, or unset OBSERVATOIRE_OFFLINE.",
        ), url=url)
    response = _send(method, url, params=params, data=data, json=json, files=frozen,
                     headers=_headers(headers, settings), timeout=_timeout(timeout, settings),
                     retries=settings.max_retries if retries is None else retries)
    response.from_cache = False  # type: ignore[attr-defined]
    if use_cache and http_cache.store(settings.cache_dir, key, response, method=method):
        log.debug("HTTP cache store: %s %s", method, response.url)
    return response


def get(url: str, *, params: Any = None, headers: dict | None = None, use_cache: bool = True,
        timeout: Any = None, max_age: float | None = None,
        retries: int | None = None) -> requests.Response:
    """GET ``url`` (see :func:`request`)."""
    return request("GET", url, params=params, headers=headers, use_cache=use_cache,
                   timeout=timeout, max_age=max_age, retries=retries)


def post(url: str, *, data: Any = None, files: Any = None, params: Any = None,
         headers: dict | None = None, use_cache: bool = True, timeout: Any = None,
         json: Any = None, max_age: float | None = None,
         retries: int | None = None) -> requests.Response:
    """POST to ``url`` (form, multipart ``files`` or ``json``; see :func:`request`)."""
    return request("POST", url, params=params, data=data, json=json, files=files,
                   headers=headers, use_cache=use_cache, timeout=timeout, max_age=max_age,
                   retries=retries)


def get_json(url: str, **kw: Any) -> Any:
    """GET ``url`` and decode its JSON body (NetworkError when it is not JSON)."""
    response = get(url, **kw)
    try:
        return response.json()
    except ValueError as exc:
        raise NetworkError(explain(
            f"GET {response.url} did not answer JSON "
            f"(Content-Type {response.headers.get('Content-Type')!r}): "
            f"{response.text[:200]!r}.",
            "The service answered an error page or another format.",
            "Check the URL and parameters against the service documentation.",
        ), url=url, status=response.status_code) from exc


def download(url: str, dest: Path, *, sha256: str | None = None, size: int | None = None,
             progress: bool = True, resume: bool = True, overwrite: bool = False,
             headers: dict | None = None) -> Path:
    """Stream ``url`` to ``dest`` (see :mod:`observatory.http_download`)."""
    from observatory.http_download import download_file

    return download_file(url, Path(dest), sha256=sha256, size=size, progress=progress,
                         resume=resume, overwrite=overwrite, headers=headers)
