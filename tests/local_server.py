"""The one local HTTP test server of the test suite (127.0.0.1, random port, in a thread).

Every test that needs a web service uses this module; each fake service (a SIRENE mirror, the
BAN ``/search/csv``, geo.api.gouv.fr, a package registry) is a *handler* on top of it.

* A handler is a function ``handler(req: Req) -> Reply``.  Register it for one path with
  ``server.route(path, handler)``, or give one to ``LocalServer(handler)`` to answer every
  path without a route (a whole fake service).  Unknown paths answer 404.
* ``req.n`` is the 1-based number of the request on that path, so a route can answer
  differently each time (429 then 200, an error page then the real answer, a cut body...).
* ``server.hits[path]`` counts requests, ``server.requests`` keeps them all.
* A :class:`Reply` can wait before answering (``delay``), drip its body one byte at a time
  (``drip`` seconds between bytes), close the connection after ``cut_after`` body bytes, and
  leave out ``Content-Length`` (``content_length=False``: the body then ends when the
  connection closes, as with an HTTP/1.0 server), or send ``raw`` bytes verbatim (a
  malformed or slow status line and headers; ``drip`` applies to them too).

Use it as a fixture (``LocalServer().start()`` ... ``stop()``) or as a context manager, which
yields the base URL: ``with LocalServer(app) as url: ...``.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from requests.structures import CaseInsensitiveDict

__all__ = ["LocalServer", "Reply", "Req"]


@dataclass
class Req:
    """One request received: ``query`` keeps the first value of each parameter, ``params``
    all of them (``parse_qs`` lists, blank values kept); ``headers`` ignore case."""

    method: str
    path: str
    query: dict[str, str]
    params: dict[str, list[str]]
    headers: CaseInsensitiveDict
    body: bytes
    n: int


@dataclass
class Reply:
    """What the server answers (see the module docstring)."""

    status: int = 200
    body: bytes = b""
    headers: dict = field(default_factory=dict)
    delay: float = 0.0               # seconds to wait before answering
    cut_after: int | None = None     # close the connection after this many body bytes
    drip: float = 0.0                # seconds between body bytes (sent one at a time)
    content_length: bool = True      # False: no Content-Length, the close ends the body
    raw: bytes | None = None         # sent verbatim (status line, headers, body), then close


Handler = Callable[[Req], Reply]


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the real services
    disable_nagle_algorithm = True  # no 40 ms delayed-ACK stalls

    def log_message(self, *args: object) -> None:  # keep test output clean
        pass

    def _dispatch(self) -> None:
        owner: LocalServer = self.server.owner  # type: ignore[attr-defined]
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        params = parse_qs(parts.query, keep_blank_values=True)
        with owner.lock:
            owner.hits[parts.path] += 1
            n = owner.hits[parts.path]
        req = Req(self.command, parts.path, {k: v[0] for k, v in params.items()}, params,
                  CaseInsensitiveDict(self.headers.items()), body, n)
        owner.requests.append(req)
        handler = owner.routes.get(parts.path, owner.handler)
        reply = handler(req) if handler else Reply(404, b"not found")
        if reply.delay:
            time.sleep(reply.delay)
        try:
            self._write(reply, owner.stopped)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (timeouts, deadlines)

    def _write(self, reply: Reply, stopped: threading.Event) -> None:
        if reply.raw is not None:
            self.close_connection = True
            self._send_body(reply.raw, reply.drip, stopped)
            return
        self.send_response(reply.status)
        closing = reply.cut_after is not None or not reply.content_length
        headers = {"Content-Length": str(len(reply.body))} if reply.content_length else {}
        headers.update(reply.headers)
        for key, value in headers.items():
            self.send_header(key, value)
        if closing:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command == "HEAD":
            return
        body = reply.body if reply.cut_after is None else reply.body[:reply.cut_after]
        self._send_body(body, reply.drip, stopped)

    def _send_body(self, body: bytes, drip: float, stopped: threading.Event) -> None:
        if not drip:
            self.wfile.write(body)
            return
        self.wfile.flush()
        for i in range(len(body)):
            if stopped.wait(drip):
                return
            self.wfile.write(body[i:i + 1])
            self.wfile.flush()

    do_GET = do_POST = do_HEAD = _dispatch  # noqa: N815 (http.server names)


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):  # clients that hang up on purpose
        pass


class LocalServer:
    """Scriptable HTTP server on 127.0.0.1 (see the module docstring)."""

    def __init__(self, handler: Handler | None = None) -> None:
        self.handler = handler
        self.routes: dict[str, Handler] = {}
        self.hits: collections.Counter = collections.Counter()
        self.requests: list[Req] = []
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.httpd = _QuietServer(("127.0.0.1", 0), _RequestHandler)
        self.httpd.owner = self  # type: ignore[attr-defined]
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,),
                                       daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def route(self, path: str, handler: Handler) -> str:
        """Answer ``path`` with ``handler``; return its URL."""
        self.routes[path] = handler
        return self.url(path)

    def static(self, path: str, body: bytes, headers: dict | None = None) -> str:
        return self.route(path, lambda req: Reply(200, body, dict(headers or {})))

    def ranged(self, path: str, body: bytes, *, cut_first: int | None = None,
               honour_range: bool = True, etag: str | None = None,
               content_length: bool = True) -> str:
        """Serve ``body`` with Range (and If-Range) support; cut the first answer."""
        def route(req: Req) -> Reply:
            cut = cut_first if req.n == 1 else None
            headers = {"Accept-Ranges": "bytes", **({"ETag": etag} if etag else {})}
            rng = req.headers.get("range")
            if_range = req.headers.get("if-range")
            if rng and honour_range and (if_range is None or if_range == etag):
                start = int(rng.split("=")[1].split("-")[0])
                if start >= len(body):
                    return Reply(416, b"", {"Content-Range": f"bytes */{len(body)}"})
                return Reply(206, body[start:], {
                    **headers, "Content-Range": f"bytes {start}-{len(body) - 1}/{len(body)}"},
                    cut_after=cut, content_length=content_length)
            return Reply(200, body, headers, cut_after=cut, content_length=content_length)
        return self.route(path, route)

    def start(self) -> LocalServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopped.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> str:
        return self.start().base

    def __exit__(self, *exc: object) -> None:
        self.stop()
