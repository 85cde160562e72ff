"""Benchmark of observatory.http against a local server: latency, cache, download, rate limit.

Usage: ``python benchmarks/bench_http.py [--mb 20]``.  Everything runs on 127.0.0.1
with a temporary data folder; figures are printed (nothing is asserted).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import resource
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

__all__ = ["main"]


def _server(big: bytes) -> ThreadingHTTPServer:
    payload = json.dumps({"results": [{"siren": f"{i:09d}"} for i in range(25)]}).encode()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # no 40 ms delayed-ACK stalls

        def log_message(self, *args):
            pass

        def do_GET(self):
            body = big if self.path.startswith("/big") else payload
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_POST = do_GET  # noqa: N815

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    return httpd


def _timed(func, n: int) -> float:
    start = time.perf_counter()
    for i in range(n):
        func(i)
    return (time.perf_counter() - start) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=int, default=20, help="size of the download test (MB)")
    parser.add_argument("-n", type=int, default=200, help="requests per latency test")
    args = parser.parse_args()
    big = random.Random(0).randbytes(args.mb * 1_000_000)
    httpd = _server(big)
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    with tempfile.TemporaryDirectory() as tmp:
        overlay = Path(tmp) / "catalog.yaml"
        overlay.write_text("rate_limits:\n  127.0.0.1: 0\n", encoding="utf-8")
        os.environ.update(OBSERVATOIRE_DATA_DIR=tmp, OBSERVATOIRE_CATALOG=str(overlay))
        os.environ.pop("OBSERVATOIRE_OFFLINE", None)
        from observatory import http, http_cache

        csv = random.Random(1).randbytes(5_000_000)
        t = _timed(lambda i: http_cache.cache_key(
            "POST", base, files=http_cache.freeze_files({"data": ("a.csv", csv)})), 10)
        print(f"cache key of a 5 MB multipart body: {t * 1000:.1f} ms")
        t = _timed(lambda i: http.get(base + "/json", params={"i": i}, use_cache=False), args.n)
        print(f"uncached GET (local, no rate limit): {t * 1000:.2f} ms/request")
        t = _timed(lambda i: http.get(base + "/json", params={"i": i}), args.n)
        print(f"GET + cache store: {t * 1000:.2f} ms/request")
        t = _timed(lambda i: http.get(base + "/json", params={"i": i}), args.n)
        print(f"cache hit: {t * 1000:.2f} ms/request")

        dest = Path(tmp) / "big.bin"
        start = time.perf_counter()
        http.download(base + "/big", dest, sha256=hashlib.sha256(big).hexdigest(),
                      progress=False)
        elapsed = time.perf_counter() - start
        print(f"download {args.mb} MB + sha256 check: {elapsed:.2f} s "
              f"({args.mb / elapsed:.0f} MB/s)")

        overlay.write_text("rate_limits:\n  127.0.0.1: 50\n", encoding="utf-8")
        http.reset_session()
        start = time.perf_counter()
        for i in range(51):
            http.get(base + "/json", params={"r": i}, use_cache=False)
        elapsed = time.perf_counter() - start
        print(f"51 requests at 50 req/s: {elapsed:.2f} s (ideal 1.00 s)")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {peak:.0f} MB")
    httpd.shutdown()


if __name__ == "__main__":
    main()
