"""Fixtures of the core tests: an isolated environment and a scriptable local HTTP server.

See :mod:`core_http_server` for the server (routes, hits, scripted replies).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from core_http_server import LocalServer


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
    """Record the waits of observatory.http instead of sleeping."""
    from observatory import http

    recorded: list[float] = []
    monkeypatch.setattr(http, "_sleep", recorded.append)
    return recorded
