"""Hostile and flaky servers against observatory.http (the HTTP probes of issue 14).

Each test names the probe it replays; every one of them failed on the HTTP layer before
the fixes (poisoned cache replayed forever, a 2 s timeout kept alive 59.7 s by a dripping
server, redirect loops and cache metadata errors escaping unwrapped, a download cut short
without Content-Length accepted as complete).
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import time

import pytest

from observatory import http
from observatory.errors import DownloadError, NetworkError, OfflineError
from observatory.http_download import part_path
from observatory.settings import get_settings
from tests.local_server import Reply

JSON_BODY = json.dumps({"results": [], "total_results": 0}).encode()
ERROR_PAGE = b"<html><body>502 Bad Gateway (served with 200)</body></html>"
BODY = random.Random(14).randbytes(300_000)
SHA = hashlib.sha256(BODY).hexdigest()


def _cache_files():
    return sorted(get_settings().cache_dir.rglob("*.json"))


# ------------------------------------------------------------------ the cache heals
def test_error_page_with_200_is_not_kept_and_the_next_call_recovers(core_env, server, sleeps):
    """Probe: one transient 200 HTML error page poisoned ``get_json`` until the cache
    folder was deleted by hand."""
    url = server.route("/api", lambda req: Reply(200, ERROR_PAGE, {"Content-Type": "text/html"})
                       if req.n == 1 else Reply(200, JSON_BODY,
                                                {"Content-Type": "application/json"}))
    with pytest.raises(NetworkError) as info:
        http.get_json(url)
    message = str(info.value)
    assert "did not answer JSON" in message
    assert "not kept in the HTTP cache" in message and str(get_settings().cache_dir) in message
    assert _cache_files() == []
    assert http.get_json(url) == {"results": [], "total_results": 0}  # no manual cleaning
    assert server.hits["/api"] == 2
    assert http.get_json(url)["total_results"] == 0  # the good answer is cached
    assert server.hits["/api"] == 2


def test_a_poisoned_entry_already_in_the_cache_is_evicted(core_env, server, sleeps, caplog):
    """Caches written before the fix hold error pages: they are evicted and fetched again."""
    url = server.route("/api", lambda req: Reply(200, ERROR_PAGE, {"Content-Type": "text/html"})
                       if req.n == 1 else Reply(200, JSON_BODY,
                                                {"Content-Type": "application/json"}))
    assert http.get(url).text == ERROR_PAGE.decode()  # raw get: stored as before
    entry = _cache_files()
    assert len(entry) == 1
    with caplog.at_level(logging.WARNING, logger="observatory.http"):
        assert http.get_json(url)["total_results"] == 0
    assert server.hits["/api"] == 2
    assert any(str(entry[0]) in r.getMessage() and "evicted" in r.getMessage()
               for r in caplog.records)


def test_a_poisoned_entry_offline_names_the_entry(core_env, server, sleeps, monkeypatch):
    url = server.static("/api", ERROR_PAGE, {"Content-Type": "text/html"})
    http.get(url)
    entry = _cache_files()[0]
    monkeypatch.setenv("OBSERVATOIRE_OFFLINE", "1")
    with pytest.raises(NetworkError) as info:
        http.get_json(url)
    assert str(entry) in str(info.value) and "online" in str(info.value)
    assert not entry.exists()
    assert server.hits["/api"] == 1


# ------------------------------------------------------------------ one deadline per request
def test_a_dripping_server_cannot_outlive_the_deadline(core_env, server, sleeps):
    """Probe: one byte every 0.5 s kept a request with a 2 s timeout alive for 59.7 s.

    The body (120 bytes) would take 60 s; every byte arrives well within the 2 s read
    timeout.  The bound asserted (3 x the deadline) is a correctness bound, not a speed
    target.
    """
    url = server.route("/drip", lambda req: Reply(200, b"x" * 120, drip=0.5))
    start = time.monotonic()
    with pytest.raises(NetworkError) as info:
        http.get(url, timeout=2, retries=0, use_cache=False)
    elapsed = time.monotonic() - start
    assert elapsed < 6.0, f"the request lived {elapsed:.1f} s past a 2 s deadline"
    assert "2 s" in str(info.value) and "How to fix" in str(info.value)
    assert info.value.status is None


def test_the_deadline_is_per_attempt_and_retried(core_env, server, sleeps):
    url = server.route("/drip", lambda req: Reply(200, b"x" * 120, drip=0.5) if req.n == 1
                       else Reply(200, JSON_BODY, {"Content-Type": "application/json"}))
    start = time.monotonic()
    assert http.get_json(url, timeout=1)["total_results"] == 0
    assert time.monotonic() - start < 3.0
    assert server.hits["/drip"] == 2 and len(sleeps) == 1


def test_a_server_dripping_its_headers_is_bounded_too(core_env, server, sleeps):
    """The deadline also covers the status line and headers (60 s of header drip)."""
    head = b"HTTP/1.1 200 OK\r\nX-Slow: " + b"y" * 120 + b"\r\nContent-Length: 2\r\n\r\n{}"
    url = server.route("/slow-headers", lambda req: Reply(raw=head, drip=0.5))
    start = time.monotonic()
    with pytest.raises(NetworkError):
        http.get(url, timeout=1, retries=0, use_cache=False)
    assert time.monotonic() - start < 3.0


# ------------------------------------------------------------------ wrapped errors
def test_redirect_loop_becomes_network_error(core_env, server, sleeps):
    """Probe: ``TooManyRedirects`` escaped unwrapped."""
    url = server.route("/loop", lambda req: Reply(302, b"", {"Location": "/loop"}))
    with pytest.raises(NetworkError) as info:
        http.get(url)
    message = str(info.value)
    assert url in message and "redirect" in message.lower() and "How to fix" in message
    assert sleeps == []  # a loop is not retried


@pytest.mark.parametrize("corrupt", [
    lambda meta: {k: v for k, v in meta.items() if k != "status"},  # no status
    lambda meta: {**meta, "status": "two hundred"},
    lambda meta: ["not", "an", "object"],
    None,  # not JSON at all
])
def test_corrupt_cache_metadata_is_evicted_and_refetched(core_env, server, sleeps, caplog,
                                                          corrupt):
    """Probe: a cache entry without ``status`` escaped as a bare KeyError."""
    url = server.static("/api", JSON_BODY, {"Content-Type": "application/json"})
    http.get(url)
    entry = _cache_files()[0]
    meta = json.loads(entry.read_text())
    entry.write_text("{not json" if corrupt is None else json.dumps(corrupt(meta)))
    with caplog.at_level(logging.WARNING, logger="observatory.http_cache"):
        assert http.get_json(url)["total_results"] == 0
    assert server.hits["/api"] == 2
    assert any(str(entry) in r.getMessage() for r in caplog.records)
    assert json.loads(entry.read_text())["status"] == 200  # stored again, whole


def test_corrupt_cache_metadata_offline_is_a_network_error(core_env, server, sleeps,
                                                           monkeypatch):
    url = server.static("/api", JSON_BODY)
    http.get(url)
    entry = _cache_files()[0]
    entry.write_text(json.dumps({"url": url}))
    monkeypatch.setenv("OBSERVATOIRE_OFFLINE", "1")
    with pytest.raises(OfflineError):
        http.get(url)


# ------------------------------------------------------------------ downloads end cleanly
def test_download_cut_without_content_length_is_resumed(core_env, server, sleeps, tmp_path):
    """Probe: a download cut short with no Content-Length was accepted as complete."""
    url = server.ranged("/f.bin", BODY, cut_first=100_000, content_length=False)
    dest = tmp_path / "f.bin"
    http.download(url, dest, progress=False)
    assert dest.read_bytes() == BODY
    assert server.requests[1].headers["range"] == "bytes=100000-"


def test_download_without_length_is_confirmed_by_the_server(core_env, server, sleeps,
                                                            tmp_path):
    url = server.ranged("/f.bin", BODY, content_length=False)
    dest = tmp_path / "f.bin"
    http.download(url, dest, progress=False)
    assert dest.read_bytes() == BODY
    assert [r.headers.get("range") for r in server.requests] == [None, "bytes=300000-"]


def test_download_that_cannot_be_confirmed_is_not_called_complete(core_env, server, sleeps,
                                                                  tmp_path):
    url = server.ranged("/f.bin", BODY, cut_first=100_000, content_length=False,
                        honour_range=False)
    dest = tmp_path / "f.bin"
    with pytest.raises(DownloadError) as info:
        http.download(url, dest, progress=False)
    assert "sha256" in str(info.value) and "How to fix" in str(info.value)
    assert not dest.exists() and not part_path(dest).exists()
    # with a pinned sha256 the same server is fine: the check tells a cut from the end
    server.ranged("/f.bin", BODY, content_length=False, honour_range=False)
    http.download(url, dest, sha256=SHA, progress=False)
    assert dest.read_bytes() == BODY
