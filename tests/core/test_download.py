"""observatory.http.download: resume, checks, offline, atomic result."""

from __future__ import annotations

import hashlib
import random

import pytest

from observatory import http
from observatory.errors import DownloadError, NetworkError, OfflineError
from observatory.http_download import part_path

BODY = random.Random(42).randbytes(300_000)
SHA = hashlib.sha256(BODY).hexdigest()


def test_plain_download_checks_sha_and_size(core_env, server, sleeps, tmp_path):
    url = server.ranged("/f.zip", BODY)
    dest = tmp_path / "out" / "f.zip"
    assert http.download(url, dest, sha256=SHA, size=len(BODY), progress=False) == dest
    assert dest.read_bytes() == BODY
    assert not part_path(dest).exists()
    # already there and verified: no new request
    http.download(url, dest, sha256=SHA, progress=False)
    assert server.hits["/f.zip"] == 1


def test_resume_after_interrupted_transfer(core_env, server, sleeps, tmp_path):
    url = server.ranged("/big.zip", BODY, cut_first=100_000)
    dest = tmp_path / "big.zip"
    http.download(url, dest, sha256=SHA, progress=False)
    assert dest.read_bytes() == BODY
    assert server.hits["/big.zip"] == 2
    first, second = server.requests
    assert "range" not in first.headers
    assert second.headers["range"] == "bytes=100000-"
    assert len(sleeps) == 1  # one backoff before resuming


def test_interrupted_then_resumed_on_next_call(core_env, server, sleeps, tmp_path, monkeypatch):
    monkeypatch.setenv("OBSERVATOIRE_MAX_RETRIES", "0")
    url = server.ranged("/big.zip", BODY, cut_first=120_000)
    dest = tmp_path / "big.zip"
    with pytest.raises(DownloadError) as info:
        http.download(url, dest, progress=False)
    assert "resumes" in str(info.value)
    assert not dest.exists()
    assert part_path(dest).stat().st_size == 120_000
    http.download(url, dest, sha256=SHA, progress=False)
    assert dest.read_bytes() == BODY
    assert server.requests[-1].headers["range"] == "bytes=120000-"


def test_server_ignoring_range_restarts(core_env, server, sleeps, tmp_path):
    url = server.ranged("/f.bin", BODY, honour_range=False)
    dest = tmp_path / "f.bin"
    part_path(dest).write_bytes(b"garbage from an older file")
    http.download(url, dest, sha256=SHA, progress=False)
    assert dest.read_bytes() == BODY
    assert server.requests[0].headers["range"] == "bytes=26-"


def test_complete_part_answered_416(core_env, server, sleeps, tmp_path):
    url = server.ranged("/f.bin", BODY)
    dest = tmp_path / "f.bin"
    part_path(dest).write_bytes(BODY)
    http.download(url, dest, sha256=SHA, size=len(BODY), progress=False)
    assert dest.read_bytes() == BODY
    assert server.hits["/f.bin"] == 1


def test_sha_mismatch_keeps_nothing(core_env, server, sleeps, tmp_path):
    url = server.ranged("/f.zip", BODY)
    dest = tmp_path / "f.zip"
    with pytest.raises(DownloadError) as info:
        http.download(url, dest, sha256="0" * 64, progress=False)
    assert "sha256" in str(info.value) and url in str(info.value)
    assert not dest.exists() and not part_path(dest).exists()


def test_size_mismatch_announced_by_server(core_env, server, sleeps, tmp_path):
    url = server.ranged("/f.zip", BODY)
    dest = tmp_path / "f.zip"
    with pytest.raises(DownloadError) as info:
        http.download(url, dest, size=len(BODY) + 1, progress=False)
    assert str(len(BODY)) in str(info.value)
    assert not dest.exists() and not part_path(dest).exists()


def test_corrupt_existing_file_is_replaced(core_env, server, sleeps, tmp_path):
    url = server.ranged("/f.zip", BODY)
    dest = tmp_path / "f.zip"
    dest.write_bytes(b"old and wrong")
    http.download(url, dest, sha256=SHA, progress=False)
    assert dest.read_bytes() == BODY


def test_http_error_becomes_download_error(core_env, server, sleeps, tmp_path):
    dest = tmp_path / "nothing.zip"
    with pytest.raises(DownloadError) as info:
        http.download(server.url("/nothing.zip"), dest, progress=False)
    assert isinstance(info.value, NetworkError) and info.value.status == 404
    assert not dest.exists()


def test_offline_download(core_env, server, sleeps, tmp_path, monkeypatch):
    url = server.ranged("/f.zip", BODY)
    monkeypatch.setenv("OBSERVATOIRE_OFFLINE", "true")
    dest = tmp_path / "f.zip"
    with pytest.raises(OfflineError) as info:
        http.download(url, dest, sha256=SHA, progress=False)
    assert url in str(info.value) and "OBSERVATOIRE_OFFLINE" in str(info.value)
    dest.write_bytes(BODY)
    assert http.download(url, dest, sha256=SHA, progress=False) == dest
    dest.write_bytes(b"corrupt")
    with pytest.raises(OfflineError):
        http.download(url, dest, sha256=SHA, progress=False)
    assert server.hits["/f.zip"] == 0


def test_resume_sends_if_range_and_restarts_when_file_changed(core_env, server, sleeps,
                                                              tmp_path, monkeypatch):
    monkeypatch.setenv("OBSERVATOIRE_MAX_RETRIES", "0")
    dest = tmp_path / "f.zip"
    url = server.ranged("/f.zip", BODY, cut_first=50_000, etag='"v1"')
    with pytest.raises(DownloadError):
        http.download(url, dest, progress=False)
    assert part_path(dest).stat().st_size == 50_000
    # the file changes on the server: new ETag, the resume must restart from zero
    new_body = BODY[::-1]
    server.ranged("/f.zip", new_body, etag='"v2"')
    http.download(url, dest, progress=False)
    assert server.requests[-1].headers["if-range"] == '"v1"'
    assert dest.read_bytes() == new_body
    assert not part_path(dest).exists()
    assert not list(tmp_path.glob("*.json"))


def test_part_of_another_url_is_discarded(core_env, server, sleeps, tmp_path, monkeypatch):
    monkeypatch.setenv("OBSERVATOIRE_MAX_RETRIES", "0")
    dest = tmp_path / "f.zip"
    other = server.ranged("/other.zip", b"x" * 100_000, cut_first=10_000)
    with pytest.raises(DownloadError):
        http.download(other, dest, progress=False)
    url = server.ranged("/f.zip", BODY)
    http.download(url, dest, sha256=SHA, progress=False)
    assert "range" not in server.requests[-1].headers
    assert dest.read_bytes() == BODY
