"""How a request goes on the wire: session, deadline, rate limit and retries.

The internal API shared by :mod:`observatory.http` (answers, cache) and
:mod:`observatory.http_download` (files); callers outside the core use those two.

* one lazily built :class:`requests.Session` (nothing happens at import time) whose
  connections honour a per-request deadline (:mod:`observatory.http_deadline`);
* timeouts ``(connect, read)`` and the user agent from :func:`observatory.settings.get_settings`;
* retries with exponential backoff (base 0.5 s, cap 30 s, jitter) on 429/500/502/503/504,
  connection errors, timeouts and expired deadlines, honouring ``Retry-After`` (seconds or
  HTTP date);
* a per-host rate limit read from the catalog (``rate_limits:`` host -> requests/s);
* every failure, redirect loops and invalid URLs included, becomes a
  :class:`~observatory.errors.NetworkError` that says what, why and how to fix.

Tests shorten waits by monkeypatching the module functions :func:`sleep` and :func:`clock`.
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import requests

from observatory import http_deadline
from observatory.catalog import rate_limits
from observatory.errors import NetworkError, explain
from observatory.settings import Settings, get_settings

__all__ = [
    "BACKOFF_BASE",
    "BACKOFF_CAP",
    "RETRY_EXCEPTIONS",
    "RETRY_STATUSES",
    "DeadlineExceeded",
    "RateLimiter",
    "backoff_delay",
    "clock",
    "describe",
    "rate_for",
    "request_headers",
    "reset_session",
    "retry_after_seconds",
    "send",
    "session",
    "sleep",
    "timeouts",
]

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
BACKOFF_BASE = 0.5
BACKOFF_CAP = 30.0
MAX_RETRY_AFTER = 600.0  # a server asking for a longer pause makes us give up
DEFAULT_RATE = 10.0  # requests/s when the catalog says nothing ("fair use")


class DeadlineExceeded(requests.exceptions.Timeout):
    """The whole answer did not arrive within the request's deadline (retried like a timeout)."""


RETRY_EXCEPTIONS = (
    requests.ConnectionError,
    requests.Timeout,  # DeadlineExceeded included
    requests.exceptions.ChunkedEncodingError,
)

_session: requests.Session | None = None
_session_lock = threading.Lock()


def sleep(seconds: float) -> None:
    """Wait; tests replace it to record the waits instead."""
    time.sleep(seconds)


def clock() -> float:
    """Monotonic clock used by the rate limiter; tests replace it."""
    return time.monotonic()


def session() -> requests.Session:
    """The shared session, built on first use (our own retries: the adapter retries nothing)."""
    global _session
    with _session_lock:
        if _session is None:
            s = requests.Session()
            adapter = http_deadline.DeadlineAdapter(max_retries=0, pool_maxsize=16)
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
        self._clock = clock or (lambda: _module_clock())
        self._sleep = sleep or (lambda s: _module_sleep(s))
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


def _module_clock() -> float:
    return clock()  # looked up at call time, so that tests can replace it


def _module_sleep(seconds: float) -> None:
    sleep(seconds)


_limiter = RateLimiter()


def rate_for(url: str) -> tuple[str, float]:
    """(bucket key, requests/s) for ``url`` from the catalog's ``rate_limits``.

    Keys are host names, optionally with a port and/or path prefix
    (``data.geopf.fr/geocodage``); the longest matching key wins, else ``default``.
    """
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    candidates = [f"{parts.netloc.lower()}{parts.path}", f"{host}{parts.path}"]
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


def timeouts(timeout: Any = None, settings: Settings | None = None) -> tuple[float, float]:
    """``(connect, read)`` seconds: ``timeout`` is None (settings), a read timeout or a pair."""
    settings = settings or get_settings()
    if timeout is None:
        return settings.connect_timeout, settings.read_timeout
    if isinstance(timeout, tuple):
        return timeout
    return settings.connect_timeout, float(timeout)


def request_headers(headers: dict | None = None, settings: Settings | None = None) -> dict:
    """``headers`` with the observatory's user agent (theirs win)."""
    out = {"User-Agent": (settings or get_settings()).user_agent}
    out.update(headers or {})
    return out


def describe(method: str, url: str, params: Any = None) -> str:
    """``METHOD url?query`` for messages."""
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
    if isinstance(exc, DeadlineExceeded):
        return str(exc)
    text = repr(exc)
    for name, words in _CAUSES:
        if name in text:
            return f"{words} ({type(exc).__name__})"
    return f"{type(exc).__name__}: {str(exc)[:160]}"


def _attempt(method: str, url: str, deadline: float | None,
             kwargs: dict[str, Any]) -> requests.Response:
    """One try under ``deadline`` seconds (from the request sent to the last body byte)."""
    exchange = None
    try:
        with http_deadline.deadline(deadline) as exchange:
            response = session().request(method, url, **kwargs)
    except requests.RequestException as exc:
        if exchange is not None and exchange.expired:
            raise DeadlineExceeded(_deadline_words(deadline)) from exc
        raise
    if exchange is not None and exchange.expired:  # a body cut by the watchdog may look whole
        response.close()
        raise DeadlineExceeded(_deadline_words(deadline))
    return response


def _deadline_words(deadline: float | None) -> str:
    return f"the whole answer did not arrive within the {deadline:g} s deadline"


def send(method: str, url: str, *, retries: int | None = None, deadline: float | None = None,
         **kwargs: Any) -> requests.Response:
    """Send with rate limit, retries and an optional ``deadline`` per attempt (seconds).

    ``kwargs`` go to :meth:`requests.Session.request` (give ``headers`` from
    :func:`request_headers` and ``timeout`` from :func:`timeouts`).  Returns a 2xx/3xx
    answer; raises :class:`NetworkError` otherwise.
    """
    max_retries = get_settings().max_retries if retries is None else retries
    bucket, rate = rate_for(url)
    what = describe(method, url, kwargs.get("params"))
    attempt = 0
    while True:
        attempt += 1
        _limiter.wait(bucket, rate)
        try:
            response = _attempt(method, url, deadline, kwargs)
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
            sleep(delay)
            continue
        except requests.RequestException as exc:
            raise _not_retried(what, url, attempt, exc) from exc
        status = response.status_code
        if status < 400:
            return response
        if status in RETRY_STATUSES and attempt <= max_retries:
            sleep(_retry_wait(what, url, response, attempt, max_retries))
            continue
        raise _http_error(what, url, response, attempt, stream=bool(kwargs.get("stream")))


def _not_retried(what: str, url: str, attempt: int, exc: Exception) -> NetworkError:
    """A failure that retrying cannot fix: redirect loop, invalid URL or header, bad encoding."""
    if isinstance(exc, requests.TooManyRedirects):
        hops = session().max_redirects
        return NetworkError(explain(
            f"{what} was redirected more than {hops} times (last: "
            f"{getattr(exc.response, 'url', None) or url}).",
            "The server redirects in a loop, or through more hops than a browser would follow.",
            "Open the URL in a browser to see where it leads, then fix the URL in "
            "observatory/sources.yaml (or your OBSERVATOIRE_CATALOG overlay).",
        ), url=url, status=None, attempts=attempt)
    return NetworkError(explain(
        f"{what} could not be sent or decoded: {type(exc).__name__}: {str(exc)[:200]}.",
        "The URL, a header or the answer's encoding is invalid; retrying would not help.",
        "Check the URL in observatory/sources.yaml (or your OBSERVATOIRE_CATALOG overlay) "
        "and the headers given to the request.",
    ), url=url, status=None, attempts=attempt)


def _retry_wait(what: str, url: str, response: requests.Response, attempt: int,
                max_retries: int) -> float:
    """Seconds to wait before retrying a 429/5xx (``Retry-After`` or backoff)."""
    status = response.status_code
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
    return delay


def _http_error(what: str, url: str, response: requests.Response, attempt: int, *,
                stream: bool) -> NetworkError:
    """The error of a final 4xx/5xx answer (its body quoted unless streamed)."""
    status = response.status_code
    body = " ".join(response.text.split())[:200] if not stream else ""
    response.close()
    retried = status in RETRY_STATUSES
    return NetworkError(explain(
        f"{what} answered HTTP {status} {response.reason}"
        f" after {attempt} attempt(s).{(' Body: ' + repr(body) + '.') if body else ''}",
        "The service is overloaded or failing." if retried else
        "The server refused the request (wrong URL or parameters, or the resource moved).",
        "Wait and run again, or raise OBSERVATOIRE_MAX_RETRIES." if retried else
        "Check the URL in observatory/sources.yaml (or your OBSERVATOIRE_CATALOG overlay) "
        "against the producer's documentation.",
    ), url=url, status=status, attempts=attempt)
