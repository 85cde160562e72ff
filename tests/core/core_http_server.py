"""A scriptable local HTTP server for the core tests (used by conftest.py fixtures).

The server runs on 127.0.0.1 (random port) in a thread.  A route is a function
``route(req) -> Reply`` registered with ``server.route(path, func)``; ``req.n`` is the
1-based number of the request on that path, so a route can answer differently each
time (429 then 200, cut the body the first time...).  ``server.hits[path]`` counts
requests, ``server.requests`` keeps them all.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Req:
    method: str
    path: str
    query: dict
    headers: dict
    body: bytes
    n: int


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict = field(default_factory=dict)
    delay: float = 0.0          # seconds to wait before answering
    cut_after: int | None = None  # close the connection after this many body bytes


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # no 40 ms delayed-ACK stalls

    def log_message(self, *args):  # keep test output clean
        pass

    def _dispatch(self):
        server: LocalServer = self.server.owner  # type: ignore[attr-defined]
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        with server.lock:
            server.hits[parts.path] += 1
            n = server.hits[parts.path]
        req = Req(self.command, parts.path, dict(parse_qsl(parts.query)),
                  {k.lower(): v for k, v in self.headers.items()}, body, n)
        server.requests.append(req)
        route = server.routes.get(parts.path)
        reply = route(req) if route else Reply(404, b"not found")
        if reply.delay:
            time.sleep(reply.delay)
        try:
            self.send_response(reply.status)
            headers = {"Content-Length": str(len(reply.body)), **reply.headers}
            for key, value in headers.items():
                self.send_header(key, value)
            if reply.cut_after is not None:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command == "HEAD":
                return
            if reply.cut_after is not None:
                self.wfile.write(reply.body[:reply.cut_after])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    do_GET = do_POST = do_HEAD = _dispatch  # noqa: N815 (http.server names)


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):  # clients that hang up on purpose
        pass


class LocalServer:
    """Scriptable HTTP server on 127.0.0.1 (see the module docstring)."""

    def __init__(self) -> None:
        self.routes: dict[str, Callable[[Req], Reply]] = {}
        self.hits: collections.Counter = collections.Counter()
        self.requests: list[Req] = []
        self.lock = threading.Lock()
        self.httpd = _QuietServer(("127.0.0.1", 0), _Handler)
        self.httpd.owner = self  # type: ignore[attr-defined]
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,),
                                       daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def route(self, path: str, func: Callable[[Req], Reply]) -> str:
        self.routes[path] = func
        return self.url(path)

    def static(self, path: str, body: bytes, headers: dict | None = None) -> str:
        return self.route(path, lambda req: Reply(200, body, dict(headers or {})))

    def ranged(self, path: str, body: bytes, *, cut_first: int | None = None,
               honour_range: bool = True, etag: str | None = None) -> str:
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
                    cut_after=cut)
            return Reply(200, body, headers, cut_after=cut)
        return self.route(path, route)

    def start(self) -> LocalServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def make_tgz(members: dict[str, bytes]) -> bytes:
    import io
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def make_wheel(members: dict[str, bytes]) -> bytes:
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


FAKE_NPM = {
    "decoupage_administratif": ("@etalab/decoupage-administratif", "6.0.0", {
        "package/package.json": b'{"name": "@etalab/decoupage-administratif"}',
        "package/data/communes.json": b'[{"code": "21231", "nom": "Dijon"}]'}),
    "leaflet": ("leaflet", "1.9.4", {
        "package/package.json": b'{"name": "leaflet"}',
        "package/dist/leaflet.js": b"/* fake leaflet */ window.L = {};",
        "package/dist/leaflet.css": b".leaflet-container {}",
        "package/dist/images/marker-icon.png": b"\x89PNG fake",
        "package/dist/images/layers.png": b"\x89PNG fake 2",
        "package/src/Leaflet.js": b"// not extracted"}),
    "leaflet_markercluster": ("leaflet.markercluster", "1.5.3", {
        "package/package.json": b'{"name": "leaflet.markercluster"}',
        "package/dist/leaflet.markercluster.js": b"/* fake cluster */",
        "package/dist/MarkerCluster.css": b".marker-cluster {}",
        "package/dist/MarkerCluster.Default.css": b".marker-cluster-small {}"}),
}
