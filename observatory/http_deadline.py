"""One deadline for a whole HTTP exchange: status line, headers and body.

``requests``/``urllib3`` timeouts bound each socket operation, not the exchange: a server
sending one byte every 0.5 s never trips a 2 s read timeout, and kept such a request alive
for a minute.  Here a request runs inside :func:`deadline`; when the request has been sent
(``getresponse`` of the connection), a single watchdog thread is told the socket and the
time limit.  At the limit it shuts the socket down, which wakes the blocked read at once;
:attr:`Exchange.expired` then tells the caller that the failure (or a body that "ended" at
the shutdown) is a timeout.  Redirects reuse the first deadline.

The connection classes are given to urllib3 through its documented extension points
(``PoolManager.pool_classes_by_scheme``, ``HTTPConnectionPool.ConnectionCls``) on the
observatory's own session only, for direct and HTTP(S)-proxy connections (a SOCKS proxy
falls back to the per-read timeout).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import requests
import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection

__all__ = ["DeadlineAdapter", "Exchange", "deadline"]

_local = threading.local()


class Exchange:
    """One request under a deadline of ``seconds`` (counted from when it is sent)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expires_at: float | None = None
        self.expired = False
        self.sock: socket.socket | None = None


class _Watchdog:
    """A lazily started daemon thread shutting down the sockets of expired exchanges."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._armed: set[Exchange] = set()
        self._thread: threading.Thread | None = None
        self._wake_at: float | None = None  # when the thread wakes next (None: when told)

    def arm(self, exchange: Exchange, sock: socket.socket | None) -> None:
        with self._cond:
            if exchange.expires_at is None:  # the first hop sets it; redirects keep it
                exchange.expires_at = time.monotonic() + exchange.seconds
            exchange.sock = sock
            self._armed.add(exchange)
            if self._thread is None or not self._thread.is_alive():  # first use, or a fork
                self._thread = threading.Thread(target=self._run, name="http-deadline",
                                                daemon=True)
                self._thread.start()
            elif self._wake_at is None or exchange.expires_at < self._wake_at:
                self._cond.notify()  # else it wakes early enough: no thread switch

    def disarm(self, exchange: Exchange) -> None:
        with self._cond:
            self._armed.discard(exchange)
            exchange.sock = None

    def _run(self) -> None:
        with self._cond:
            while True:
                now = time.monotonic()
                for exchange in [e for e in self._armed if e.expires_at <= now]:
                    self._armed.discard(exchange)
                    exchange.expired = True
                    _shutdown(exchange.sock)
                    exchange.sock = None
                self._wake_at = min((e.expires_at for e in self._armed), default=None)
                self._cond.wait(None if self._wake_at is None else self._wake_at - now)


def _shutdown(sock: socket.socket | None) -> None:
    """Wake any read blocked on ``sock`` (the plain-socket call also works under TLS)."""
    if sock is None:
        return
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


_watchdog = _Watchdog()


@contextlib.contextmanager
def deadline(seconds: float | None) -> Iterator[Exchange | None]:
    """Run the requests of this thread under one deadline of ``seconds`` (None: no deadline)."""
    if seconds is None:
        yield None
        return
    exchange = Exchange(seconds)
    previous = getattr(_local, "exchange", None)
    _local.exchange = exchange
    try:
        yield exchange
    finally:
        _local.exchange = previous
        _watchdog.disarm(exchange)


class _ArmOnResponse:
    """Connection mixin: arm the current exchange's watchdog once the request is sent."""

    def getresponse(self):  # type: ignore[no-untyped-def]
        exchange = getattr(_local, "exchange", None)
        if exchange is not None:
            _watchdog.arm(exchange, self.sock)  # type: ignore[attr-defined]
        return super().getresponse()  # type: ignore[misc]


class _HTTPConnection(_ArmOnResponse, HTTPConnection):
    pass


class _HTTPSConnection(_ArmOnResponse, HTTPSConnection):
    pass


class _HTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


_POOLS = {"http": _HTTPPool, "https": _HTTPSPool}


class DeadlineAdapter(requests.adapters.HTTPAdapter):
    """HTTP adapter whose connections honour :func:`deadline`."""

    def init_poolmanager(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy, **proxy_kwargs):  # type: ignore[no-untyped-def]
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if isinstance(manager, urllib3.ProxyManager):  # not SOCKS: its own pool classes
            manager.pool_classes_by_scheme = _POOLS
        return manager
