"""observatory.assets: Leaflet files from the (fake) npm registry into static/vendor."""

from __future__ import annotations

import json

import pytest
from fake_packages import FAKE_NPM

from observatory import assets
from observatory.errors import DataValidationError


def test_ensure_map_assets_extracts_and_is_idempotent(fake_registries, server, tmp_path,
                                                      monkeypatch):
    static = tmp_path / "static"
    urls = assets.ensure_map_assets(static)
    assert urls == {
        "leaflet_js": "/app/static/vendor/leaflet/leaflet.js",
        "leaflet_css": "/app/static/vendor/leaflet/leaflet.css",
        "leaflet_images": "/app/static/vendor/leaflet/images/",
        "markercluster_js": "/app/static/vendor/leaflet.markercluster/leaflet.markercluster.js",
        "markercluster_css": "/app/static/vendor/leaflet.markercluster/MarkerCluster.css",
        "markercluster_default_css":
            "/app/static/vendor/leaflet.markercluster/MarkerCluster.Default.css",
    }
    members = FAKE_NPM["leaflet"][2]
    for url in urls.values():
        path = static / url.removeprefix("/app/static/")
        assert path.exists(), path
    vendor = static / "vendor"
    assert (vendor / "leaflet/leaflet.js").read_bytes() == members["package/dist/leaflet.js"]
    assert (vendor / "leaflet/images/marker-icon.png").read_bytes() == (
        members["package/dist/images/marker-icon.png"])
    assert not (vendor / "leaflet/Leaflet.js").exists()  # only the dist files
    stamp = json.loads((vendor / "leaflet/.installed").read_text())
    assert stamp["version"] == "1.9.4"
    hits = sum(server.hits.values())
    monkeypatch.setenv("OBSERVATOIRE_OFFLINE", "1")
    assert assets.ensure_map_assets(static) == urls  # second call: no network at all
    assert sum(server.hits.values()) == hits


def test_missing_file_is_restored(fake_registries, server, tmp_path):
    static = tmp_path / "static"
    assets.ensure_map_assets(static)
    (static / "vendor/leaflet.markercluster/MarkerCluster.css").unlink()
    assets.ensure_map_assets(static)
    assert (static / "vendor/leaflet.markercluster/MarkerCluster.css").read_bytes() == (
        FAKE_NPM["leaflet_markercluster"][2]["package/dist/MarkerCluster.css"])


def test_catalog_files_must_exist_in_tarball(fake_registries, server, tmp_path, monkeypatch):
    overlay = tmp_path / "bad.yaml"
    text = (tmp_path / "registries.yaml").read_text()
    overlay.write_text(text.replace("  leaflet:\n",
                                    "  leaflet:\n    files: {js: package/dist/nope.js}\n"))
    monkeypatch.setenv("OBSERVATOIRE_CATALOG", str(overlay))
    with pytest.raises(DataValidationError) as info:
        assets.ensure_map_assets(tmp_path / "static")
    assert "package/dist/nope.js" in str(info.value)
    assert not (tmp_path / "static/vendor/leaflet").exists()
