"""End-to-end: the app in headless Chromium, page by page, on the demo data."""

from __future__ import annotations

import pytest
from e2e_kit import SCREENSHOTS, wait_rendered

pytestmark = pytest.mark.e2e

PAGES = [
    ("", "Comparer les territoires", ["Territoires à comparer", "Classement", "Évolution"]),
    ("mon-territoire", "Mon territoire", ["Chiffres clés", "Télécharger la fiche territoire",
                                          "Évolution du nombre de structures"]),
    ("zones-blanches", "Zones blanches", ["zone blanche", "Type de structure"]),
    ("concentrations", "Concentrations", ["Quotients de localisation"]),
    ("annuaire", "Annuaire des acteurs", ["structures trouvées", "Télécharger en GeoJSON"]),
    ("qualite", "Actualisation et qualité", ["Instantanés disponibles", "Précision",
                                             "Accès non restreint"]),
    ("methode", "Méthode et sources", ["Définition des indicateurs", "Licence Ouverte",
                                       "Petits effectifs"]),
]


def _check(tab, title: str, texts: list[str]) -> str:
    tab.wait_for_selector(f"h1:has-text(\"{title}\")", timeout=90_000)
    wait_rendered(tab)
    body = tab.inner_text("body")
    assert tab.locator('[data-testid="stException"]').count() == 0, body[:2000]
    for text in texts:
        assert text in body, f"{text!r} missing on page {title!r}"
    assert "Données fictives de démonstration" in body
    assert "Périmètre : Économie sociale et solidaire" in body
    assert "Traceback" not in body and "Error" not in body
    return body


@pytest.mark.parametrize(("path", "title", "texts"), PAGES, ids=[p[1] for p in PAGES])
def test_page_in_browser(app_url, page, path, title, texts):
    page.goto(f"{app_url}/{path}")
    _check(page, title, texts)
    frame = page.frame_locator("iframe").first
    if path in ("", "mon-territoire", "zones-blanches", "annuaire", "concentrations"):
        # the map is drawn with the local Leaflet (no CDN, no tiles)
        frame.locator(".leaflet-container").wait_for(timeout=30_000)
        assert frame.locator(".legende-carte").count() == 1
    assert page.external_requests == []  # works offline: no CDN, no tiles, no web font
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{path or 'comparer'}.png"), full_page=True)


def test_permalink_opens_the_same_view(app_url, page):
    page.goto(f"{app_url}/mon-territoire?niveau=commune&code=21231")
    body = _check(page, "Mon territoire", ["Chiffres clés"])
    assert "Dijon (commune, 21231)" in body
    page.goto(f"{app_url}/?vue=communes_dep&parent=21&indicateur=structures")
    body = _check(page, "Comparer les territoires", ["Classement"])
    assert "Structures de l'ESS actives — communes du département Côte-d'Or" in body
    assert "/comparer?" in page.url and "vue=communes_dep" in page.url
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "permalien.png"), full_page=True)


def test_download_csv_export(app_url, page, tmp_path):
    page.goto(f"{app_url}/annuaire?q=cooperative")
    _check(page, "Annuaire des acteurs", ["structures trouvées"])
    with page.expect_download(timeout=60_000) as info:
        page.get_by_role("button", name="Télécharger en CSV").first.click()
    target = tmp_path / info.value.suggested_filename
    info.value.save_as(target)
    data = target.read_bytes()
    assert target.name.endswith(".csv")
    assert data.startswith(b"\xef\xbb\xbf")
    header = data.decode("utf-8-sig").splitlines()[0]
    assert header.startswith("À propos;Information")  # the « À propos » block comes first
    assert "\r\nSIRET;SIREN;Nom;" in data.decode("utf-8-sig")
